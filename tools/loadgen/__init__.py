"""A SIP + RTP load generator for bridged calls through the switch.

Runs in its own process (``python -m tools.loadgen``): a caller registered as an
extension places calls to outside numbers, the switch routes them to a trunk whose
far end is our callee, and both ends stream PCMU every 20 ms while measuring what
the switch sends back (kernel arrival timestamps, sequence numbers, payload tags).
"""

from .run import Options, run

__all__ = ["Options", "run"]
