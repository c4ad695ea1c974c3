"""The engine interface: choosing an engine by name and running its child process."""

import asyncio
import os
import sys

import pytest

from media.tts_engines import ENGINE_NAMES, Engine, make_engine, run_child
from media.voice import TtsEngineError, TtsUnavailable

PY = sys.executable


@pytest.mark.parametrize("name", ENGINE_NAMES)
def test_make_engine_by_name(name: str) -> None:
    engine = make_engine(name)
    assert isinstance(engine, Engine) and engine.name == name
    assert engine.online == (name == "gtts")


def test_make_engine_refuses_unknown_names() -> None:
    with pytest.raises(ValueError, match="flite, espeak-ng, gtts"):
        make_engine("festival")


async def test_run_child_returns_stdout_of_what_it_was_fed() -> None:
    out = await run_child(
        [PY, "-c", "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read()[::-1])"], b"abc\x00"
    )
    assert out == b"\x00cba"


async def test_run_child_without_stdin_reads_nothing() -> None:
    assert await run_child([PY, "-c", "import sys; print(repr(sys.stdin.read()))"]) == b"''\n"


async def test_run_child_passes_the_environment() -> None:
    env = {**os.environ, "TTS_TEST_VALUE": "42"}
    code = "import os; print(os.environ['TTS_TEST_VALUE'])"
    assert await run_child([PY, "-c", code], env=env) == b"42\n"


async def test_a_failing_child_reports_its_exit_and_last_stderr_line() -> None:
    code = (
        "import sys; print('warming up', file=sys.stderr); "
        "print('voice not found', file=sys.stderr); sys.exit(3)"
    )
    with pytest.raises(TtsEngineError) as info:
        await run_child([PY, "-c", code])
    name = os.path.basename(PY)
    assert str(info.value) == f"{name} exited with 3: voice not found"


async def test_a_silent_failure_says_so() -> None:
    with pytest.raises(TtsEngineError, match="exited with 1: no message"):
        await run_child([PY, "-c", "raise SystemExit(1)"])


async def test_a_missing_binary_is_unavailable_not_an_error() -> None:
    with pytest.raises(TtsUnavailable, match="no-such-synth is not installed"):
        await run_child(["no-such-synth", "--version"])


async def test_a_child_over_its_time_is_killed(tmp_path) -> None:
    pid_file = tmp_path / "pid"
    code = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(30)"
    with pytest.raises(TtsEngineError, match="took longer than 0.5 s"):
        await run_child([PY, "-c", code], timeout=0.5)
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):  # killed and reaped, not left behind
        os.kill(pid, 0)


async def test_a_cancelled_synthesis_kills_its_child(tmp_path) -> None:
    pid_file = tmp_path / "pid"
    code = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(30)"
    task = asyncio.ensure_future(run_child([PY, "-c", code]))
    async with asyncio.timeout(10):
        while not pid_file.exists() or not pid_file.read_text():
            await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)
