"""Running `budgetperf run` as a user would, for the end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BUDGETPERF = str(Path(sys.executable).parent / "budgetperf")


def run_env(home: Path, url: str | None, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    for key in (
        "BUDGETPERF_LANDING",
        "BUDGETPERF_OUTBOX",
        "BUDGETPERF_OUTPUTS",
        "BUDGETPERF_WAREHOUSE_URL",
        "AIRFLOW_CONN_SMTP_DEFAULT",  # mail goes to the outbox folder
        "AIRFLOW_HOME",  # Airflow's folder is the home's
    ):
        env.pop(key, None)
    env["BUDGETPERF_HOME"] = str(home)
    if url:
        env["BUDGETPERF_WAREHOUSE_URL"] = url
    env.update(extra)
    return env


def start_run(
    checkpoint: str, env: dict[str, str], landing: Path | None = None
) -> subprocess.Popen[str]:
    command = [BUDGETPERF, "run", "--checkpoint", checkpoint]
    if landing is not None:
        command += ["--landing", str(landing)]
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def run(
    checkpoint: str, env: dict[str, str], landing: Path | None = None, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    process = start_run(checkpoint, env, landing)
    out, _ = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, out, "")


def run_log(home: Path, checkpoint: str) -> str:
    return (home / "logs" / f"run-{checkpoint}.log").read_text(encoding="utf-8")


def run_airflow(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`budgetperf airflow ...` with the same environment as the runs."""
    return subprocess.run(
        [BUDGETPERF, "airflow", *args], env=env, capture_output=True, text=True, timeout=300
    )


class Inbox:
    """A real SMTP server (aiosmtpd) on localhost that records what it receives; it can be
    stopped and started again on the same port to simulate an outage."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[bytes] = []
        self._controller: object | None = None

    def start(self) -> Inbox:
        from aiosmtpd.controller import Controller

        inbox = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                inbox.messages.append(envelope.original_content or envelope.content)
                return "250 OK"

        controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        controller.start()
        self._controller = controller
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()  # type: ignore[attr-defined]
            self._controller = None

    def __enter__(self) -> Inbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def parsed(self) -> list:
        from email import message_from_bytes, policy

        return [message_from_bytes(m, policy=policy.default) for m in self.messages]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def smtp_connection(port: int) -> str:
    import json

    return json.dumps(
        {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": port,
            "extra": {"disable_tls": True, "disable_ssl": True, "timeout": 5},
        }
    )
