"""The embedded warehouse: a private PostgreSQL from the ``pgserver`` wheel's binaries.

We run the bundled ``initdb``/``pg_ctl`` ourselves (rather than pgserver's Python API) so
the server listens on 127.0.0.1 on a TCP port with a password: Airflow connections, dbt,
Great Expectations and BI tools all want TCP. The server outlives the command that
started it and is reused by every later command until ``budgetperf warehouse stop``.

PostgreSQL refuses to run as root, so under root the cluster belongs to a dedicated
system user (``budgetperf-pg``) created on first use.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

DATABASE = "budgetperf"
SUPERUSER = "postgres"
SYSTEM_USER = "budgetperf-pg"


class WarehouseError(RuntimeError):
    """The embedded warehouse could not be started, stopped or reached."""


@dataclass(frozen=True)
class EmbeddedStatus:
    running: bool
    port: int | None
    pid: int | None
    data_dir: Path


def pg_binary(name: str) -> str:
    # Find the wheel without importing it: pgserver's __init__ has side effects we do not use.
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise WarehouseError("the pgserver wheel is not installed; run `make env`")
    path = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin" / name
    if not path.exists():
        raise WarehouseError(f"pgserver wheel has no {name} at {path}")
    return str(path)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # PostgreSQL binds with SO_REUSEADDR too: a port in TIME_WAIT is still ours to reuse
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class EmbeddedWarehouse:
    """One PostgreSQL cluster under ``<home>/warehouse``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.data_dir = directory / "data"
        self.state_file = directory / "server.json"
        self.password_file = directory / "password"
        self.log_file = directory / "postgres.log"
        self.lock_file = directory / ".lock"

    # -- process identity -------------------------------------------------------------

    def _run_as(self) -> dict[str, int]:
        """subprocess kwargs that drop root privileges for PostgreSQL binaries."""
        if os.geteuid() != 0:
            return {}
        try:
            entry = pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            if shutil.which("useradd") is None:
                raise WarehouseError(
                    "running as root and `useradd` is missing: create a non-root user "
                    f"named {SYSTEM_USER} or run budgetperf as a normal user"
                ) from None
            subprocess.run(
                [
                    "useradd",
                    "--system",
                    "--no-create-home",
                    "--shell",
                    "/usr/sbin/nologin",
                    SYSTEM_USER,
                ],
                check=True,
                capture_output=True,
            )
            entry = pwd.getpwnam(SYSTEM_USER)
        return {"user": entry.pw_uid, "group": entry.pw_gid}

    def _chown_for_server(self, path: Path) -> None:
        ids = self._run_as()
        if ids:
            os.chown(path, ids["user"], ids["group"])
            # every parent must be traversable by the server's user
            for parent in path.resolve().parents:
                mode = parent.stat().st_mode
                if mode & 0o001 == 0:
                    parent.chmod(mode | 0o011)

    def _pg(self, name: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        ids = self._run_as()
        return subprocess.run(
            [pg_binary(name), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=str(self.directory),
            user=ids.get("user"),
            group=ids.get("group"),
        )

    # -- state ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.lock_file, "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _read_state(self) -> dict[str, int]:
        if not self.state_file.exists():
            return {}
        return dict(json.loads(self.state_file.read_text()))

    def _password(self) -> str:
        return self.password_file.read_text().strip()

    def is_initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def status(self) -> EmbeddedStatus:
        pid_file = self.data_dir / "postmaster.pid"
        state = self._read_state()
        if not pid_file.exists():
            return EmbeddedStatus(False, state.get("port"), None, self.data_dir)
        lines = pid_file.read_text().splitlines()
        pid = int(lines[0]) if lines and lines[0].strip().isdigit() else None
        alive = False
        if pid is not None:
            try:
                os.kill(pid, 0)
                alive = True
            except ProcessLookupError:
                alive = False
            except PermissionError:
                alive = True
        port = int(lines[3]) if alive and len(lines) > 3 and lines[3].strip().isdigit() else None
        return EmbeddedStatus(
            alive, port or state.get("port"), pid if alive else None, self.data_dir
        )

    def url(self, database: str = DATABASE) -> str:
        state = self._read_state()
        if "port" not in state or not self.password_file.exists():
            raise WarehouseError("the embedded warehouse has never been started")
        password = quote(self._password(), safe="")
        return f"postgresql://{SUPERUSER}:{password}@127.0.0.1:{state['port']}/{database}"

    # -- lifecycle -----------------------------------------------------------------------

    def _initdb(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if not self.password_file.exists():
            self.password_file.write_text(secrets.token_hex(16) + "\n")
        self.password_file.chmod(0o600)
        if self.data_dir.exists() and any(self.data_dir.iterdir()):
            raise WarehouseError(
                f"{self.data_dir} exists but holds no PostgreSQL cluster; move it away"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        self._chown_for_server(self.data_dir)
        # initdb reads the password from a file the server user can read
        pwfile = self.directory / ".initdb-pw"
        pwfile.write_text(self._password() + "\n")
        self._chown_for_server(pwfile)
        try:
            result = self._pg(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--pwfile",
                str(pwfile),
                "--auth-host=scram-sha-256",
                "--auth-local=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise WarehouseError(f"initdb failed:\n{result.stderr or result.stdout}")

    def start(self) -> str:
        """Start the server if needed and return its URL. Safe to call concurrently."""
        with self._locked():
            if not self.is_initialized():
                self._initdb()
            current = self.status()
            if not current.running:
                state = self._read_state()
                port = state.get("port")
                if port is None or not _port_is_free(port):
                    port = _free_port()
                if not self.log_file.exists():
                    self.log_file.touch()
                self._chown_for_server(self.log_file)
                # work_mem: the gates and dbt aggregate millions of payments per
                # checkpoint at province scale; 4 MB (the default) spills them to disk
                options = (
                    f"-c listen_addresses=127.0.0.1 -p {port} "
                    "-c unix_socket_directories='' -c max_connections=200 "
                    "-c shared_buffers=256MB -c work_mem=64MB -c fsync=on"
                )
                result = self._pg(
                    "pg_ctl",
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_file),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                )
                if result.returncode != 0:
                    tail = self.log_file.read_text(errors="replace")[-2000:]
                    raise WarehouseError(f"pg_ctl start failed: {result.stderr.strip()}\n{tail}")
                self.state_file.write_text(json.dumps({"port": port}) + "\n")
            self._wait_until_accepting()
            self._ensure_database()
            return self.url()

    def _wait_until_accepting(self, timeout: float = 30) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                with psycopg.connect(self.url("postgres"), connect_timeout=3):
                    return
            except psycopg.OperationalError as exc:
                last = exc
                time.sleep(0.2)
        raise WarehouseError(f"embedded warehouse did not accept connections: {last}")

    def _ensure_database(self) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "select 1 from pg_database where datname = %s", (DATABASE,)
            ).fetchone()
            if not exists:
                conn.execute(f'create database "{DATABASE}"')

    def stop(self) -> bool:
        """Stop the server; return whether it was running."""
        with self._locked():
            if not self.status().running:
                return False
            result = self._pg("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
            if result.returncode != 0:
                raise WarehouseError(f"pg_ctl stop failed: {result.stderr.strip()}")
            return True
