"""SRTP cost per packet: libsrtp protect + unprotect against the plain RTP path.

The plain path is what RtpSession does per packet without SRTP: build the
header and payload (HEADER.pack + bytes concatenation) on send, parse the
header and slice the payload on receive. SRTP adds one protect before sendto
and one unprotect after the datagram arrives (media.srtp.SrtpContext). The
figures are CPU microseconds per packet (send + receive) in this process.

Run: .venv/bin/python tools/bench/srtp.py [--packets 200000]
"""

from __future__ import annotations

import argparse
import time

from media.rtp import HEADER
from media.srtp import SrtpContext, SrtpKey, SrtpSuite

PAYLOAD = bytes(range(160))


def plain_us(packets: int) -> float:
    pack, unpack = HEADER.pack, HEADER.unpack_from
    start = time.process_time()
    for seq in range(packets):
        data = pack(0x80, 0, seq & 0xFFFF, seq * 160 & 0xFFFFFFFF, 1234) + PAYLOAD
        unpack(data)
        data[12:]  # noqa: B018 - the receive path's payload slice
    return 1e6 * (time.process_time() - start) / packets


def srtp_us(packets: int, suite: SrtpSuite) -> float:
    """Only the SRTP part: protect on one end, unprotect on the other."""
    key_a, key_b = SrtpKey.generate(suite), SrtpKey.generate(suite)
    sender, receiver = SrtpContext(key_a, key_b), SrtpContext(key_b, key_a)
    # built outside the timed loop: this measures protect + unprotect alone
    plain = [
        HEADER.pack(0x80, 0, seq & 0xFFFF, seq * 160 & 0xFFFFFFFF, 1234) + PAYLOAD
        for seq in range(packets)
    ]
    protect, unprotect = sender.protect, receiver.unprotect
    start = time.process_time()
    for packet in plain:
        unprotect(protect(packet))
    elapsed = time.process_time() - start
    if receiver.rejected:
        raise SystemExit(f"{receiver.rejected} packets failed to authenticate")
    return 1e6 * elapsed / packets


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--packets", type=int, default=200_000)
    args = parser.parse_args()
    # packets of one stream: at most 65536 before the sequence number wraps, which is fine
    base = plain_us(args.packets)
    print(f"plain RTP path (build + parse):        {base:6.2f} us/packet")
    for suite in SrtpSuite:
        cost = srtp_us(args.packets, suite)
        print(f"{suite}: protect+unprotect {cost:6.2f} us/packet")


if __name__ == "__main__":
    main()
