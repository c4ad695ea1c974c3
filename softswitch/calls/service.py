"""The call service: the parts below, built once and sharing the live-call registry.

Its entry points are the parts' own methods: `click2call`, `dial_flow` and
`flow_audio`, `modify_call`, `live_calls` and `live_statistics` (this node's) or
`all_live_calls` and `all_live_statistics` (the cluster's), and `spawn`/`stop`
for the tasks calls run in.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from media.amd import AmdSettings
from media.recognizer import dictionary_words, recognizer
from media.tts import Tts

from ..cluster.forwarding import Forwarder
from ..cluster.listing import ClusterListing
from ..cluster.ownership import Ownership
from ..store.call_owners import CallOwners, Owner
from ..store.cdrs import CdrStore
from ..store.cluster_nodes import ClusterNodes
from ..store.webhooks import WebhookStore
from ..switch import Switch
from ..webhooks.events import WebhookEvents
from .cdrs import CdrBuilder
from .click2call import Click2Call
from .control import CallControl
from .flowcalls import FlowCalls
from .inbound import InboundCalls
from .legs import Legs
from .live import LiveCalls, LiveChannel, LiveStatistics
from .recording import Recordings
from .tasks import CallTasks


class CallService:
    def __init__(
        self,
        switch: Switch,
        tts: Tts,
        cdrs: CdrStore,
        *,
        recordings_dir: Path | str,
        uploads_dir: Path | str,
        transcriber_name: str = "pocketsphinx",
        recognizer_name: str = "pocketsphinx",
        recognizer_workers: int = 0,
        stereo: bool = False,
        events: WebhookEvents | None = None,
        amd: AmdSettings | None = None,
    ) -> None:
        """``recognizer_workers``: processes the listen steps decode in (0: a thread
        here); ``events``: where calls tell their webhooks (by default into the switch's store,
        delivered by whoever runs a worker on it); ``amd``: the answering-machine
        detector's thresholds (app_amd's defaults when None)."""
        self.switch = switch
        tasks = CallTasks()
        self.events = events or WebhookEvents(WebhookStore(switch.store.db))
        self.calls = LiveCalls(switch, self.events)
        switch.transfers.on_transferred = self.calls.transferred  # the CDR says who to whom
        legs = Legs(switch, tasks)
        builder = CdrBuilder()
        recordings = Recordings(
            Path(recordings_dir),
            cdrs,
            self.events,
            transcriber_name=transcriber_name,
            stereo=stereo,
        )
        # RecognizerError for an engine that cannot be loaded: at start-up, not mid-call
        self._recognizer = recognizer(recognizer_name, recognizer_workers)
        flows = FlowCalls(
            legs,
            self.calls,
            cdrs,
            builder,
            tts,
            uploads_dir=Path(uploads_dir),
            recordings_dir=Path(recordings_dir),
            amd_settings=amd,
            recognizer=self._recognizer,
        )
        # read now, not on the loop when the first flow with a listen step is saved
        dictionary_words()
        # calls from trunks to the inbound numbers (softswitch.numbers)
        self.inbound = InboundCalls(
            legs, self.calls, cdrs, builder, flows, recordings_dir=Path(recordings_dir)
        )
        switch.on_number = self.inbound.handle
        control = CallControl(legs, self.calls, recordings, tasks)

        self.click2call = Click2Call(legs, self.calls, cdrs, builder, recordings, tasks).place
        self.dial_flow = flows.dial
        self.flow_audio = flows.audio
        # the calls of this node, whatever the cluster
        self.modify_local = control.modify
        self.modify_call = control.modify
        self.forwarder: Forwarder | None = None
        # this node's calls; the cluster's through `all_live_calls` and `all_live_statistics`
        self.live_calls = self.calls.listing
        self.live_statistics = self.calls.statistics
        self.listing: ClusterListing | None = None
        cluster = switch.config.cluster
        if cluster.enabled:  # any node controls and lists the calls of all (softswitch.cluster)
            me = Owner(switch.config.node_id, switch.config.node_api_url)
            owners = CallOwners(switch.store.db)
            self.calls.ownership = Ownership(owners, me)
            self.calls.ownership.forget_previous_life()
            self.forwarder = Forwarder(control.modify, owners, me, cluster.secret)
            self.modify_call = self.forwarder.modify
            nodes = ClusterNodes(switch.store.db)
            self.listing = ClusterListing(self.calls, nodes, me, cluster.secret)
        self.spawn = tasks.spawn
        self._tasks = tasks

    def start(self) -> None:
        """In a cluster: this node's heartbeat, which lists it to the other nodes."""
        if self.listing is not None:
            self.listing.start()

    async def all_live_calls(self, account_id: str) -> list[LiveChannel]:
        """The account's live calls on every node of the cluster (this node's alone)."""
        if self.listing is None:
            return self.calls.listing(account_id)
        return await self.listing.listing(account_id)

    async def all_live_statistics(self, account_id: str) -> LiveStatistics:
        if self.listing is None:
            return self.calls.statistics(account_id)
        return await self.listing.statistics(account_id)

    async def stop(self, grace: float = 2.0) -> None:
        """Let calls that are ending write their CDRs, then cancel what is left."""
        if self.listing is not None:
            await self.listing.stop()
        await self._tasks.stop(grace)
        if self.forwarder is not None:
            await self.forwarder.close()
        close = getattr(self._recognizer, "close", None)  # its worker processes
        if close is not None:
            await asyncio.get_running_loop().run_in_executor(None, close)

    @classmethod
    def configured(
        cls,
        switch: Switch,
        tts: Tts,
        cdrs: CdrStore | None = None,
        events: WebhookEvents | None = None,
    ) -> CallService:
        """The service as the server builds it: its files, transcriber and recording
        layout from the switch's [media] config, the detector's thresholds from [amd],
        the CDRs in its store (``cdrs``: a CdrStore the caller shares), the webhook hooks
        if any."""
        media = switch.config.media
        return cls(
            switch,
            tts,
            cdrs if cdrs is not None else CdrStore(switch.store.db),
            recordings_dir=media.recordings_dir,
            uploads_dir=media.uploads_dir,
            transcriber_name=media.transcriber,
            recognizer_name=media.recognizer,
            recognizer_workers=media.recognizer_workers,
            stereo=media.stereo_recordings,
            events=events,
            amd=switch.config.amd.settings(),
        )
