"""The process's open-file limit, raised at start-up.

Every SIP TCP/TLS connection, HTTP connection, RTP socket and the store hold a
descriptor. The usual soft limit (1,024) runs out under a few thousand idle connections,
and then `/health` and every new client fail too; the hard limit (often 524,288) is
ours to take without privileges.
"""

from __future__ import annotations

import logging
import resource

log = logging.getLogger("softswitchd.limits")


def raise_open_file_limit() -> int:
    """Set the soft RLIMIT_NOFILE to the hard one; returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft == hard:
        # "unlimited" is not a valid soft value for NOFILE on Linux: leave it as it is
        log.info("open-file limit %d (hard %s)", soft, _show(hard))
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError) as exc:
        log.warning("open-file limit stays %d: cannot raise it to %d: %s", soft, hard, exc)
        return soft
    log.info("open-file limit raised from %d to %d", soft, hard)
    return hard


def _show(limit: int) -> str:
    return "unlimited" if limit == resource.RLIM_INFINITY else str(limit)
