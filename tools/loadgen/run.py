"""One load test: register, ramp calls up, hold a steady window, hang up, report.

    caller (ext 101) --INVITE 55500000042--> switch --INVITE--> callee (trunk far end)
       uac stream  <-------- RTP -------->   bridge  <-------- RTP -------->  uas stream

Phases: ``ramp`` (calls placed at ``rate``/s), ``settle`` (every call up, jitter
buffers fill), ``steady`` (``hold`` seconds: the measured window), ``hangup`` (BYE
from the caller side at ``hangup_rate``/s).
"""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from media.srtp import SrtpContext
from softswitch.sip import sdp

from .callee import Callee, IncomingCall
from .caller import Caller, CallFailed, OutgoingCall
from .media import MediaEngine
from .report import CallRecord, analyze, percentiles
from .srtp import StreamKeys

__all__ = ["Options", "run"]

log = logging.getLogger("loadgen")

TAIL_SECONDS = 0.5


@dataclass(slots=True)
class Options:
    switch: tuple[str, int]
    password: str
    user: str = "101"
    calls: int = 200
    rate: float = 20.0
    hold: float = 30.0
    settle: float = 2.0
    hangup_rate: float = 50.0
    host: str = "127.0.0.1"
    uac_port: int = 0
    uas_port: int = 5090
    rtp_ports: tuple[int, int] = (30000, 39999)
    prefix: str = "5550"
    switch_pid: int | None = None
    phases: int = 1  # send batches per 20 ms (streams spread over them)
    srtp: bool = False  # every stream SRTP (SDES, mandatory) on both sides


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process from /proc (clock-tick resolution)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class LoadTest:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.engine = MediaEngine(options.host, *options.rtp_ports, phases=options.phases)
        self.records = [CallRecord(i, f"{options.prefix}{i:06d}") for i in range(options.calls)]
        self._by_number = {record.number: record for record in self.records}
        self.caller = Caller(
            (options.host, options.uac_port), options.switch, options.user, options.password
        )
        self.caller.on_remote_bye = self._remote_bye
        self.callee = Callee(
            (options.host, options.uas_port),
            options.host,
            self._offer,
            on_ack=self._acked,
            on_bye=self._callee_bye,
            on_srtp=self._callee_srtp if options.srtp else None,
        )
        self._by_call_id: dict[str, CallRecord] = {}
        self.phases: dict[str, float] = {}

    # -- callee side -----------------------------------------------------------

    def _offer(self, number: str, host: str, port: int) -> int | None:
        record = self._by_number.get(number)
        if record is None or record.uas is not None:
            return None
        record.uas = self.engine.open_stream(record.index, "uas")
        record.uas.remote = (host, port)
        return record.uas.local_port

    def _callee_srtp(self, number: str, context: SrtpContext) -> None:
        record = self._by_number.get(number)
        if record is not None and record.uas is not None:
            record.uas.srtp = context

    def _acked(self, call: IncomingCall) -> None:
        record = self._by_number.get(call.number)
        if record is not None and record.uas is not None and record.uas.remote is not None:
            record.acked = True
            self.engine.start_sending(record.uas, *record.uas.remote)

    def _callee_bye(self, call: IncomingCall) -> None:
        record = self._by_number.get(call.number)
        if record is not None and record.uas is not None:
            self.engine.close_stream(record.uas)
            if record.bye_status is None:  # not one we asked for
                record.dropped = True

    # -- caller side -----------------------------------------------------------

    def _remote_bye(self, call: OutgoingCall) -> None:
        record = self._by_number.get(call.number)
        if record is not None:
            record.dropped = True
            if record.uac is not None:
                self.engine.close_stream(record.uac)

    async def _place(self, record: CallRecord) -> None:
        loop = asyncio.get_running_loop()
        record.uac = stream = self.engine.open_stream(record.index, "uac")
        keys = StreamKeys() if self.options.srtp else None
        mode = sdp.SrtpMode.OFF if keys is None else sdp.SrtpMode.MANDATORY
        offer = sdp.make_offer(
            self.options.host,
            stream.local_port,
            codecs=("PCMU",),
            session_id=record.index + 1,
            srtp=mode,
            keys=None if keys is None else keys.key_params,
        )
        record.setup_started = loop.time()
        try:
            call = await self.caller.invite(record.number, offer.to_bytes())
            answer = sdp.negotiated_from_answer(
                offer,
                sdp.SessionDescription.parse(call.answer),
                srtp=mode,
                usable=StreamKeys.usable,
            )
            if keys is not None:
                stream.srtp = keys.context(answer.crypto)
        except (CallFailed, sdp.SdpError) as exc:
            record.error = str(exc)
            self.engine.close_stream(stream)
            return
        record.setup_seconds = loop.time() - record.setup_started
        record.call = call
        self._by_call_id[call.call_id] = record
        self.engine.start_sending(stream, answer.address, answer.port)

    async def _hang_up(self, record: CallRecord) -> None:
        record.bye_status = 0
        record.bye_status = await self.caller.bye(record.call)
        if record.uac is not None:
            self.engine.close_stream(record.uac)

    # -- the run -----------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        options = self.options
        loop = asyncio.get_running_loop()
        await self.caller.start()
        await self.callee.start()
        self.engine.start()
        try:
            await self.caller.register()
            self.phases["ramp"] = time.time()
            await self._paced([self._place(r) for r in self.records], options.rate)
            established = [r for r in self.records if r.call is not None]
            deadline = loop.time() + 5.0
            while loop.time() < deadline and not all(r.acked for r in established):
                await asyncio.sleep(0.05)
            self.phases["settle"] = time.time()
            await asyncio.sleep(options.settle)
            window = await self._steady()
            self.phases["hangup"] = time.time()
            live = [r for r in self.records if r.call is not None and not r.dropped]
            await self._paced([self._hang_up(r) for r in live], options.hangup_rate)
            deadline = loop.time() + 5.0
            while loop.time() < deadline and self.callee.calls:
                await asyncio.sleep(0.05)
            self.phases["done"] = time.time()
        finally:
            await self.engine.stop()
            self.caller.close()
            self.callee.close()
        return self._result(window)

    async def _paced(self, coros: list, rate: float) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        tasks = []
        for i, coro in enumerate(coros):
            delay = start + i / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(loop.create_task(coro))
        await asyncio.gather(*tasks)

    async def _steady(self) -> dict[str, Any]:
        options = self.options
        pid = options.switch_pid
        self.engine.mark("steady")
        late_from = len(self.engine.late)
        switch_cpu = process_cpu_seconds(pid) if pid else None
        own_cpu = own_cpu_seconds()
        start_ns, start = time.time_ns(), time.monotonic()
        self.phases["steady"] = time.time()
        await asyncio.sleep(options.hold)
        end_ns, seconds = time.time_ns(), time.monotonic() - start
        self.engine.mark("end")
        own_cpu = own_cpu_seconds() - own_cpu
        switch_cpu = (
            (process_cpu_seconds(pid) - switch_cpu) if pid and switch_cpu is not None else None
        )
        # frames sent just before the end are still in the switch's jitter buffers:
        # give them time to come out before the BYEs tear the legs down
        await asyncio.sleep(TAIL_SECONDS)
        window = {
            "ns": (start_ns, end_ns),
            "seconds": seconds,
            "own_cpu": own_cpu,
            "switch_cpu": switch_cpu,
            "late": np.asarray(self.engine.late[late_from:]) * 1000.0,
            "live": sum(1 for r in self.records if r.call is not None and not r.dropped),
        }
        return window

    def _result(self, window: dict[str, Any]) -> dict[str, Any]:
        records = self.records
        established = [r for r in records if r.call is not None]
        failures: dict[str, int] = {}
        for record in records:
            if record.error:
                failures[record.error] = failures.get(record.error, 0) + 1
        setup_ms = np.array(
            [r.setup_seconds * 1000 for r in established if r.setup_seconds is not None]
        )
        seconds = window["seconds"]
        figures = analyze(records, window["ns"])
        switch_cpu = window["switch_cpu"]
        live = window["live"]
        cpu: dict[str, Any] = {"switch_seconds": switch_cpu}
        if switch_cpu is not None:
            percent = 100.0 * switch_cpu / seconds
            cpu.update(
                switch_percent=round(percent, 2),
                switch_percent_per_call=round(percent / live, 4) if live else None,
                switch_ms_per_call_second=round(1000.0 * switch_cpu / seconds / live, 4)
                if live
                else None,
            )
        cpu["generator_percent"] = round(100.0 * window["own_cpu"] / seconds, 2)
        streams = self.engine.streams
        return {
            "calls": {
                "requested": len(records),
                "established": len(established),
                "acked_by_callee": sum(1 for r in established if r.acked),
                "live_in_window": live,
                "dropped": sum(1 for r in records if r.dropped),
                "failures": failures,
                "setup_ms": percentiles(setup_ms),
                "bye_ok": sum(1 for r in established if r.bye_status == 200),
            },
            "window_seconds": round(seconds, 3),
            "phases": self.phases,
            **figures,
            "totals": {
                "generator_sent": sum(s.sent for s in streams),
                "generator_received": sum(s.received for s in streams),
                "send_errors": sum(s.send_errors for s in streams),
                "malformed": self.engine.malformed,
            },
            "cpu": cpu,
            "generator": {
                "tick_late_ms": percentiles(window["late"]),
                "skipped_ticks": self.engine.skipped_ticks,
                "sip_retransmissions": (self.caller.sip.retransmissions if self.caller.sip else 0),
                "sip_timeouts": (self.caller.sip.timeouts if self.caller.sip else 0),
            },
        }


async def run(options: Options) -> dict[str, Any]:
    return await LoadTest(options).run()
