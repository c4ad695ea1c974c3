"""The load generator (tools/loadgen) against a real switch: calls come up, audio flows both
ways."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from media import g711
from tests.peers.ports import PortPicker
from tests.switch_harness import ip_trunk
from tools.loadgen.media import encode_tag, tag_check

ROOT = Path(__file__).resolve().parents[1]


def test_payload_tags_survive_pcmu_and_concealment_does_not_pass() -> None:
    counter, stream_id = 123456, 77
    check = tag_check(counter, stream_id)
    tag = (
        encode_tag(counter)
        + encode_tag(stream_id)
        + bytes((0x80 | (check >> 12), 0x80 | ((check >> 6) & 0x3F), 0x80 | (check & 0x3F)))
    )
    # what the switch does to every frame: decode, bridge, encode
    assert g711.ulaw_encode(g711.ulaw_decode(tag)) == tag
    # what it sends when a frame is missing: the last one at -6 dB
    concealed = g711.ulaw_encode(g711.ulaw_decode(tag) >> 1)
    six = [b & 0x3F for b in concealed]
    looks_tagged = all(b & 0xC0 == 0x80 for b in concealed) and (
        (six[8] << 12 | six[9] << 6 | six[10])
        == tag_check(
            six[0] << 18 | six[1] << 12 | six[2] << 6 | six[3],
            six[4] << 18 | six[5] << 12 | six[6] << 6 | six[7],
        )
    )
    assert not looks_tagged


def test_bridged_calls_carry_tagged_audio_both_ways(
    switch_factory, ports: PortPicker, tmp_path: Path
) -> None:
    callee_port = ports.port()
    rtp_first = ports.block(20)
    harness = switch_factory(
        extensions={"101": "lg-secret"},
        trunks=[ip_trunk("far", callee_port)],
    )
    calls = 3
    out = tmp_path / "loadgen.json"
    generator = subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.loadgen",
            "--switch",
            f"127.0.0.1:{harness.config.sip_host_port[1]}",
            "--password",
            "lg-secret",
            "--calls",
            str(calls),
            "--rate",
            "10",
            "--hold",
            "1.5",
            "--settle",
            "0.5",
            "--uas-port",
            str(callee_port),
            "--rtp-ports",
            f"{rtp_first}-{rtp_first + 19}",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert generator.returncode == 0, generator.stdout + generator.stderr
    result = json.loads(out.read_text())

    assert result["calls"]["established"] == calls
    assert result["calls"]["acked_by_callee"] == calls
    assert result["calls"]["dropped"] == 0
    assert result["calls"]["bye_ok"] == calls
    for name in ("caller->callee", "callee->caller"):
        direction = result["directions"][name]
        assert direction["streams"] == calls
        assert direction["switch_sent"] > 0, name
        delivered = direction["generator_sent"] - direction["e2e_lost"]
        assert delivered > 0, name  # our tagged frames came out of the other leg
        assert direction["misrouted"] == 0, name
    assert np.isfinite(result["interval_error_ms"]["p50"])
    # every leg is gone from the switch after the BYEs
    deadline = time.monotonic() + 5
    while harness.call(lambda: len(harness.switch.channels)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert harness.call(lambda: len(harness.switch.channels)) == 0
