"""A small distributed Airflow for the tests: api-server, scheduler, dag-processor and a
Celery worker, with the metadata in PostgreSQL and Redis as the broker, the way
docker-compose.yml runs them (no Docker engine here). The machine kind provides Redis and
PostgreSQL on localhost; `services_missing()` says why a test must skip without them."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import time
import uuid
from pathlib import Path

import psycopg

from budgetperf.airflow_env import airflow_environment, airflow_executable
from budgetperf.settings import Settings

LOCAL_POSTGRES = os.environ.get(
    "BUDGETPERF_TEST_LOCAL_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
LOCAL_REDIS = ("127.0.0.1", 6379)


def services_missing() -> str | None:
    """Why the distributed test cannot run here, or None."""
    try:
        with socket.create_connection(LOCAL_REDIS, timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            if not sock.recv(16).startswith(b"+PONG"):
                return "Redis on 127.0.0.1:6379 did not answer PING"
    except OSError as exc:
        return f"no Redis on 127.0.0.1:6379 ({exc})"
    try:
        psycopg.connect(LOCAL_POSTGRES, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        return f"no PostgreSQL at {LOCAL_POSTGRES} for Airflow's metadata ({exc})"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class AirflowCluster:
    """Airflow 3 with the CeleryExecutor over a real Redis and PostgreSQL."""

    def __init__(self, settings: Settings, warehouse_url: str, extra_env: dict[str, str]) -> None:
        self.settings = settings
        self.metadata_db = "bp_airflow_" + uuid.uuid4().hex[:10]
        self.redis_db = 9 + int(uuid.uuid4().int % 6)  # stay clear of db 0 other users take
        self.port = _free_port()
        base = LOCAL_POSTGRES.rsplit("/", 1)[0]
        env = airflow_environment(settings, warehouse_url)
        env.update(extra_env)
        env.update(
            {
                "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": (
                    f"{base.replace('postgresql://', 'postgresql+psycopg://')}/{self.metadata_db}"
                ),
                "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:6379/{self.redis_db}",
                "AIRFLOW__CELERY__RESULT_BACKEND": (
                    f"db+{base.replace('postgresql://', 'postgresql+psycopg://')}/"
                    f"{self.metadata_db}"
                ),
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": (
                    f"http://127.0.0.1:{self.port}/execution/"
                ),
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
                "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
                "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "600",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            }
        )
        self.env = env
        self.log_dir = settings.home / "cluster-logs"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def airflow(self, *args: str, timeout: float = 300) -> str:
        out = subprocess.run(
            [airflow_executable(), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if out.returncode != 0:
            raise RuntimeError(
                f"airflow {' '.join(args)} failed:\n{out.stdout[-2000:]}{out.stderr[-2000:]}"
            )
        return out.stdout

    def start(self) -> AirflowCluster:
        with psycopg.connect(LOCAL_POSTGRES, autocommit=True) as conn:
            conn.execute(f'create database "{self.metadata_db}"')
        self.settings.airflow_home.mkdir(parents=True, exist_ok=True)
        self.airflow("db", "migrate", timeout=600)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name, command in {
            "api-server": ["api-server", "--port", str(self.port), "--workers", "1"],
            "scheduler": ["scheduler"],
            "dag-processor": ["dag-processor"],
            "worker": ["celery", "worker", "--concurrency", "2"],
        }.items():
            log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 - closed by the process
            self.processes[name] = subprocess.Popen(
                [airflow_executable(), *command], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_for_api()
        return self

    def _wait_for_api(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited: see {self.log_dir / (name + '.log')}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(1)
        raise RuntimeError("the api-server never listened")

    def wait_for_dag(self, dag_id: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            listing = json.loads(self.airflow("dags", "list", "-o", "json") or "[]")
            if any(d.get("dag_id") == dag_id for d in listing):
                return
            time.sleep(3)
        raise RuntimeError(f"{dag_id} was never parsed")

    def runs(self, dag_id: str) -> list[dict]:
        return json.loads(self.airflow("dags", "list-runs", dag_id, "-o", "json") or "[]")

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        with psycopg.connect(LOCAL_POSTGRES, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{self.metadata_db}" with (force)')
        try:
            with socket.create_connection(LOCAL_REDIS, timeout=2) as sock:
                sock.sendall(f"SELECT {self.redis_db}\r\nFLUSHDB\r\n".encode())
                sock.recv(64)
        except OSError:
            pass

    def task_attempts(self) -> dict[str, int]:
        """Highest attempt number per task id, from the task log files the workers wrote."""
        attempts: dict[str, int] = {}
        for log in Path(self.env["AIRFLOW__LOGGING__BASE_LOG_FOLDER"]).rglob("attempt=*.log"):
            task = next(p.split("=", 1)[1] for p in log.parts if p.startswith("task_id="))
            number = int(log.stem.split("=", 1)[1])
            attempts[task] = max(attempts.get(task, 0), number)
        return attempts
