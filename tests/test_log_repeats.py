"""The repeated-line filter on a real logger and handler."""

from __future__ import annotations

import logging

from softswitchd.log_repeats import RepeatFilter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_a_template_logs_burst_times_per_interval_then_says_how_many_it_dropped():
    clock = Clock()
    handler = Lines()
    handler.addFilter(RepeatFilter(burst=3, interval=10.0, clock=clock))
    log = logging.getLogger("test.log_repeats")
    log.propagate = False
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        for i in range(1000):
            log.info("malformed message from %s: %s", f"10.0.0.{i % 250}", "bad")
        log.info("another template")
        assert len(handler.lines) == 4
        clock.now = 10.0
        log.info("malformed message from %s: %s", "10.9.9.9", "bad")
        assert handler.lines[-1] == (
            "malformed message from 10.9.9.9: bad (suppressed 997 similar lines)"
        )
        log.info("malformed message from %s: %s", "10.9.9.9", "bad")
        assert handler.lines[-1] == "malformed message from 10.9.9.9: bad"
    finally:
        log.removeHandler(handler)
