"""A recognizer whose decoding runs in worker processes, out of the switch's GIL.

pocketsphinx holds the GIL while it decodes, so decoding on a thread of the switch
process delays the media clock's ticks by the length of a decode (milliseconds, and
with many callers speaking at once, ticks skipped). ``WorkerRecognizer`` wraps any
engine by name (``media.recognizer.recognizer``): each of ``workers`` processes
(started on first use with "spawn", so no event loop or lock is inherited) builds
the engine once and keeps its decoders, pooled per set of expectations as in-process.

A stream is bound to one worker (round robin) for the whole utterance and streams as
before: each batch of speech is sent down the worker's pipe as it arrives (no reply
awaited), ``finish`` sends the end and waits for the hypothesis. A worker serves a
finish before other callers' queued speech (``_next``): the caller who stopped talking
is the one waiting. The switch's side of a call is a pickle and a pipe write in an
executor thread, which lets the GIL go while it waits; replies come back on a reader
thread per worker, matched by request id. A worker that dies fails the utterances it
held (``RecognizerError`` from ``finish``: the listener logs it and the question takes
``no_match``) and is started afresh for the next stream; the call goes on.
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
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any, NoReturn

from media.expectations import Expectations
from media.pcm import Samples
from media.recognizer import Hypothesis, RecognitionStream, Recognizer, RecognizerError

__all__ = ["WorkerGone", "WorkerRecognizer"]

log = logging.getLogger(__name__)

_REPLY_TIMEOUT = 30.0  # a worker silent this long on a finish is hung: it is killed
_WORKER_NICE = 5  # below the switch: on a shared core the media clock runs first


def _serve(conn: Connection, engine_name: str) -> None:
    """The worker process: requests from the pipe, a finish first (see ``_next``);
    prepare and finish are answered with their request id."""
    from media.recognizer import recognizer

    with contextlib.suppress(OSError):
        os.nice(_WORKER_NICE)
    engine = recognizer(engine_name)
    streams: dict[int, RecognitionStream] = {}
    failed: dict[int, str] = {}  # a feed's error, told at the stream's finish
    pending: deque[tuple[Any, ...]] = deque()
    talking: dict[int, int] = {}  # stream id -> the order its speech first arrived in
    arrivals = itertools.count()
    while True:
        try:
            # all that has arrived, so a finish can go first
            while not pending or conn.poll(0):
                arrived = conn.recv()
                if arrived is None:
                    return  # the switch is stopping
                if arrived[0] == "feed" and arrived[1] not in talking:
                    talking[arrived[1]] = next(arrivals)
                pending.append(arrived)
        except (EOFError, OSError):
            return  # the switch went away
        request = _next(pending, talking)
        if request[0] in ("finish", "cancel"):
            talking.pop(request[2] if request[0] == "finish" else request[1], None)
        kind = request[0]
        if kind == "prepare":
            _, rid, expect = request
            try:
                engine.prepare(expect)
                conn.send((rid, "ok", None))
            except Exception as exc:
                conn.send((rid, "error", f"{type(exc).__name__}: {exc}"))
        elif kind == "feed":
            _, sid, expect, confidence, samples = request
            if sid in failed:
                continue
            try:
                stream = streams.get(sid)
                if stream is None:
                    stream = streams[sid] = engine.stream(expect, confidence)
                stream.feed(samples)
            except Exception as exc:
                streams.pop(sid, None)
                failed[sid] = f"{type(exc).__name__}: {exc}"
        elif kind == "finish":
            _, rid, sid, confidence, seconds = request
            stream = streams.pop(sid, None)
            if sid in failed:
                conn.send((rid, "error", failed.pop(sid)))
            elif stream is None:  # nothing was fed (or this worker is a fresh one)
                conn.send((rid, "ok", None) if seconds == 0 else (rid, "error", "stream unknown"))
            else:
                try:
                    conn.send((rid, "ok", stream.finish(confidence)))
                except Exception as exc:
                    conn.send((rid, "error", f"{type(exc).__name__}: {exc}"))
        elif kind == "cancel":
            failed.pop(request[1], None)
            stream = streams.pop(request[1], None)
            if stream is not None:
                with contextlib.suppress(Exception):
                    stream.cancel()


def _next(pending: deque[tuple[Any, ...]], talking: dict[int, int]) -> tuple[Any, ...]:
    """The request to serve now. A caller who stopped speaking waits on a finish, the
    others' speech can wait: served in arrival order, with many callers on one worker
    every answer waited behind everyone's queued speech (p99 over a second at 50 calls).
    So a cancel goes first, taking its stream's queued feeds with it; then the oldest
    finish, after its own stream's feeds; then the speech of the caller who started
    talking first (``talking``: stream id -> order), who is likely to finish first and
    so is kept caught up, while a burst of new speakers waits. One stream's requests
    keep their order."""
    for i, request in enumerate(pending):
        if request[0] == "cancel":
            sid = request[1]
            del pending[i]
            for other in [r for r in pending if r[0] == "feed" and r[1] == sid]:
                pending.remove(other)
            return request
    for request in pending:
        if request[0] == "finish":
            sid = request[2]
            for earlier in pending:
                if earlier is request:
                    break
                if earlier[0] == "feed" and earlier[1] == sid:
                    pending.remove(earlier)
                    return earlier
            pending.remove(request)
            return request
    feeds = [r for r in pending if r[0] == "feed"]
    if feeds:
        first = min(feeds, key=lambda r: talking.get(r[1], 0))  # min: its earliest feed
        pending.remove(first)
        return first
    return pending.popleft()


class WorkerGone(RecognizerError):
    """The worker holding an utterance died, hung or was restarted: the utterance is lost."""


class _Worker:
    """One worker process and the switch's end of its pipe. Requests are written one at
    a time; replies (to prepare and finish) are read by a thread of their own and handed
    to the asker by request id, so a finish waiting for its answer holds up no one."""

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
        self.lock = threading.Lock()  # one writer at a time; guards the fields below
        self.broken = False
        self._stopping = False
        self._rids = itertools.count(1)
        self._waiting: dict[int, Future[tuple[str, Any]]] = {}
        self._reader = threading.Thread(
            target=self._read_replies, name=f"{self.name}-replies", daemon=True
        )
        self._reader.start()

    def send(self, request: tuple[Any, ...]) -> None:
        with self.lock:
            self._send(request)

    def ask(self, kind: str, *args: Any) -> Any:
        """Send ``(kind, request id, *args)`` and wait for its reply."""
        future: Future[tuple[str, Any]] = Future()
        with self.lock:
            rid = next(self._rids)
            self._waiting[rid] = future
            try:
                self._send((kind, rid, *args))
            except BaseException:
                self._waiting.pop(rid, None)
                raise
        try:
            status, value = future.result(_REPLY_TIMEOUT)
        except TimeoutError:
            with self.lock:
                self._waiting.pop(rid, None)
                self._fail("gave no answer in time")
        if status != "ok":
            raise RecognizerError(f"recognition failed: {value}")
        return value

    def _read_replies(self) -> None:
        while True:
            try:
                rid, status, value = self.conn.recv()
            except (EOFError, OSError):
                break
            with self.lock:
                future = self._waiting.pop(rid, None)
            if future is not None:
                future.set_result((status, value))
        with self.lock:
            if not self._stopping and not self.broken:
                self.broken = True
                log.error("recognizer worker %s (pid %s) died", self.name, self.process.pid)
            waiting, self._waiting = self._waiting, {}
        for future in waiting.values():
            future.set_exception(WorkerGone("recognizer worker died"))

    def _send(self, request: tuple[Any, ...]) -> None:
        """Under ``lock``."""
        if self.broken:
            raise WorkerGone("recognizer worker restarted: utterance lost")
        try:
            self.conn.send(request)
        except (EOFError, OSError):
            self._fail("died")

    def _fail(self, what: str) -> NoReturn:
        """Under ``lock``."""
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
                self._stopping = True
                self.conn.send(None)
        except (EOFError, OSError):
            pass
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._reader.join(timeout)  # it sees the end of the pipe and fails any waiter
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
            4 * workers + 8, thread_name_prefix="listen"
        )

    def unknown_words(self, words: Iterable[str]) -> list[str]:
        return self._local.unknown_words(words)

    def prepare(self, expect: Expectations) -> None:
        """Every worker makes the question's decoders (in an executor, before the call)."""
        for index in range(len(self._workers)):
            try:
                self._worker(index).ask("prepare", expect)
            except WorkerGone as exc:  # its streams make their decoders themselves
                log.warning("recognizer worker %d: prepare: %s", index, exc)

    def stream(self, expect: Expectations, confidence: bool = True) -> _WorkerStream:
        """Cheap, on the event loop: the worker is chosen (and started) on first feed."""
        index = next(self._turn) % len(self._workers)
        return _WorkerStream(self, index, next(self._ids), expect, confidence)

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

    def __init__(
        self,
        owner: WorkerRecognizer,
        index: int,
        sid: int,
        expect: Expectations,
        confidence: bool,
    ) -> None:
        self._owner = owner
        self._index = index
        self._sid = sid
        self._expect = expect
        self._confidence = confidence
        self._worker: _Worker | None = None
        self._samples = 0

    def feed(self, samples: Samples) -> None:
        if self._worker is None:
            self._worker = self._owner._worker(self._index)
        self._samples += len(samples)
        self._worker.send(("feed", self._sid, self._expect, self._confidence, samples))

    def finish(self, confidence: bool = True) -> Hypothesis:
        if self._worker is None:
            return Hypothesis("", 0.0, 0.0)
        worker, self._worker = self._worker, None
        reply = worker.ask("finish", self._sid, confidence, self._samples)
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
