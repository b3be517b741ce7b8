"""A throwaway PostgreSQL cluster run from the OS's server binaries, for dev and tests."""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shlex
import shutil
import stat
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

from mpe_devstack.lanes import refuse_servers_in_unit_lane
from mpe_devstack.ports import free_port, port_is_listening, wait_for_port_closed
from mpe_kit import migrations

PG_ROOT = Path("/usr/lib/postgresql")
PG_OS_USER = "postgres"
SUPERUSER = "postgres"

# A unix socket path must fit in sun_path (108 bytes including the NUL).
_MAX_SOCKET_PATH = 100


def find_pg_bin() -> Path:
    """Return the highest /usr/lib/postgresql/<v>/bin that has initdb, pg_ctl and postgres."""
    candidates: list[tuple[tuple[int, ...], Path]] = []
    if PG_ROOT.is_dir():
        for version_dir in PG_ROOT.iterdir():
            if not re.fullmatch(r"\d+(\.\d+)*", version_dir.name):
                continue
            bin_dir = version_dir / "bin"
            if all((bin_dir / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
                version = tuple(int(part) for part in version_dir.name.split("."))
                candidates.append((version, bin_dir))
    if not candidates:
        raise RuntimeError(
            f"no PostgreSQL server binaries under {PG_ROOT}/<version>/bin; "
            "install them with `apt-get install -y postgresql`"
        )
    return max(candidates)[1]


def _quote_ident(name: str) -> str:
    if not name or "\0" in name:
        raise ValueError(f"invalid database name {name!r}")
    return '"' + name.replace('"', '""') + '"'


def _quote_literal(value: str) -> str:
    if "\0" in value:
        raise ValueError(f"invalid string {value!r}")
    # standard_conforming_strings is on by default, so only quotes need doubling.
    return "'" + value.replace("'", "''") + "'"


def _clean_env() -> dict[str, str]:
    # PGDATA, PGPORT, PGHOST and friends from the caller's shell would silently redirect
    # pg_ctl and psql to some other cluster.
    return {key: value for key, value in os.environ.items() if not key.startswith("PG")}


class PostgresServer:
    """One PostgreSQL cluster in data_dir, listening on host:port, run as the postgres user."""

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int,
        host: str = "127.0.0.1",
        settings: Mapping[str, str] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.port = port
        self.host = host
        self.settings = dict(settings or {})
        # Sockets and the server log sit beside the data dir: initdb wants the data dir empty.
        self.run_dir = self.data_dir.parent / f"{self.data_dir.name}.run"
        self.log_file = self.run_dir / "postgres.log"
        self._socket_dir: Path | None = None
        self._bin_dir: Path | None = None

    # -- paths and commands -------------------------------------------------------------

    @property
    def bin_dir(self) -> Path:
        """The server binaries in use (found lazily, so dsn() works without them)."""
        if self._bin_dir is None:
            self._bin_dir = find_pg_bin()
        return self._bin_dir

    @staticmethod
    def _as_root() -> bool:
        return os.geteuid() == 0

    def _as_pg_user(self, argv: Sequence[str]) -> list[str]:
        # Postgres refuses to run as root, so root hands the server tools to the postgres user.
        if not self._as_root():
            return list(argv)
        if shutil.which("runuser"):
            return ["runuser", "-u", PG_OS_USER, "--", *argv]
        if shutil.which("setpriv"):
            return [
                "setpriv",
                f"--reuid={PG_OS_USER}",
                f"--regid={PG_OS_USER}",
                "--init-groups",
                "--",
                *argv,
            ]
        raise RuntimeError("running as root needs runuser or setpriv (util-linux) to drop to postgres")

    def _run(
        self, argv: Sequence[str], *, timeout: float, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        # cwd "/" because the postgres user may not be allowed into the caller's cwd (/root).
        result = subprocess.run(
            argv,
            cwd="/",
            env=_clean_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"{shlex.join(argv)} failed with exit code {result.returncode}:\n"
                f"{result.stdout}{result.stderr}{self._log_tail()}"
            )
        return result

    def _log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return ""
        tail = "\n".join(text.splitlines()[-lines:])
        return f"\n--- tail of {self.log_file} ---\n{tail}"

    def _pg_ctl(self, *args: str, timeout: float, check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = [str(self.bin_dir / "pg_ctl"), *args, "-D", str(self.data_dir)]
        return self._run(self._as_pg_user(argv), timeout=timeout, check=check)

    def _is_running(self) -> bool:
        if not (self.data_dir / "PG_VERSION").is_file():
            return False
        # pg_ctl status: 0 running, 3 not running, 4 no usable data directory.
        return self._pg_ctl("status", timeout=30, check=False).returncode == 0

    def _recorded_pid(self) -> int | None:
        """The process id `postmaster.pid` names, which a killed server leaves behind; None without one."""
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def postmaster_pid(self) -> int | None:
        """The running server's process id, from its `postmaster.pid`; None when none runs.

        Cheaper than `pg_ctl status` (no process started), for a supervisor that asks often.
        """
        pid = self._recorded_pid()
        if pid is None:
            return None
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError):
            return None
        # The file outlives a killed server, and its number may since be another process's.
        ours = str(self.data_dir).encode() in argv
        return pid if ours and state not in ("Z", "X") else None

    def _wait_out_a_dead_server(self, timeout: float) -> None:
        """After the server was killed, wait until its process is reaped and its backends have left.

        Until then `pg_ctl` and Postgres itself read the old `postmaster.pid` as a server still
        running, and the shared memory as still in use, and refuse to start.
        """
        pid = self._recorded_pid()
        if pid is None or self.postmaster_pid() is not None:
            return
        deadline = time.monotonic() + timeout
        while Path(f"/proc/{pid}").exists() or self._orphaned_backends():
            if time.monotonic() >= deadline:
                raise RuntimeError(f"the killed Postgres (pid {pid}) or its backends are still there")
            time.sleep(0.1)

    def _orphaned_backends(self) -> list[int]:
        """Backends of this cluster whose postmaster is gone, by their open data directory."""
        found = []
        data_dir = str(self.data_dir.resolve())
        for proc_dir in Path("/proc").iterdir():
            if not proc_dir.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                if os.readlink(proc_dir / "cwd") == data_dir:
                    found.append(int(proc_dir.name))
        return found

    # -- directories and ownership ------------------------------------------------------

    def _give_to_pg_user(self, path: Path) -> None:
        if not self._as_root():
            return
        user = pwd.getpwnam(PG_OS_USER)
        if path.stat().st_uid != user.pw_uid:
            for root, dirs, files in os.walk(path):
                os.chown(root, user.pw_uid, user.pw_gid)
                for name in dirs + files:
                    os.chown(os.path.join(root, name), user.pw_uid, user.pw_gid, follow_symlinks=False)

    def _let_pg_user_traverse(self, path: Path) -> None:
        # pytest's tmp dirs (/tmp/pytest-of-root) and /root are 0700: without the search bit
        # the postgres user cannot reach its own data dir below them. Only search (x), never
        # read, is added, so the directories stay unlistable to others.
        if not self._as_root():
            return
        user = pwd.getpwnam(PG_OS_USER)
        groups = set(os.getgrouplist(PG_OS_USER, user.pw_gid))
        for directory in [path, *path.parents]:
            st = directory.stat()
            if st.st_uid == user.pw_uid:
                allowed = bool(st.st_mode & stat.S_IXUSR)
            elif st.st_gid in groups:
                allowed = bool(st.st_mode & stat.S_IXGRP)
            else:
                allowed = bool(st.st_mode & stat.S_IXOTH)
            if not allowed:
                os.chmod(directory, stat.S_IMODE(st.st_mode) | stat.S_IXOTH)

    def _prepare_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._let_pg_user_traverse(self.data_dir.parent)
        self._give_to_pg_user(self.data_dir)
        self._give_to_pg_user(self.run_dir)
        self.data_dir.chmod(0o700)
        socket_dir = self.run_dir
        if len(str(socket_dir / f".s.PGSQL.{self.port}")) > _MAX_SOCKET_PATH:
            socket_dir = Path(tempfile.mkdtemp(prefix="mpe-pg-"))
            self._let_pg_user_traverse(socket_dir)
            self._give_to_pg_user(socket_dir)
        self._socket_dir = socket_dir

    # -- lifecycle ----------------------------------------------------------------------

    def start(self, timeout: float = 60) -> None:
        """Initialise the cluster on first use, then start it and wait until it accepts connections."""
        refuse_servers_in_unit_lane("Postgres")
        self._wait_out_a_dead_server(timeout)
        if self._is_running():
            # Left over by a launcher that died: restart so our port and settings apply.
            self.stop()
        if port_is_listening(self.host, self.port):
            raise RuntimeError(f"port {self.host}:{self.port} is already in use")
        self._prepare_dirs()
        assert self._socket_dir is not None
        if not (self.data_dir / "PG_VERSION").is_file():
            initdb = [
                str(self.bin_dir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                # A throwaway cluster: skipping the final fsync makes initdb several times faster.
                "--no-sync",
            ]
            self._run(self._as_pg_user(initdb), timeout=max(timeout, 60))
        options = [
            "-p",
            str(self.port),
            "-h",
            self.host,
            "-k",
            str(self._socket_dir),
        ]
        for name, value in self.settings.items():
            options += ["-c", f"{name}={value}"]
        self._pg_ctl(
            "start",
            "-w",
            "-t",
            str(max(1, int(timeout))),
            "-l",
            str(self.log_file),
            "-o",
            shlex.join(options),
            timeout=timeout + 10,
        )

    def stop(self) -> None:
        """Stop the server with a fast shutdown; does nothing if it is not running."""
        if self._is_running():
            self._pg_ctl("stop", "-m", "fast", "-w", "-t", "60", timeout=70)
            wait_for_port_closed(self.host, self.port, timeout=10)
        if self._socket_dir is not None and self._socket_dir != self.run_dir:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- databases ----------------------------------------------------------------------

    def dsn(self, database: str = "postgres", *, user: str = SUPERUSER) -> str:
        """Return a libpq/asyncpg URL for database as the superuser (or another role)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"postgresql://{quote(user, safe='')}@{host}:{self.port}/{quote(database, safe='')}"

    def ensure_role(self, name: str) -> None:
        """Create a login role unless it exists (trust auth here: no password)."""
        self._psql(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {_quote_literal(name)})"
            f" THEN CREATE ROLE {_quote_ident(name)} LOGIN; END IF; END $$"
        )

    def database_owner(self, name: str) -> str:
        """The role owning database name."""
        result = self._psql(
            f"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = {_quote_literal(name)}"
        )
        return result.stdout.strip()

    def set_database_owner(self, name: str, owner: str) -> None:
        """Hand database name to owner (it may then create in its public schema)."""
        self._psql(f"ALTER DATABASE {_quote_ident(name)} OWNER TO {_quote_ident(owner)}")

    def _psql(self, sql: str, *, check: bool = True) -> subprocess.CompletedProcess[str]:
        # Client tools connect over TCP as the superuser (trust auth), so no user switch.
        argv = [
            str(self.bin_dir / "psql"),
            "-X",
            "-q",
            "-tA",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            self.dsn(),
            "-c",
            sql,
        ]
        return self._run(argv, timeout=60, check=check)

    def database_exists(self, name: str) -> bool:
        """Return True if a database called name exists."""
        result = self._psql(f"SELECT 1 FROM pg_database WHERE datname = {_quote_literal(name)}")
        return result.stdout.strip() == "1"

    def create_database(self, name: str) -> None:
        """Create database name unless it already exists."""
        if self.database_exists(name):
            return
        result = self._psql(f"CREATE DATABASE {_quote_ident(name)}", check=False)
        # Someone else may have created it between the check and here.
        if result.returncode != 0 and "already exists" not in result.stderr:
            raise RuntimeError(f"CREATE DATABASE {name} failed: {result.stderr.strip()}")

    def drop_database(self, name: str) -> None:
        """Drop database name, closing its open connections; no error if it does not exist."""
        self._psql(f"DROP DATABASE IF EXISTS {_quote_ident(name)} WITH (FORCE)")


@contextlib.asynccontextmanager
async def throwaway_database(
    wanted: list[migrations.Migration], name: str = "bench"
) -> AsyncIterator[tuple[PostgresServer, str]]:
    """A Postgres in a temporary directory (fsync off) with the database `name` migrated: the
    server (for more databases) and that database's DSN. Stopped on the way out; for the bench
    scripts, which want numbers from a database of their own, not from a test's template."""
    with tempfile.TemporaryDirectory() as tmp:
        server = PostgresServer(Path(tmp) / "pg", port=free_port(), settings={"fsync": "off"})
        server.start()
        try:
            server.create_database(name)
            dsn = server.dsn(name)
            await migrations.migrate(dsn, wanted)
            yield server, dsn
        finally:
            server.stop()
