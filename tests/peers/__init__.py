"""Controllers for the real SIP peers tests talk to: baresip, kamailio, sipp, pyVoIP.

Each runs the actual program on 127.0.0.1 in its own process group, logs to a file
per instance, and is killed (group and all) on teardown. Pytest fixtures live in
tests.peers.fixtures.
"""

from .audio import dominant_frequency, make_tone_wav, read_wav, rms
from .baresip import Baresip, BaresipAccount, CallClosed
from .kamailio import Kamailio, KamailioConfig
from .ports import PortPicker
from .process import PeerError, PeerProcess

__all__ = [
    "Baresip",
    "BaresipAccount",
    "CallClosed",
    "Kamailio",
    "KamailioConfig",
    "PeerError",
    "PeerProcess",
    "PortPicker",
    "dominant_frequency",
    "make_tone_wav",
    "read_wav",
    "rms",
]
