"""The dialog event package's body (RFC 4235): an extension's calls as dialog-info+xml.

Always full state: every live dialog of the extension, plus the one whose end this
NOTIFY tells (as terminated); the version counts the subscription's NOTIFYs from 0.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from .lines import Line

EVENT = "dialog"
CONTENT_TYPE = "application/dialog-info+xml"
NAMESPACE = "urn:ietf:params:xml:ns:dialog-info"


def dialog_info(entity: str, version: int, lines: tuple[Line, ...]) -> bytes:
    """`entity`: the watched extension's SIP URI."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<dialog-info xmlns="{NAMESPACE}" version="{version}" state="full" '
        f"entity={quoteattr(entity)}>\n",
    ]
    for line in lines:
        tags = ""
        if line.local_tag:
            tags += f" local-tag={quoteattr(line.local_tag)}"
        if line.remote_tag:
            tags += f" remote-tag={quoteattr(line.remote_tag)}"
        parts.append(
            f"  <dialog id={quoteattr(line.id)} call-id={quoteattr(line.call_id)}{tags} "
            f'direction="{line.role}">\n'
            f"    <state>{line.state}</state>\n"
            f"    <local><identity>{escape(line.local)}</identity></local>\n"
            f"    <remote><identity>{escape(line.remote)}</identity></remote>\n"
            "  </dialog>\n"
        )
    parts.append("</dialog-info>\n")
    return "".join(parts).encode()
