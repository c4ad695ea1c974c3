"""`softswitch config check FILE`: validates without starting anything, names the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from softswitchd.cli import main

GOOD = """
[sip]
listen = "127.0.0.1:5999"
[[extensions]]
number = "101"
password = "pw"
transports = ["tls"]
codecs = ["PCMA"]
max_devices = 2
outside_caller_id = "+15550100"
[[trunks]]
name = "carrier"
host = "127.0.0.1:5070"
register = false
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[sip]\nmin_se = 'often'", "sip.min_se: expected int"),
        ("[rtp]\nsrtp = 'sometimes'", "rtp.srtp must be one of"),
        ("[[extensions]]\nnumber = '101'\npassword = 'x'\ncodecs = ['G729']", "codecs: G729"),
        ("[[extensions]]\nnumber = '101'\npassword = 'x'\nmax_devices = 9", "max_devices: must"),
        ("[[extensions]]\nnumber = '101'\npassword = 'x'\nmax_devices = 'two'", "max_devices"),
        ("[[extensions]]\nnumber = '101'\npassword = 'x'\ntransports = ['ws']", "transports: WS"),
        ("[[trunks]]\nname = 'a b'\nhost = 'h'\nregister = false", "name must be"),
        ("[[trunks]]\nname = 't'\nhost = 'h'\nregister = false\nprefixes = ['9x']", "prefixes"),
        ("[[nonsense]]\nx = 1", "unknown section(s): nonsense"),
        ("[sip\n", "bad.toml"),  # not TOML at all
    ],
)
def test_a_wrong_file_names_the_field_and_exits_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    assert main(["config", "check", str(path)]) == 1
    err = capsys.readouterr().err
    assert message in err and err.startswith(str(path))


def test_a_good_file_passes_and_starts_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "good.toml"
    path.write_text(GOOD)
    assert main(["config", "check", str(path)]) == 0
    assert "ok (1 extension(s), 1 trunk(s)" in capsys.readouterr().out
    assert not (tmp_path / "data").exists()  # no store made


def test_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check", str(tmp_path / "none.toml")]) == 1
    assert "cannot read" in capsys.readouterr().err
