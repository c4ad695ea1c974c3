"""Structured logs: one logfmt line per event (time, level, logger, message)."""

from __future__ import annotations

import logging
import sys
import time

from .log_repeats import RepeatFilter


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        message = record.getMessage().replace('"', '\\"')
        line = (
            f"time={stamp}.{int(record.msecs):03d}Z level={record.levelname.lower()} "
            f'logger={record.name} msg="{message}"'
        )
        if record.exc_info:
            trace = self.formatException(record.exc_info).replace("\n", "\\n").replace('"', "'")
            line += f' error="{trace}"'
        return line


def setup(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LogfmtFormatter())
    # a flood (one line per bad packet) logs each template 100 times in 10 s at most
    handler.addFilter(RepeatFilter(burst=100, interval=10.0))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's access log duplicates what the API logs itself
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
