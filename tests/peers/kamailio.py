"""Kamailio as the carrier stand-in: registrar, digest auth, proxy. No database.

The generated config keeps registrations in memory (usrloc db_mode 0) and the
passwords in the config itself (a switch on the auth username feeding
pv_www_authenticate / pv_proxy_authenticate), so a test owns the whole carrier.

Routing of a new INVITE (or other out-of-dialog request):
  1. REGISTER: digest auth (401) with the table's passwords, then save("location").
  2. Others must come from a trusted source (ip, or ip:port), or `open_relay` is set
     (an IP-authenticated trunk that takes anybody), or pass proxy auth (407).
  3. The request URI user is looked up in the location table; if absent, the first
     `trunk_routes` prefix that matches sends it to where that trunk user registered
     (a DID of a registered PBX), else the first `static_routes` prefix that matches
     forwards it to a fixed host:port; else 404.
In-dialog requests follow Record-Route (loose_route); CANCEL/ACK go via tm.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .ports import PortPicker
from .process import PeerError, PeerProcess, wait_until

HOST = "127.0.0.1"
MODULES_DIR = "/usr/lib/x86_64-linux-gnu/kamailio/modules"

_SAFE = re.compile(r"^[A-Za-z0-9_.+\-*#!~]*$")


def _check_safe(kind: str, value: str) -> str:
    # Values are pasted into the cfg as string literals; refuse what would need escaping.
    if not _SAFE.match(value):
        raise ValueError(f"{kind} {value!r}: only [A-Za-z0-9_.+-*#!~] allowed")
    return value


@dataclass(slots=True)
class KamailioConfig:
    port: int
    users: Mapping[str, str] = field(default_factory=dict)  # auth user -> password
    realm: str = HOST
    trusted: Sequence[str] = ()  # "ip" or "ip:port" sources that skip proxy auth
    open_relay: bool = False  # route INVITEs from anybody (IP-authenticated trunk)
    static_routes: Mapping[str, str] = field(
        default_factory=dict
    )  # R-URI user prefix -> "host:port" or "host:port;transport=tls"
    # R-URI user prefix -> the user whose registered Contact takes those calls: a DID
    # routed to a registered trunk (the R-URI user, the DID, is kept), as carriers do
    trunk_routes: Mapping[str, str] = field(default_factory=dict)
    qop: bool = True  # challenges carry qop="auth"
    # baresip 1.0.0 sends an empty "Supported:" header, which pyVoIP 1.6.8 cannot
    # parse (it drops the whole INVITE). True removes it from relayed requests.
    strip_empty_supported: bool = False
    host: str = HOST
    # a TLS listener too (kamailio-tls-modules): its port and PEM files
    tls_port: int | None = None
    tls_certificate: str = ""
    tls_private_key: str = ""

    def render(self, ctl_socket: str) -> str:
        return _render(self, ctl_socket)


def _password_switch(users: Mapping[str, str]) -> str:
    lines = ['    $var(pw) = "";', "    switch ($au) {"]
    for user, password in users.items():
        lines.append(f'        case "{_check_safe("user", user)}":')
        lines.append(f'            $var(pw) = "{_check_safe("password", password)}";')
        lines.append("            break;")
    lines.append("    }")
    return "\n".join(lines)


def _trusted_condition(trusted: Sequence[str]) -> str:
    terms = []
    for source in trusted:
        ip, _, port = source.partition(":")
        _check_safe("trusted ip", ip)
        if port:
            terms.append(f'($si == "{ip}" && $sp == {int(port)})')
        else:
            terms.append(f'$si == "{ip}"')
    return " || ".join(terms) if terms else "0"


def _static_routes(routes: Mapping[str, str]) -> str:
    lines = []
    for prefix, dest in routes.items():
        _check_safe("prefix", prefix)
        dest, _, params = dest.partition(";")
        if params not in ("", "transport=udp", "transport=tcp", "transport=tls"):
            raise ValueError(f"route parameters {params!r}: only transport=udp|tcp|tls")
        host, _, port = dest.partition(":")
        _check_safe("route host", host)
        target = f"sip:{host}:{int(port)}" if port else f"sip:{host}"
        target += f";{params}" if params else ""
        cond = f'$(rU{{s.substr,0,{len(prefix)}}}) == "{prefix}"' if prefix else "1"
        lines.append(f"    if ({cond}) {{")
        lines.append(f'        xlog("L_NOTICE", "STATIC-ROUTE $rU -> {target}\\n");')
        lines.append(f'        $du = "{target}";')
        lines.append("        route(RELAY);")
        lines.append("        exit;")
        lines.append("    }")
    return "\n".join(lines)


def _trunk_routes(routes: Mapping[str, str], domain: str) -> str:
    lines = []
    for prefix, user in routes.items():
        _check_safe("prefix", prefix)
        _check_safe("user", user)
        cond = f'$(rU{{s.substr,0,{len(prefix)}}}) == "{prefix}"' if prefix else "1"
        lines.append(f"    if ({cond}) {{")
        lines.append("        $var(did) = $rU;")
        lines.append(f'        if (!lookup("location", "sip:{user}@{domain}")) {{')
        lines.append('            sl_send_reply("480", "Trunk Not Registered");')
        lines.append("            exit;")
        lines.append("        }")
        lines.append("        $rU = $var(did);")
        lines.append(f'        xlog("L_NOTICE", "TRUNK-ROUTE $var(did) -> {user} at $ru\\n");')
        lines.append("        route(RELAY);")
        lines.append("        exit;")
        lines.append("    }")
    return "\n".join(lines)


def _tls_lines(c: KamailioConfig) -> tuple[str, str]:
    """The listen lines and the module lines of a TLS listener, or nothing."""
    if c.tls_port is None:
        return "", ""
    listen = f"enable_tls=yes\nlisten=tls:{c.host}:{c.tls_port}"
    module = "\n".join(
        [
            'loadmodule "tls.so"',
            f'modparam("tls", "certificate", "{c.tls_certificate}")',
            f'modparam("tls", "private_key", "{c.tls_private_key}")',
            'modparam("tls", "tls_method", "TLSv1.2+")',
            # clients (the switch) present no certificate
            'modparam("tls", "verify_certificate", 0)',
            'modparam("tls", "require_certificate", 0)',
        ]
    )
    return listen, module


def _render(c: KamailioConfig, ctl_socket: str) -> str:
    realm = _check_safe("realm", c.realm)
    tls_listen, tls_module = _tls_lines(c)
    # www_challenge/proxy_challenge flags: 1 = offer qop="auth".
    flags = "1" if c.qop else "0"
    return f"""#!KAMAILIO
# Generated by tests/peers/kamailio.py for one test; no database.
debug=2
log_stderror=yes
memdbg=5
memlog=5
children=2
tcp_children=2
auto_aliases=no
listen=udp:{c.host}:{c.port}
listen=tcp:{c.host}:{c.port}
{tls_listen}
alias="{c.host}:{c.port}"
dns=no
rev_dns=no
use_dns_cache=no
tcp_connection_lifetime=3605

mpath="{MODULES_DIR}/"
loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "sanity.so"
loadmodule "ctl.so"
loadmodule "auth.so"
{tls_module}

modparam("ctl", "binrpc", "unix:{ctl_socket}")
modparam("usrloc", "db_mode", 0)
modparam("registrar", "max_expires", 3600)
modparam("registrar", "min_expires", 10)
modparam("tm", "fr_timer", 5000)
modparam("tm", "fr_inv_timer", 60000)
modparam("rr", "enable_full_lr", 0)
modparam("rr", "append_fromtag", 1)

request_route {{
    if (!mf_process_maxfwd_header("10")) {{
        sl_send_reply("483", "Too Many Hops");
        exit;
    }}
    if (!sanity_check("1511", "7")) {{
        xlog("L_WARN", "MALFORMED from $si:$sp\\n");
        exit;
    }}
    if (is_method("OPTIONS") && uri == myself && $rU == $null) {{
        sl_send_reply("200", "Keepalive");
        exit;
    }}
    if (is_method("CANCEL")) {{
        if (t_check_trans()) {{
            route(RELAY);
        }}
        exit;
    }}
    if (!is_method("ACK")) {{
        if (t_precheck_trans()) {{
            t_check_trans();
            exit;
        }}
        t_check_trans();
    }}
    route(WITHINDLG);

    remove_hf("Route");
    if ({1 if c.strip_empty_supported else 0} && is_present_hf("Supported")
            && $hdr(Supported) == "") {{
        remove_hf("Supported");
    }}
    if (is_method("INVITE|SUBSCRIBE")) {{
        record_route();
    }}
    if (is_method("REGISTER")) {{
        route(REGISTRAR);
        exit;
    }}
    route(AUTH);
    if ($rU == $null) {{
        sl_send_reply("484", "Address Incomplete");
        exit;
    }}
    route(LOCATION);
}}

route[RELAY] {{
    if (!t_relay()) {{
        sl_reply_error();
    }}
    exit;
}}

route[WITHINDLG] {{
    if (!has_totag()) return;
    if (loose_route()) {{
        route(RELAY);
        exit;
    }}
    if (is_method("ACK")) {{
        if (t_check_trans()) {{
            route(RELAY);
        }}
        exit;
    }}
    sl_send_reply("404", "Not here");
    exit;
}}

route[PASSWORD] {{
{_password_switch(c.users)}
}}

route[REGISTRAR] {{
    route(PASSWORD);
    if ($au != $null && $var(pw) == "") {{
        xlog("L_NOTICE", "REGISTER-UNKNOWN $au from $si:$sp\\n");
        sl_send_reply("403", "Unknown user");
        exit;
    }}
    if ($au == $null || !pv_www_authenticate("{realm}", "$var(pw)", "0")) {{
        xlog("L_NOTICE", "REGISTER-CHALLENGE $tU from $si:$sp\\n");
        www_challenge("{realm}", "{flags}");
        exit;
    }}
    if ($au != $tU) {{
        sl_send_reply("403", "Auth user does not match To");
        exit;
    }}
    consume_credentials();
    if (!save("location")) {{
        sl_reply_error();
        exit;
    }}
    xlog("L_NOTICE", "REGISTERED $tU contact $ct expires $hdr(Expires) from $si:$sp\\n");
    exit;
}}

route[AUTH] {{
    if ({_trusted_condition(c.trusted)}) {{
        xlog("L_NOTICE", "TRUSTED $rm $ru from $si:$sp\\n");
        return;
    }}
    if ({1 if c.open_relay else 0}) {{
        xlog("L_NOTICE", "OPEN $rm $ru from $si:$sp\\n");
        return;
    }}
    route(PASSWORD);
    if ($au != $null && $var(pw) == "") {{
        sl_send_reply("403", "Unknown user");
        exit;
    }}
    if ($au == $null || !pv_proxy_authenticate("{realm}", "$var(pw)", "0")) {{
        xlog("L_NOTICE", "PROXY-CHALLENGE $rm $ru from $si:$sp\\n");
        proxy_challenge("{realm}", "{flags}");
        exit;
    }}
    xlog("L_NOTICE", "AUTHENTICATED $au $rm $ru from $si:$sp\\n");
    consume_credentials();
}}

route[LOCATION] {{
    if (lookup("location")) {{
        xlog("L_NOTICE", "ROUTE $rm $tU -> $ru\\n");
        route(RELAY);
        exit;
    }}
{_trunk_routes(c.trunk_routes, c.host)}
{_static_routes(c.static_routes)}
    xlog("L_NOTICE", "NOT-FOUND $rm $rU\\n");
    sl_send_reply("404", "Not Found");
    exit;
}}
"""


class Kamailio:
    """A running kamailio with a generated config; use as a context manager."""

    def __init__(self, workdir: Path, config: KamailioConfig) -> None:
        self.workdir = Path(workdir)
        self.config = config
        self.workdir.mkdir(parents=True, exist_ok=True)
        # unix socket paths are limited to ~107 bytes: keep it short, in /tmp.
        self.ctl_socket = f"/tmp/kam-{uuid.uuid4().hex[:12]}.ctl"
        self.cfg_path = self.workdir / "kamailio.cfg"
        self.log_path = self.workdir / "kamailio.log"
        self.cfg_path.write_text(config.render(self.ctl_socket))
        self.process = PeerProcess(
            [
                "kamailio",
                "-f",
                str(self.cfg_path),
                "-DD",
                "-E",
                "-m",
                "32",
                "-M",
                "4",
                "-Y",
                str(self.workdir),
                "-P",
                str(self.workdir / "kamailio.pid"),
                "-w",
                str(self.workdir),
            ],
            self.log_path,
            cwd=self.workdir,
        )

    @property
    def port(self) -> int:
        return self.config.port

    @property
    def host(self) -> str:
        return self.config.host

    @property
    def address(self) -> str:
        """ "host:port", what a UA puts as its registrar / outbound proxy."""
        return f"{self.host}:{self.port}"

    def uri(self, user: str | None = None) -> str:
        return f"sip:{user}@{self.address}" if user else f"sip:{self.address}"

    def check_config(self) -> None:
        """Syntax-check the generated config (kamailio -c); raises with its output."""
        out = subprocess.run(
            ["kamailio", "-c", "-f", str(self.cfg_path), "-L", MODULES_DIR],
            capture_output=True,
            text=True,
            timeout=20,
        )
        if out.returncode != 0:
            raise PeerError(f"kamailio -c failed:\n{out.stdout}{out.stderr}")

    def start(self, timeout: float = 10.0) -> Kamailio:
        self.process.start()
        wait_until(
            self._answers_options,
            timeout,
            interval=0.1,
            alive=self.process,
            what=f"kamailio listening on {self.address}",
        )
        return self

    def stop(self) -> None:
        self.process.stop()
        Path(self.ctl_socket).unlink(missing_ok=True)

    def __enter__(self) -> Kamailio:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _answers_options(self) -> bool:
        return answers_options(self.host, self.port)

    # -- registrations ---------------------------------------------------------------

    def rpc(self, *args: str, timeout: float = 5.0) -> subprocess.CompletedProcess[str]:
        if not shutil.which("kamcmd"):
            raise PeerError("kamcmd not installed")
        return subprocess.run(
            ["kamcmd", "-s", f"unix:{self.ctl_socket}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def contacts(self, user: str) -> list[str]:
        """Contact URIs registered for `user` (an AoR user part), [] when none."""
        out = self.rpc("ul.lookup", "location", user)
        if out.returncode != 0:
            return []
        return re.findall(r"Address:\s*(\S+)", out.stdout)

    def registered(self, user: str) -> bool:
        return bool(self.contacts(user))

    def wait_registered(self, user: str, timeout: float = 10.0) -> list[str]:
        return wait_until(
            lambda: self.contacts(user),
            timeout,
            interval=0.1,
            alive=self.process,
            what=f"{user} registered at kamailio",
        )

    def log_lines(self, marker: str) -> list[str]:
        """Our xlog lines of one kind (REGISTERED, ROUTE, NOT-FOUND, PROXY-CHALLENGE...)."""
        return xlog_lines(self.process, marker)


def xlog_lines(process: PeerProcess, marker: str) -> list[str]:
    """A kamailio's log lines of one kind: from ``marker`` (a word our configs' xlog
    calls start with) to the end of the line."""
    pattern = re.compile(rf"\b{re.escape(marker)}\b(.*)$")
    return [m.group(0) for line in process.log_text().splitlines() if (m := pattern.search(line))]


def answers_options(host: str, port: int) -> bool:
    """Does the SIP server at host:port answer an OPTIONS to itself with 200?"""
    branch = "z9hG4bK" + uuid.uuid4().hex
    address = f"{host}:{port}"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        s.settimeout(0.2)
        lport = s.getsockname()[1]
        msg = (
            f"OPTIONS sip:{address} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {HOST}:{lport};branch={branch};rport\r\n"
            f"Max-Forwards: 70\r\n"
            f"From: <sip:probe@{HOST}:{lport}>;tag={uuid.uuid4().hex[:8]}\r\n"
            f"To: <sip:{address}>\r\n"
            f"Call-ID: {uuid.uuid4().hex}@{HOST}\r\n"
            f"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        )
        try:
            s.sendto(msg.encode(), (host, port))
            data = s.recv(65535)
        except OSError:
            return False
    return data.startswith(b"SIP/2.0 200")


@contextlib.contextmanager
def company_carrier(
    folder: Path, ports: PortPicker, outside: str, prefix: str = "49"
) -> Iterator[tuple[Kamailio, int]]:
    """kamailio as the carrier: its user `trunkuser` (password trunkpass) is the company's
    trunk, `outside` (password outpw) a customer's line, and the company's numbers
    (`prefix`...) are routed to a switch port (the second item) that the test's switch
    then listens on. Start it before the switch (as a fixture the test asks for first) so
    it stops after: stopped first, the trunk's un-REGISTER waits for an answer in vain."""
    switch_port = ports.port()
    kamailio = Kamailio(
        folder,
        KamailioConfig(
            port=ports.port(),
            users={"trunkuser": "trunkpass", outside: "outpw"},
            static_routes={prefix: f"127.0.0.1:{switch_port}"},
        ),
    )
    kamailio.start()
    try:
        yield kamailio, switch_port
    finally:
        kamailio.stop()


def company_trunk(carrier: Kamailio, account: str = "account_1") -> dict[str, str]:
    """The switch's `[[trunks]]` entry for `company_carrier`'s trunk user, its inbound
    calls owned by `account`."""
    return {
        "name": "carrier",
        "host": carrier.address,
        "username": "trunkuser",
        "password": "trunkpass",
        "account": account,
    }


def customer_trunk(carrier: Kamailio) -> dict[str, object]:
    """The switch's `[[trunks]]` entry for a carrier whose `trunkuser` takes the calls to
    customers (numbers starting 555), presenting the company's caller ID."""
    return {
        "name": "carrier",
        "host": carrier.address,
        "username": "trunkuser",
        "password": "trunkpass",
        "caller_id": "15168148111",
        "prefixes": ["555"],
    }
