"""`softswitch serve` as a user runs it: a real process, its HTTP API, SIGTERM."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.peers.process import wait_until


def write_config(
    tmp_path: Path, sip_port: int, api_port: int, rtp_first: int, extra: str = ""
) -> Path:
    path = tmp_path / "softswitch.toml"
    path.write_text(f'''
[sip]
listen = "127.0.0.1:{sip_port}"
[rtp]
address = "127.0.0.1"
ports = "{rtp_first}-{rtp_first + 99}"
[api]
listen = "127.0.0.1:{api_port}"
[store]
path = "{tmp_path / "db.sqlite"}"
{extra}
''')
    return path


def start(config: Path, cwd: Path, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "softswitchd", "serve", "--config", str(config)],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
    )


def health(api_port: int) -> dict | None:
    try:
        response = httpx.get(f"http://127.0.0.1:{api_port}/health", timeout=1)
    except httpx.HTTPError:
        return None
    return response.json()


def test_serve_prints_generated_passwords_once_and_stops_on_sigterm(tmp_path, ports, rtp_ports):
    api_port = ports.port()
    config = write_config(tmp_path, ports.port(), api_port, rtp_ports.block(100))
    first = start(config, tmp_path)
    try:
        body = wait_until(lambda: health(api_port), 15, what="API up")
        assert body["status"] == "ok" and body["trunks"] == {}
    finally:
        first.send_signal(signal.SIGTERM)
        out, err = first.communicate(timeout=20)
    assert first.returncode == 0, err
    shown = [line for line in out.splitlines() if "password" in line]
    assert [line.split()[1] for line in shown] == ["101", "102"]
    assert "level=info" in err and "shutting down" in err  # structured logs, clean stop
    # the passwords are not in the store, only their hashes
    assert shown[0].split()[3].encode() not in (tmp_path / "db.sqlite").read_bytes()

    second = start(config, tmp_path)
    try:
        wait_until(lambda: health(api_port), 15, what="API up again")
    finally:
        second.send_signal(signal.SIGINT)
        out, _ = second.communicate(timeout=20)
    assert second.returncode == 0
    assert "password" not in out  # shown once only


def test_serve_says_which_speech_engines_are_missing(tmp_path, ports, rtp_ports):
    api_port = ports.port()
    media = '[media]\ntts_engine = "espeak-ng"\ntranscriber = "nosuch.module:Thing"\n'
    config = write_config(tmp_path, ports.port(), api_port, rtp_ports.block(100), media)
    only = tmp_path / "bin"  # sox and flite, but no espeak-ng
    only.mkdir()
    for program in ("sox", "flite"):
        (only / program).symlink_to(shutil.which(program) or program)
    server = start(config, tmp_path, PATH=str(only))
    try:
        body = wait_until(lambda: health(api_port), 15, what="API up")
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=20)
    assert server.returncode == 0, err
    assert body["status"] == "ok"
    assert body["engines"]["tts"]["ok"] is False
    assert body["engines"]["tts"]["reason"].startswith("espeak-ng is not installed")
    assert body["engines"]["transcriber"] == {
        "engine": "nosuch.module:Thing",
        "ok": False,
        "reason": "cannot import nosuch.module: No module named 'nosuch'",
    }
    engines = body["engines"]
    assert [line for line in out.splitlines() if "engine" in line] == [
        f"tts engine espeak-ng cannot run: {engines['tts']['reason']}",
        f"transcriber engine nosuch.module:Thing cannot run: {engines['transcriber']['reason']}",
    ]
    assert 'level=warning logger=softswitchd.runtime msg="tts engine espeak-ng cannot' in err


def test_bad_config_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[sip]\nlisten = "127.0.0.1:notaport"\n')
    result = subprocess.run(
        [sys.executable, "-m", "softswitchd", "serve", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 2
    assert "configuration error" in result.stderr and "bad port" in result.stderr


def test_an_unreachable_postgresql_store_is_a_clear_error(tmp_path, ports):
    closed = ports.port()  # nothing listens there
    path = tmp_path / "pg.toml"
    path.write_text(f'[store]\nurl = "postgresql://ss:secret@127.0.0.1:{closed}/softswitch"\n')
    for command in (["serve"], ["accounts", "list"]):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "softswitchd",
                *command[:1],
                "--config",
                str(path),
                *command[1:],
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 1, result.stderr
        assert "cannot connect to PostgreSQL" in result.stderr and "Traceback" not in result.stderr
        assert "secret" not in result.stderr


def admin_token(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "softswitchd", "admin", "token", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_admin_token_made_listed_and_revoked_while_the_switch_runs(tmp_path, ports, rtp_ports):
    api_port = ports.port()
    config = write_config(tmp_path, ports.port(), api_port, rtp_ports.block(100))
    assert "no admin tokens" in admin_token(config, "--list").stdout
    made = admin_token(config)
    assert made.returncode == 0, made.stderr
    token_id = made.stdout.split("admin token id: ")[1].split()[0]
    token = made.stdout.split("token: ")[1].split()[0]
    assert made.stdout.count(token) == 1  # printed once
    assert token.encode() not in (tmp_path / "db.sqlite").read_bytes()  # only its digest
    listed = admin_token(config, "--list")
    assert listed.stdout.startswith(f"{token_id}\tcreated ") and token not in listed.stdout

    url = f"http://127.0.0.1:{api_port}/api/admin/extensions"
    server = start(config, tmp_path)
    try:
        wait_until(lambda: health(api_port), 15, what="API up")
        auth = {"Authorization": f"Bearer {token}"}
        response = httpx.get(url, headers=auth, timeout=5)
        assert response.status_code == 200
        assert [e["number"] for e in response.json()["extensions"]] == ["101", "102"]
        # revoked from another process: refused on the next request, no restart
        revoked = admin_token(config, "--revoke", token_id)
        assert revoked.returncode == 0 and token_id in revoked.stdout
        assert httpx.get(url, headers=auth, timeout=5).status_code == 401
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=20)
    again = admin_token(config, "--revoke", token_id)
    assert again.returncode == 1 and "no admin token" in again.stderr
    assert "no admin tokens" in admin_token(config, "--list").stdout


def test_serve_runs_the_metrics_listener_and_stops_it(tmp_path, ports, rtp_ports):
    api_port, metrics_port = ports.port(), ports.port()
    extra = f'[metrics]\nlisten = "127.0.0.1:{metrics_port}"\n'
    config = write_config(tmp_path, ports.port(), api_port, rtp_ports.block(100), extra)
    server = start(config, tmp_path)
    try:
        wait_until(lambda: health(api_port), 15, what="API up")
        scrape = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5)
        assert scrape.status_code == 200
        assert 'softswitch_calls_active{direction="inbound"} 0.0' in scrape.text
        # no token: the API port does not serve it
        assert httpx.get(f"http://127.0.0.1:{api_port}/metrics", timeout=5).status_code == 404
    finally:
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=20)
    assert server.returncode == 0, err
    assert f"metrics listening on http://127.0.0.1:{metrics_port}/metrics" in err
    # a token too short: the configuration is refused before anything listens
    short = write_config(tmp_path, ports.port(), api_port, 29500, '[metrics]\ntoken = "abc"\n')
    refused = subprocess.run(
        [sys.executable, "-m", "softswitchd", "serve", "--config", str(short)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert refused.returncode == 2
    assert "metrics.token must be at least 16" in refused.stderr
