"""A recognizer whose decoding runs in worker processes, out of the switch's GIL.

pocketsphinx holds the GIL while it decodes, so decoding on a thread of the switch
process delays the media clock's ticks by the length of a decode (milliseconds, and
with many callers speaking at once, ticks skipped). ``WorkerRecognizer`` wraps any
engine by name (``media.recognizer.recognizer``): each of ``workers`` processes
(started on first use with "spawn", so no event loop or lock is inherited) builds
the engine once and keeps its decoders, pooled per set of expectations as in-process.

A stream is bound to one worker (round robin) for the whole utterance and streams as
before: each batch of speech is sent down the worker's pipe as it arrives (no reply
awaited), ``finish`` sends the end and waits for the hypothesis. The switch's side of
a call is a pickle and a pipe write in an executor thread, which lets the GIL go while
it waits. A worker that dies fails the utterances it held (``RecognizerError`` from
``finish``: the listener logs it and the question takes ``no_match``) and is started
afresh for the next stream; the call goes on.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterable
from concurrent.futures import Executor, ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

from media.expectations import Expectations
from media.pcm import Samples
from media.recognizer import Hypothesis, RecognitionStream, Recognizer, RecognizerError

__all__ = ["WorkerGone", "WorkerRecognizer"]

log = logging.getLogger(__name__)

_REPLY_TIMEOUT = 30.0  # a worker silent this long on a finish is hung: it is killed
_WORKER_NICE = 5  # below the switch: on a shared core the media clock runs first


def _serve(conn: Connection, engine_name: str) -> None:
    """The worker process: requests in order from the pipe, replies to prepare/finish."""
    from media.recognizer import recognizer

    with contextlib.suppress(OSError):
        os.nice(_WORKER_NICE)
    engine = recognizer(engine_name)
    streams: dict[int, RecognitionStream] = {}
    failed: dict[int, str] = {}  # a feed's error, told at the stream's finish
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return  # the switch went away
        if request is None:
            return
        kind = request[0]
        if kind == "prepare":
            try:
                engine.prepare(request[1])
                conn.send(("ok", None))
            except Exception as exc:
                conn.send(("error", f"{type(exc).__name__}: {exc}"))
        elif kind == "feed":
            _, sid, expect, samples = request
            if sid in failed:
                continue
            try:
                stream = streams.get(sid)
                if stream is None:
                    stream = streams[sid] = engine.stream(expect)
                stream.feed(samples)
            except Exception as exc:
                streams.pop(sid, None)
                failed[sid] = f"{type(exc).__name__}: {exc}"
        elif kind == "finish":
            _, sid, confidence, seconds = request
            stream = streams.pop(sid, None)
            if sid in failed:
                conn.send(("error", failed.pop(sid)))
            elif stream is None:  # nothing was fed (or this worker is a fresh one)
                conn.send(("ok", None) if seconds == 0 else ("error", "stream unknown"))
            else:
                try:
                    conn.send(("ok", stream.finish(confidence)))
                except Exception as exc:
                    conn.send(("error", f"{type(exc).__name__}: {exc}"))
        elif kind == "cancel":
            failed.pop(request[1], None)
            stream = streams.pop(request[1], None)
            if stream is not None:
                with contextlib.suppress(Exception):
                    stream.cancel()


class WorkerGone(RecognizerError):
    """The worker holding an utterance died, hung or was restarted: the utterance is lost."""


class _Worker:
    """One worker process and the switch's end of its pipe (one request at a time)."""

    def __init__(self, engine_name: str, index: int) -> None:
        # a fresh interpreter (not multiprocessing's spawn, which would import the
        # switch's __main__ again, nor a fork of a process with an event loop and threads)
        ours, theirs = socket.socketpair()
        self.name = f"listen-{index}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "media.recognizer_workers", str(theirs.fileno()), engine_name],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self.conn = Connection(ours.detach())
        self.lock = threading.Lock()
        self.broken = False

    def send(self, request: tuple[Any, ...]) -> None:
        with self.lock:
            self._send(request)

    def ask(self, request: tuple[Any, ...]) -> Any:
        with self.lock:
            self._send(request)
            try:
                ready = self.conn.poll(_REPLY_TIMEOUT)
                if not ready:
                    self._fail("gave no answer in time")
                status, value = self.conn.recv()
            except (EOFError, OSError):
                self._fail("died")
        if status != "ok":
            raise RecognizerError(f"recognition failed: {value}")
        return value

    def _send(self, request: tuple[Any, ...]) -> None:
        if self.broken:
            raise WorkerGone("recognizer worker restarted: utterance lost")
        try:
            self.conn.send(request)
        except (EOFError, OSError):
            self._fail("died")

    def _fail(self, what: str) -> None:
        self.broken = True
        log.error("recognizer worker %s (pid %s) %s", self.name, self.process.pid, what)
        self.process.kill()
        raise WorkerGone(f"recognizer worker {what}")

    @property
    def alive(self) -> bool:
        return not self.broken and self.process.poll() is None

    def stop(self, timeout: float = 2.0) -> None:
        try:
            with self.lock:
                self.conn.send(None)
        except (EOFError, OSError):
            pass
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.conn.close()


class WorkerRecognizer:
    """``engine_name``'s recognizer in ``workers`` processes (see the module's doc)."""

    def __init__(self, engine_name: str, workers: int, local: Recognizer) -> None:
        if workers < 1:
            raise RecognizerError(f"recognizer workers must be at least 1, got {workers}")
        self.engine_name = engine_name
        self._local = local  # answers unknown_words with no process
        self._workers: list[_Worker | None] = [None] * workers
        self._lock = threading.Lock()
        self._turn = itertools.count()
        self._ids = itertools.count(1)
        self._closed = False
        # threads only pickle and wait on pipes: one per worker for streaming, more so a
        # finish waiting on one worker does not hold up another's feeds
        self.executor: Executor | None = ThreadPoolExecutor(
            2 * workers + 2, thread_name_prefix="listen"
        )

    def unknown_words(self, words: Iterable[str]) -> list[str]:
        return self._local.unknown_words(words)

    def prepare(self, expect: Expectations) -> None:
        """Every worker makes the question's decoders (in an executor, before the call)."""
        for index in range(len(self._workers)):
            try:
                self._worker(index).ask(("prepare", expect))
            except WorkerGone as exc:  # its streams make their decoders themselves
                log.warning("recognizer worker %d: prepare: %s", index, exc)

    def stream(self, expect: Expectations) -> _WorkerStream:
        """Cheap, on the event loop: the worker is chosen (and started) on first feed."""
        index = next(self._turn) % len(self._workers)
        return _WorkerStream(self, index, next(self._ids), expect)

    def _worker(self, index: int) -> _Worker:
        """The index'th worker, started if it never was or has died."""
        with self._lock:
            if self._closed:
                raise RecognizerError("recognizer closed")
            worker = self._workers[index]
            if worker is None or not worker.alive:
                if worker is not None:
                    log.warning("recognizer worker %d restarted", index)
                    worker.stop(0.1)
                worker = self._workers[index] = _Worker(self.engine_name, index)
            return worker

    def pids(self) -> list[int]:
        """The running workers' process ids (tests, benches)."""
        return [w.process.pid for w in self._workers if w is not None]

    def close(self) -> None:
        """Stop the workers (the switch is stopping); streams after this fail."""
        with self._lock:
            self._closed = True
            workers, self._workers = self._workers, [None] * len(self._workers)
        for worker in workers:
            if worker is not None:
                worker.stop()
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)


class _WorkerStream:
    """One utterance, bound to the worker that holds its decoder."""

    def __init__(self, owner: WorkerRecognizer, index: int, sid: int, expect: Expectations) -> None:
        self._owner = owner
        self._index = index
        self._sid = sid
        self._expect = expect
        self._worker: _Worker | None = None
        self._samples = 0

    def feed(self, samples: Samples) -> None:
        if self._worker is None:
            self._worker = self._owner._worker(self._index)
        self._samples += len(samples)
        self._worker.send(("feed", self._sid, self._expect, samples))

    def finish(self, confidence: bool = True) -> Hypothesis:
        if self._worker is None:
            return Hypothesis("", 0.0, 0.0)
        worker, self._worker = self._worker, None
        reply = worker.ask(("finish", self._sid, confidence, self._samples))
        if not isinstance(reply, Hypothesis):
            return Hypothesis("", 0.0, 0.0)
        return reply

    def cancel(self) -> None:
        if self._worker is not None:
            worker, self._worker = self._worker, None
            with contextlib.suppress(WorkerGone):  # gone, and the utterance with it
                worker.send(("cancel", self._sid))


if __name__ == "__main__":
    _serve(Connection(int(sys.argv[1])), sys.argv[2])
