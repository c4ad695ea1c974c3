"""Header names (compact forms, canonical spelling, list headers) and the
ordered, case-insensitive header list of a message (RFC 3261 7.3, 20)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TypeVar

from .grammar import TOKEN_RE, split_list

__all__ = ["KNOWN_NAMES", "HeaderEntry", "Headers", "canonical_name"]

_WELL_KNOWN = (
    "Accept", "Accept-Contact", "Accept-Encoding", "Accept-Language", "Accept-Resource-Priority",
    "Alert-Info", "Allow", "Allow-Events", "Answer-Mode", "Authentication-Info",
    "Authorization", "Call-ID", "Call-Info", "Contact", "Content-Disposition",
    "Content-Encoding", "Content-ID", "Content-Language", "Content-Length", "Content-Type",
    "CSeq", "Date", "Diversion", "Error-Info", "Event", "Expires", "Feature-Caps", "Flow-Timer",
    "From", "Geolocation", "History-Info", "Identity", "Identity-Info", "In-Reply-To", "Join",
    "Max-Breadth", "Max-Forwards", "MIME-Version", "Min-Expires", "Min-SE", "Organization",
    "P-Asserted-Identity", "P-Associated-URI", "P-Called-Party-ID", "P-Charging-Vector",
    "P-Preferred-Identity", "P-Access-Network-Info", "Path", "Priority", "Privacy",
    "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Require", "RAck", "Reason",
    "Record-Route", "Refer-Sub", "Refer-To", "Referred-By", "Reject-Contact", "Remote-Party-ID",
    "Replaces", "Reply-To", "Request-Disposition", "Require", "Resource-Priority",
    "Retry-After", "Route", "RSeq", "Security-Client", "Security-Server", "Security-Verify",
    "Server", "Service-Route", "Session-Expires", "SIP-ETag", "SIP-If-Match", "Subject",
    "Subscription-State", "Supported", "Target-Dialog", "Timestamp", "To", "Unsupported",
    "User-Agent", "Via", "Warning", "WWW-Authenticate",
)  # fmt: skip

# RFC 3261 7.3.3 and the extensions that registered a compact form.
_COMPACT = {
    "a": "Accept-Contact", "b": "Referred-By", "c": "Content-Type", "d": "Request-Disposition",
    "e": "Content-Encoding", "f": "From", "i": "Call-ID", "j": "Reject-Contact",
    "k": "Supported", "l": "Content-Length", "m": "Contact", "n": "Identity-Info",
    "o": "Event", "r": "Refer-To", "s": "Subject", "t": "To", "u": "Allow-Events",
    "v": "Via", "x": "Session-Expires", "y": "Identity",
}  # fmt: skip

# lower-case spelling (long or compact) -> canonical spelling
_NAMES: dict[str, str] = {name.lower(): name for name in _WELL_KNOWN}
_NAMES.update(_COMPACT)
# lower-case spelling -> lookup key (the canonical name, lower-cased)
_KEYS: dict[str, str] = {low: name.lower() for low, name in _NAMES.items()}
# lower-case spelling -> (lookup key, canonical spelling): one probe per parsed header line
KNOWN_NAMES: dict[str, tuple[str, str]] = {
    low: (name.lower(), name) for low, name in _NAMES.items()
}

# Headers whose grammar is a comma-separated list (RFC 3261 7.3.1).  Everything
# else, unknown headers included, is never split: the comma in a User-Agent, a
# Date or a digest challenge is not a separator.
_LIST_HEADERS = frozenset(
    n.lower()
    for n in (
        "Accept", "Accept-Contact", "Accept-Encoding", "Accept-Language", "Alert-Info",
        "Allow", "Allow-Events", "Call-Info", "Contact", "Content-Encoding",
        "Content-Language", "Error-Info", "History-Info", "In-Reply-To", "P-Asserted-Identity",
        "P-Associated-URI", "P-Preferred-Identity", "Path", "Proxy-Require", "Reason",
        "Record-Route", "Reject-Contact", "Request-Disposition", "Require", "Route",
        "Security-Client", "Security-Server", "Security-Verify", "Service-Route",
        "Supported", "Unsupported", "Via", "Warning", "Diversion",
    )
)  # fmt: skip

# (key, name, value): key = canonical name lower-cased, for lookups
HeaderEntry = tuple[str, str, str]
_T = TypeVar("_T")


def canonical_name(name: str) -> str:
    """The spelling used on output: RFC form for known and compact names, else as given."""
    return _NAMES.get(name.lower(), name)


def _key(name: str) -> str:
    low = name.lower()
    return _KEYS.get(low, low)


class Headers:
    """Ordered, case-insensitive header list.

    Compact and any-case names are stored under their canonical spelling; names
    nobody registered keep the case they arrived with.  Values are stored as
    received (folding undone, surrounding whitespace removed).

    The structured views of a message (top Via, From, CSeq, ...) are parsed
    from the header text on first use and kept here, beside the text they come
    from, so that every change drops them.
    """

    __slots__ = ("_items", "_views")

    def __init__(self, items: Iterable[tuple[str, str]] | Mapping[str, str] | None = None) -> None:
        self._items: list[HeaderEntry] = []
        self._views: dict[str, object] | None = None
        if items is not None:
            pairs = items.items() if isinstance(items, Mapping) else items
            for name, value in pairs:
                self.add(name, value)

    @classmethod
    def from_entries(
        cls, entries: list[HeaderEntry], views: dict[str, object] | None = None
    ) -> Headers:
        """Adopt entries that are already valid (the parser's, another message's)."""
        h = cls.__new__(cls)
        h._items = entries
        h._views = views
        return h

    def entries(self) -> list[HeaderEntry]:
        """The (key, name, value) entries themselves, in order; do not modify them."""
        return self._items

    def view(self, name: str, build: Callable[[Headers], _T]) -> _T:
        """The structured view ``name``, built by ``build`` on first use."""
        views = self._views
        if views is None:
            views = self._views = {}
        try:
            # one name is only ever built by one function, so this is a _T; cast()
            # would cost a call per access on the receive path
            return views[name]  # type: ignore[return-value]
        except KeyError:
            value = build(self)
            views[name] = value
            return value

    def cached_views(self, names: Iterable[str]) -> dict[str, object]:
        """The views among ``names`` already built (for a message that copies the
        headers they come from verbatim: a response to this request)."""
        views = self._views
        if not views:
            return {}
        return {name: views[name] for name in names if name in views}

    def set_at(
        self, index: int, value: str, views: Mapping[str, object], stale: Iterable[str]
    ) -> None:
        """Replace the value of entry ``index`` by ``value``, a valid value of the same
        header whose views are ``views``; the other views stay, except ``stale`` (those
        built from the old value too)."""
        key, name, _ = self._items[index]
        self._items[index] = (key, name, value)
        cached = self._views
        if cached is not None:
            for view in stale:
                cached.pop(view, None)
            cached.update(views)

    @staticmethod
    def _entry(name: str, value: str) -> HeaderEntry:
        low = name.lower()
        canon = _NAMES.get(low)
        if canon is None:
            if not TOKEN_RE.fullmatch(name):
                raise ValueError(f"invalid header name {name!r}")
            canon = name
        value = str(value)
        if "\r" in value or "\n" in value:
            raise ValueError(f"line break in value of header {name!r}")
        return canon.lower(), canon, value.strip(" \t")

    def get(self, name: str, default: str | None = None) -> str | None:
        key = _key(name)
        for k, _, value in self._items:
            if k == key:
                if key in _LIST_HEADERS and "," in value:
                    parts = split_list(value)
                    return parts[0] if parts else value
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        key = _key(name)
        if key in _LIST_HEADERS:
            out: list[str] = []
            for k, _, value in self._items:
                if k == key:
                    out.extend(split_list(value))
            return out
        return [value for k, _, value in self._items if k == key]

    def set(self, name: str, value: str) -> None:
        entry = self._entry(name, value)
        key = entry[0]
        items = self._items
        for i, item in enumerate(items):
            if item[0] == key:
                items[i] = entry
                self._items = items[: i + 1] + [it for it in items[i + 1 :] if it[0] != key]
                break
        else:
            items.append(entry)
        self._views = None

    def add(self, name: str, value: str) -> None:
        self._items.append(self._entry(name, value))
        self._views = None

    def prepend(self, name: str, value: str) -> None:
        entry = self._entry(name, value)
        key = entry[0]
        items = self._items
        for i, item in enumerate(items):
            if item[0] == key:
                items.insert(i, entry)
                break
        else:
            items.insert(0, entry)
        self._views = None

    def remove(self, name: str) -> None:
        key = _key(name)
        self._items = [it for it in self._items if it[0] != key]
        self._views = None

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        key = _key(name)
        return any(k == key for k, _, _ in self._items)

    def items(self) -> list[tuple[str, str]]:
        return [(name, value) for _, name, value in self._items]

    def copy(self) -> Headers:
        return Headers.from_entries(list(self._items))

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.items())

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return [(k, v) for k, _, v in self._items] == [(k, v) for k, _, v in other._items]

    def __repr__(self) -> str:
        return f"Headers({self.items()!r})"
