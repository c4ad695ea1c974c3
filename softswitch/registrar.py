"""The registrar for local extensions (RFC 3261 section 10.3).

Behind a cluster's front door (softswitch.cluster) a REGISTER's Path (RFC 3327) is kept
with its bindings, so that every node's requests to the phone go through the proxy."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from email.utils import formatdate

from .cluster.front_door import FrontDoor
from .identity import ExtensionAuthenticator
from .sip.address import Address
from .sip.errors import SipParseError
from .sip.message import new_tag
from .sip.transaction import ServerTransaction
from .sip.ua import UserAgent
from .store import Binding, Store
from .store.binding_paths import BindingPaths

log = logging.getLogger("softswitch.registrar")

DEFAULT_EXPIRES = 3600


class Registrar:
    def __init__(
        self,
        store: Store,
        auth: ExtensionAuthenticator,
        ua: UserAgent,
        *,
        min_expires: int = 60,
        max_expires: int = 3600,
        clock: Callable[[], float] = time.time,
        on_new_binding: Callable[[Binding], None] | None = None,
        front_door: tuple[FrontDoor, BindingPaths] | None = None,
        admit: Callable[[str, str, int], str | None] | None = None,
    ) -> None:
        self.store = store
        self.auth = auth
        self.ua = ua
        self.min_expires = min_expires
        self.max_expires = max_expires
        self.clock = clock
        # told of each contact bound anew (not of refreshes), after the 200 went out
        self.on_new_binding = on_new_binding
        # in a cluster: which proxies may bring a Path, and where it is kept
        self.front_door = front_door

        # the extension's own limits: admit(aor, transport, devices bound afterwards)
        # says why a REGISTER adding bindings is refused (403), None when it is not
        self.admit = admit

    def contacts(self, number: str) -> list[Binding]:
        """Live bindings of an extension, most recently refreshed first."""
        return self.store.bindings(number, self.clock())

    def handle(self, st: ServerTransaction) -> None:
        request = st.request
        aor = request.to_addr.uri.user or ""
        try:
            # RFC 4475 3.1.2.13: an unreadable Contact is a 400, before the challenge
            # (its syntax tells a scanner nothing about which extensions exist)
            request.contacts  # noqa: B018
        except SipParseError as exc:
            st.respond_stateless(self.ua.response(request, 400, exc.reason, to_tag=new_tag()))
            return
        # Authenticate before looking at the AOR, so that a scanner learns nothing about
        # which extensions exist: an unknown user simply never passes the challenge.
        user = self.auth.authenticate(st, self.ua)
        if user is None:
            return
        if user != aor:
            log.warning("register: %s tried to bind %s from %s", user, aor, st.peer)
            st.respond_stateless(self.ua.response(request, 403, "Forbidden", to_tag=new_tag()))
            return
        try:
            self._update(st, aor)
        except SipParseError as exc:
            st.respond(self.ua.response(request, 400, exc.reason, to_tag=new_tag()))

    def _update(self, st: ServerTransaction, aor: str) -> None:
        request = st.request
        now = self.clock()
        header_expires = request.headers.get("Expires")
        default = DEFAULT_EXPIRES
        if header_expires is not None:
            default = _parse_expires(header_expires)
        raw_contacts = request.headers.get_all("Contact")
        call_id, cseq = request.call_id, request.cseq[0]
        if any(c.strip() == "*" for c in raw_contacts):
            if len(raw_contacts) != 1 or default != 0:
                raise SipParseError("'*' must be the only Contact and come with Expires: 0")
            self.store.delete_bindings(aor)
            log.info("register: %s removed all bindings (from %s)", aor, st.peer)
            self._ok(st, aor, now)
            return
        changes: list[tuple[Address, int]] = []
        for address in request.contacts:
            value = address.params.get("expires")
            expires = _parse_expires(value) if value is not None else default
            if 0 < expires < self.min_expires:
                response = self.ua.response(request, 423, "Interval Too Brief", to_tag=new_tag())
                response.headers.add("Min-Expires", str(self.min_expires))
                st.respond(response)
                return
            changes.append((address, min(expires, self.max_expires)))
        existing = {b.contact: b for b in self.store.bindings(aor, now)}
        for address, _expires in changes:
            contact = str(address.uri)
            old = existing.get(contact)
            if old is not None and old.call_id == call_id and old.cseq >= cseq:
                st.respond(self.ua.response(request, 500, "Out of Order", to_tag=new_tag()))
                return
        if self.admit is not None and any(expires for _, expires in changes):
            after = set(existing)
            for address, expires in changes:
                (after.add if expires else after.discard)(str(address.uri))
            refusal = self.admit(aor, st.peer.transport, len(after))
            if refusal is not None:
                log.info("register: %s from %s refused: %s", aor, st.peer, refusal)
                st.respond(self.ua.response(request, 403, refusal, to_tag=new_tag()))
                return
        path = ""
        if self.front_door is not None:
            path = self.front_door[0].path(request, st.peer)
        bound = self._bind(st, aor, changes, existing, path, now)
        if changes:
            log.info(
                "register: %s from %s: %s%s",
                aor,
                st.peer,
                ", ".join(f"{a.uri} expires={e}" for a, e in changes),
                f" path={path}" if path else "",
            )
        self._ok(st, aor, now, path)
        if self.on_new_binding is not None:
            for binding in bound:
                self.on_new_binding(binding)

    def _bind(
        self,
        st: ServerTransaction,
        aor: str,
        changes: list[tuple[Address, int]],
        existing: dict[str, Binding],
        path: str,
        now: float,
    ) -> list[Binding]:
        """Store the REGISTER's contacts; returns the ones bound anew."""
        request = st.request
        call_id, cseq = request.call_id, request.cseq[0]

        bound: list[Binding] = []
        for address, expires in changes:
            contact = str(address.uri)
            if expires == 0:
                self.store.delete_binding(aor, contact)
                continue
            binding = Binding(
                aor=aor,
                contact=contact,
                expires_at=now + expires,
                call_id=call_id,
                cseq=cseq,
                transport=st.peer.transport,
                source_host=st.peer.host,
                source_port=st.peer.port,
                user_agent=request.headers.get("User-Agent") or "",
            )
            self.store.put_binding(binding)
            if self.front_door is not None:
                # a phone that now registers directly loses the Path it had
                self.front_door[1].put(aor, contact, path)
            if contact not in existing:
                bound.append(binding)
        return bound

    def _ok(self, st: ServerTransaction, aor: str, now: float, path: str = "") -> None:
        response = self.ua.response(st.request, 200, "OK", to_tag=new_tag())
        # RFC 3327 5.3: the Path stored is echoed to a UA that supports the extension
        supported = st.request.headers.get_all("Supported")
        if path and any("path" in (t.strip().lower() for t in v.split(",")) for v in supported):
            response.headers.add("Path", path)
        for binding in self.store.bindings(aor, now):
            response.headers.add(
                "Contact", f"<{binding.contact}>;expires={binding.expires_in(now)}"
            )
        response.headers.add("Date", formatdate(now, usegmt=True))
        st.respond(response)


def _parse_expires(value: str) -> int:
    value = value.strip()
    if not value.isdigit():
        raise SipParseError(f"bad expires value {value!r}")
    return min(int(value), 2**32 - 1)
