"""Debian's PostgreSQL as a test peer: one throw-away cluster per test session.

``initdb`` runs in a fresh directory under /tmp as an unprivileged user (PostgreSQL
refuses to run as root; the tests do): Debian's ``postgres`` system user when the
package made it, else a dedicated ``softswitch-pg`` system user created once. The
server listens on a unix socket in its directory and on a free TCP port of 127.0.0.1,
with C collation (text sorts by bytes, as SQLite does) and no fsync (a test cluster
loses nothing worth keeping in a crash).

Each test gets a fresh database, copied from a template that already holds the store's
schema (``CREATE DATABASE ... TEMPLATE``: a file copy, much cheaper than running the
migrations again); ``postgres_server.create_database(template="template0")`` gives an
empty one for the migration tests.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from softswitch.store import Store

from .ports import HOST, PortPicker
from .process import PeerError, PeerProcess, wait_until

__all__ = ["PostgresServer", "postgres_server", "postgres_url", "store_url"]

DEDICATED_USER = "softswitch-pg"
SUPERUSER = "softswitch"  # the cluster's superuser role (the store connects as it)
PASSWORD = "softswitch-test-pw"  # TCP needs it (scram-sha-256); the unix socket trusts
TEMPLATE = "softswitch_template"


def postgres_bin() -> Path | None:
    """Debian's PostgreSQL programs folder, 15 preferred, else the newest installed."""
    root = Path("/usr/lib/postgresql")
    preferred = root / "15" / "bin"
    if (preferred / "postgres").exists():
        return preferred
    found = sorted(root.glob("*/bin/postgres"), key=lambda p: int(p.parent.parent.name))
    return found[-1].parent if found else None


def _run_as() -> pwd.struct_passwd | None:
    """The unprivileged user to run the cluster as (None: we are not root, run as us)."""
    if os.getuid() != 0:
        return None
    for name in ("postgres", DEDICATED_USER):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    made = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", DEDICATED_USER],
        capture_output=True,
        text=True,
    )
    try:  # another xdist worker may have made it first: then ours failed, harmlessly
        return pwd.getpwnam(DEDICATED_USER)
    except KeyError:
        raise PeerError(f"useradd {DEDICATED_USER} failed: {made.stderr.strip()}") from None


class PostgresServer:
    def __init__(self, bin_dir: Path, port: int) -> None:
        self.bin_dir = bin_dir
        self.port = port
        self.user = _run_as()
        self.root = Path(tempfile.mkdtemp(prefix="softswitch-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root / "sockets"
        self.process: PeerProcess | None = None
        self._names = itertools.count(1)

    def _as_user(self, argv: list[str], *, die_with_us: bool = False) -> list[str]:
        # setpriv execs the program (no extra parent left behind, unlike su/runuser)
        wrapper = ["setpriv"]
        if self.user is not None:
            wrapper += [f"--reuid={self.user.pw_uid}", f"--regid={self.user.pw_gid}"]
            wrapper.append("--clear-groups")
        if die_with_us:
            # a test run killed outright (SIGTERM, SIGKILL: no teardown, no atexit) must not
            # leave the server behind: it gets SIGINT, a fast shutdown, when we die
            wrapper.append("--pdeathsig=INT")
        return [*wrapper, *argv] if len(wrapper) > 1 else argv

    def start(self) -> None:
        self.socket_dir.mkdir()
        pwfile = self.root / "pwfile"
        pwfile.write_text(PASSWORD + "\n")
        if self.user is not None:
            for path in (self.root, self.socket_dir, pwfile):
                os.chown(path, self.user.pw_uid, self.user.pw_gid)
        self.root.chmod(0o700)
        initdb = subprocess.run(
            self._as_user(
                [
                    str(self.bin_dir / "initdb"),
                    "--pgdata",
                    str(self.data),
                    "--username",
                    SUPERUSER,
                    "--pwfile",
                    str(pwfile),
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--locale=C",
                    "--encoding=UTF8",
                    "--no-sync",
                ]
            ),
            capture_output=True,
            text=True,
            env={**os.environ, "LC_ALL": "C"},
        )
        if initdb.returncode != 0:
            raise PeerError(f"initdb failed:\n{initdb.stdout}\n{initdb.stderr}")
        self.process = PeerProcess(
            self._as_user(
                [
                    str(self.bin_dir / "postgres"),
                    "-D",
                    str(self.data),
                    "-k",
                    str(self.socket_dir),
                    "-h",
                    HOST,
                    "-p",
                    str(self.port),
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=300",
                    "-c",
                    "logging_collector=off",
                ],
                die_with_us=True,
            ),
            self.root / "postgres.log",
        )
        self.process.start()
        wait_until(self._ready, 30, alive=self.process, what="postgres accepting connections")

    def _ready(self) -> bool:
        try:
            with psycopg.connect(self.admin_url(), connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def url(self, database: str) -> str:
        """The TCP url the store connects with (password auth, as in production)."""
        return f"postgresql://{SUPERUSER}:{PASSWORD}@{HOST}:{self.port}/{database}"

    def admin_url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@/{database}?host={self.socket_dir}&port={self.port}"

    def admin(self, sql: str, database: str = "postgres") -> None:
        with psycopg.connect(self.admin_url(database), autocommit=True) as conn:
            conn.execute(sql.encode())

    def create_database(self, template: str = TEMPLATE) -> str:
        """A new database copied from ``template``; returns its url."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        self.admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def make_template(self) -> None:
        """The template database: empty, then migrated by the store's own code."""
        self.admin(f'CREATE DATABASE "{TEMPLATE}" TEMPLATE template0')
        Store(self.url(TEMPLATE), pool_size=1).close()

    def stop(self) -> None:
        if self.process is not None:
            # SIGINT: fast shutdown (clients cut off), SIGTERM would wait for them
            with contextlib.suppress(ProcessLookupError, PeerError):
                os.kill(self.process.pid, signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired, PeerError):
                self.process.wait(10)
            self.process.stop(timeout=2)
            self.process = None
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server(peer_ports: PortPicker) -> Iterator[PostgresServer]:
    """One PostgreSQL cluster for the session (per xdist worker), stopped at the end."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.skip("not installed: postgresql (tools/test installs it)")
    port = peer_ports.port()
    server = PostgresServer(bin_dir, port)
    try:
        server.start()
        server.make_template()
        yield server
    finally:
        server.stop()
        peer_ports.release(port)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh database holding the store's schema, dropped after the test."""
    url = postgres_server.create_database()
    try:
        yield url
    finally:
        postgres_server.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store url on each engine: a SQLite file in tmp_path, then a fresh PostgreSQL
    database. Tests of the store take it (``Store(store_url)``) to run on both."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("postgres_url"))
