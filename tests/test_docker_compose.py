"""docker-compose.yml cannot run here (no Docker engine), so its promises are checked
by reading it: the services of the production stack, pinned images, secrets only from
.env, one shared JWT secret, healthchecks, and the data folders as volumes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[1]
AIRFLOW_SERVICES = (
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((PROJECT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_the_stack_has_every_service(compose: dict) -> None:
    services = set(compose["services"])
    assert {"postgres", "redis", "mailpit", "airflow-init", *AIRFLOW_SERVICES} <= services


def test_images_are_pinned_by_version(compose: dict) -> None:
    for name, service in compose["services"].items():
        image = service.get("image")
        assert image, f"{name} has no image"
        repository, _, tag = image.rpartition(":")
        assert repository and tag and tag != "latest", f"{name} image {image} is not pinned"
        assert re.search(r"\d", tag), f"{name} image {image} has no version in its tag"
    assert compose["services"]["postgres"]["image"].split(":")[1].startswith("16")


def test_airflow_runs_celery_with_one_shared_jwt_secret_from_env(compose: dict) -> None:
    secrets = set()
    for name in AIRFLOW_SERVICES:
        env = compose["services"][name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:")
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].startswith(
            "http://airflow-apiserver:"
        )
        secrets.add(env["AIRFLOW__API_AUTH__JWT_SECRET"])
    assert len(secrets) == 1
    assert next(iter(secrets)).startswith("${AIRFLOW_JWT_SECRET")


def test_metadata_and_warehouse_are_separate_databases(compose: dict) -> None:
    env = compose["services"]["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("@postgres:5432/airflow")
    assert "mailpit" in env["AIRFLOW_CONN_SMTP_DEFAULT"]


def test_tasks_reach_the_warehouse_only_through_their_roles(compose: dict) -> None:
    for name in AIRFLOW_SERVICES:
        env = compose["services"][name]["environment"]
        for role in ("LOADER", "TRANSFORMER", "QUALITY", "PUBLISHER"):
            url = env[f"AIRFLOW_CONN_BUDGETPERF_{role}"]
            assert url.startswith(f"postgresql://budgetperf_{role.lower()}:${{")
            assert url.endswith("@postgres:5432/budgetperf")
        # the owner's credentials are only given to the init service
        assert "BUDGETPERF_WAREHOUSE_URL" not in env
    init_env = compose["services"]["airflow-init"]["environment"]
    assert init_env["BUDGETPERF_WAREHOUSE_URL"].startswith("postgresql://budgetperf:${")


def test_no_secret_is_written_in_the_file(compose: dict) -> None:
    text = (PROJECT / "docker-compose.yml").read_text(encoding="utf-8")
    keys = r"^\s*([A-Z_]*(?:PASSWORD|SECRET|FERNET_KEY)[A-Z_]*):\s*(\S+)"
    for match in re.finditer(keys, text, flags=re.MULTILINE):
        assert match.group(2).startswith("${"), f"literal secret in {match.group(0)}"
    for url in re.findall(r"postgresql(?:\+psycopg)?://[^@\s]+@", text):
        password = url.split("://", 1)[1].split(":", 1)[1].rstrip("@")
        assert password.startswith("${"), f"literal password in {url}"
    assert (PROJECT / ".env.example").is_file()
    assert ".env" in (PROJECT / ".gitignore").read_text().splitlines()


def test_long_running_services_have_healthchecks(compose: dict) -> None:
    for name, service in compose["services"].items():
        if name == "airflow-init":
            assert service.get("restart") == "no"
            continue
        assert "healthcheck" in service, f"{name} has no healthcheck"


def test_landing_and_quality_results_are_volumes(compose: dict) -> None:
    mounts = compose["services"]["airflow-worker"]["volumes"]
    targets = {m.split(":")[1] for m in mounts}
    assert "/opt/budgetperf/landing" in targets
    assert "/opt/budgetperf/gx" in targets
    assert {"landing", "gx-results"} <= set(compose["volumes"])
