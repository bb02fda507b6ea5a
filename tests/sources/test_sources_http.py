"""The HTTP source against a real HTTP server on localhost.

The server (``source_system.ApiServer``, ``http.server`` in a thread) is a stand-in for
the integration system's API: the one outside system these tests cannot run, and the one
place a stand-in is right. It speaks what ``docs/examples/source-http.yml`` describes
(token auth, pageNum/pageSize pages, a code/msg envelope, pinyin field names for
payments), serves the demo generator's Pingluo County data, and fails on request: 5xx
answers, a request that never answers, 4xx refusals.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import TOKEN
from source_system import (
    API_PATHS,
    HTTP_EXAMPLE,
    ApiServer,
    api_records,
    expected_counts,
    self_signed_certificate,
)

from budgetperf.ingest import load_landing
from budgetperf.sources import (
    SourceConfigError,
    SourceConnection,
    SourceDataError,
    SourceRefused,
    SourceSettings,
    SourceUnavailable,
    open_source,
    pull_delivery,
)
from budgetperf.sources.base import Source

YEAR_END = dt.date(2021, 12, 31)
SEPTEMBER = dt.date(2021, 9, 30)


def fast_config(tmp_path: Path, *, only: tuple[str, ...] = (), **changes: Any) -> Path:
    """The committed example, with waits short enough for a test: a 1 s timeout (the
    request the server never answers costs that much) and millisecond backoffs; ``only``
    keeps some entities."""
    config = yaml.safe_load(HTTP_EXAMPLE.read_text(encoding="utf-8"))
    if only:
        config["entities"] = {k: v for k, v in config["entities"].items() if k in only}
    config.update(
        {"timeout_seconds": 1, "backoff_seconds": 0.01, "max_backoff_seconds": 0.05, **changes}
    )
    path = tmp_path / "source-http.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def http_source(url: str, config: Path) -> Source:
    settings = SourceSettings(
        kind="http", conn_id="budgetperf_source", config_path=config, state_dir=Path("/unused")
    )
    return open_source(settings, SourceConnection.from_url(url, "budgetperf_source"))


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_api_pull_survives_5xx_and_a_timeout_and_loads_cleanly(
    api: ApiServer,
    source_rows: dict[str, list[dict[str, Any]]],
    landing: Path,
    tmp_path: Path,
    warehouse_url: str,
) -> None:
    api.fail[("/projects", 2)] = [503, 502]  # the second page fails twice, then answers
    api.hang.add(("/departments", 1))  # the first request never answers
    source = http_source(api.url(), fast_config(tmp_path))
    result = pull_delivery(source, landing, YEAR_END, state_dir=tmp_path / "state")
    assert result.status == "created"
    assert api.count("/projects", 2) == 3
    assert api.count("/departments", 1) == 2
    expected = expected_counts(source_rows, YEAR_END)
    assert {e.entity: e.rows for e in result.entities} == expected

    report = load_landing(warehouse_url, landing)
    assert {f.status for f in report.files} == {"loaded"}, [
        (f.file_path, f.reason) for f in report.files
    ]
    assert sum(f.rows_rejected for f in report.files) == 0 and report.findings == []
    assert {f.entity: f.rows_loaded for f in report.files} == expected

    # the API has not changed: the same bytes, and the loader skips every file
    before = folder_bytes(landing / "20211231")
    again = pull_delivery(source, landing, YEAR_END, state_dir=tmp_path / "state")
    assert again.status == "unchanged"
    assert folder_bytes(landing / "20211231") == before
    skipped = load_landing(warehouse_url, landing)
    assert len(skipped.files) == len(expected)
    assert {f.status for f in skipped.files} == {"skipped"}, [
        (f.file_path, f.status, f.reason) for f in skipped.files
    ]
    # each one as the load of the first pass: nothing was loaded twice
    assert {f.load_id for f in skipped.files} == {f.load_id for f in report.files}


def test_a_refusal_fails_at_once_naming_endpoint_status_and_body(
    api: ApiServer, landing: Path, tmp_path: Path
) -> None:
    config = fast_config(tmp_path)
    api.refuse["/payments"] = (403, '{"code": 403, "msg": "无权访问支付明细，请联系系统管理员"}')
    with pytest.raises(SourceRefused) as refused:
        pull_delivery(http_source(api.url(), config), landing, YEAR_END, state_dir=tmp_path)
    message = str(refused.value)
    assert refused.value.entity == "budget_execution"
    assert f"GET http://127.0.0.1:{api.port}/api/v1/payments?" in message, message
    assert "403 Forbidden" in message and "无权访问支付明细" in message, message
    assert api.count("/payments") == 1  # a 4xx is not retried
    assert sorted(p.name for p in landing.iterdir()) == [".pull.lock"]  # no delivery

    with pytest.raises(SourceRefused) as bad_token:
        pull_delivery(
            http_source(api.url(token="expired"), config), landing, YEAR_END, state_dir=tmp_path
        )
    assert "401 Unauthorized" in str(bad_token.value) and "token无效" in str(bad_token.value)
    assert "expired" not in str(bad_token.value) and TOKEN not in message


def test_a_server_that_keeps_failing_is_given_up_on_as_unavailable(
    api: ApiServer, landing: Path, tmp_path: Path
) -> None:
    api.fail[("/departments", 1)] = [503] * 10
    source = http_source(api.url(), fast_config(tmp_path, retries=2))
    with pytest.raises(SourceUnavailable) as unavailable:
        pull_delivery(source, landing, YEAR_END, state_dir=tmp_path)
    assert unavailable.value.transient  # the sensor tries again at its next poke
    assert "503" in str(unavailable.value) and "gave up after 3 attempts" in str(unavailable.value)
    assert api.count("/departments", 1) == 3


def test_incremental_api_pull_equals_a_full_pull_byte_for_byte(
    source_rows: dict[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    september = {
        entity: [
            r
            for r in rows
            if entity not in ("budget_execution", "indicator_actuals")
            or r["payment_date" if entity == "budget_execution" else "as_of"] <= SEPTEMBER
        ]
        for entity, rows in source_rows.items()
    }
    # the entity pulled incrementally (payments, by their change timestamp), and one not
    config = fast_config(tmp_path, only=("departments", "budget_execution"))
    landing, state = tmp_path / "landing", tmp_path / "state"
    with ApiServer(september, TOKEN) as server:
        first = pull_delivery(
            http_source(server.url(), config), landing, SEPTEMBER, state_dir=state
        )
        assert {e.mode for e in first.entities} == {"full"}

        # the quarter's payments arrive and an early payment is corrected
        year_end = {API_PATHS[e]: api_records(e, rows) for e, rows in source_rows.items()}
        payments = year_end["/payments"]
        payments[6] = {
            **payments[6],
            "skf": "宁夏更正后收款单位有限公司",
            "gxsj": "2021-11-15T10:00:00",
        }
        server.records = year_end
        incremental = pull_delivery(
            http_source(server.url(), config), landing, YEAR_END, state_dir=state
        )
        pulled = {e.entity: e for e in incremental.entities}
        assert pulled["budget_execution"].mode == "incremental"
        assert pulled["departments"].mode == "full"
        later = len(payments) - len(september["budget_execution"])
        assert later + 1 <= pulled["budget_execution"].fetched < later + 1000
        since = [q.get("updatedSince") for p, q in server.requests if p == "/payments"][-1]
        assert since is not None and since.startswith("2021-09-2")  # watermark - lookback

        full = pull_delivery(
            http_source(server.url(), config),
            tmp_path / "full",
            YEAR_END,
            state_dir=tmp_path / "state-full",
        )
    assert {e.mode for e in full.entities} == {"full"}
    assert folder_bytes(landing / "20211231") == folder_bytes(tmp_path / "full" / "20211231")


def test_paging_by_next_token_gives_the_same_delivery(api: ApiServer, tmp_path: Path) -> None:
    entities = ("departments", "projects")
    by_page = pull_delivery(
        http_source(api.url(), fast_config(tmp_path, only=entities, page_size=100)),
        tmp_path / "a",
        YEAR_END,
        state_dir=tmp_path / "sa",
    )
    by_next = pull_delivery(
        http_source(
            api.url(),
            fast_config(
                tmp_path,
                only=entities,
                page_size=100,
                pagination={
                    "style": "next",
                    "size_param": "pageSize",
                    "next_field": "data.next",
                    "next_param": "cursor",
                },
            ),
        ),
        tmp_path / "b",
        YEAR_END,
        state_dir=tmp_path / "sb",
    )
    assert [e.sha256 for e in by_next.entities] == [e.sha256 for e in by_page.entities]
    assert api.count("/projects") == 2 * 14  # 1,306 projects in pages of 100, both ways


def test_an_api_that_ignores_the_paging_parameters_is_not_read_forever(
    api: ApiServer, landing: Path, tmp_path: Path
) -> None:
    config = fast_config(
        tmp_path, only=("projects",), page_size=100, pagination={"page_param": "page"}
    )
    with pytest.raises(SourceDataError, match="returned the same page twice"):
        pull_delivery(http_source(api.url(), config), landing, YEAR_END, state_dir=tmp_path)
    assert api.count("/projects") == 2


def test_https_with_the_bureaus_own_certificate_authority(
    source_rows: dict[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    cert, key = self_signed_certificate(tmp_path)
    config = fast_config(tmp_path, only=("departments",))
    with ApiServer(source_rows, TOKEN, tls=(cert, key)) as server:
        # not signed by a public CA: refused at once (retrying cannot fix trust)
        with pytest.raises(SourceConfigError, match="TLS certificate is not trusted"):
            pull_delivery(
                http_source(server.url(), config), tmp_path / "l", YEAR_END, state_dir=tmp_path
            )
        trusted = http_source(f"{server.url()}?verify={cert}", config)
        result = pull_delivery(trusted, tmp_path / "landing", YEAR_END, state_dir=tmp_path)
    assert result.entities[0].rows == len(source_rows["departments"])
    assert server.count("/departments") == 1


def test_plain_http_is_refused_off_this_machine(tmp_path: Path) -> None:
    config = fast_config(tmp_path)
    with pytest.raises(SourceConfigError) as refused:
        http_source("http://:secret-token@yth.example.gov.cn/api/v1", config)
    assert "clear text" in str(refused.value) and "secret-token" not in str(refused.value)
    # https, or an explicit opt-in for a trusted network, is accepted
    http_source("https://:secret-token@yth.example.gov.cn/api/v1", config)
    http_source("http://:secret-token@yth.example.gov.cn/api/v1?allow_http=true", config)


# A `budgetperf pull` that dies (os._exit: no handler runs, as with SIGKILL or a power cut)
# right after moving the delivery it replaces aside, before its own folder takes its place.
_KILLED_BETWEEN_RENAMES = """
import os, sys
from budgetperf.sources import delivery
rename = os.rename
def rename_then_die(src, dst):
    rename(src, dst)
    if os.path.basename(dst).startswith(delivery.PREVIOUS_PREFIX):
        os._exit(9)
os.rename = rename_then_die
from budgetperf.cli import main
sys.exit(main(["pull", "--checkpoint", "2021-12-31"]))
"""


def test_a_pull_killed_while_replacing_a_delivery_does_not_lose_it(
    api: ApiServer, tmp_path: Path
) -> None:
    import os
    import subprocess
    import sys

    from budgetperf.ingest.landing import discover

    config = fast_config(tmp_path, only=("departments",), retries=0)
    landing, state = tmp_path / "landing", tmp_path / "state"
    first = pull_delivery(http_source(api.url(), config), landing, YEAR_END, state_dir=state)
    assert first.status == "created"
    delivered = landing / "20211231"
    before = folder_bytes(delivered)

    # the source corrects a department: the next pull replaces the delivery, and dies
    departments = api.records["/departments"]
    departments[0] = {**departments[0], "department_name": "平罗县更正后单位名称"}
    env = {
        **os.environ,
        "BUDGETPERF_HOME": str(tmp_path / "home"),
        "BUDGETPERF_LANDING": str(landing),
        "BUDGETPERF_SOURCE": "http",
        "BUDGETPERF_SOURCE_CONFIG": str(config),
        "BUDGETPERF_SOURCE_URL": api.url(),
    }
    killed = subprocess.run(
        [sys.executable, "-c", _KILLED_BETWEEN_RENAMES],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == 9, killed.stdout + killed.stderr  # died where intended
    # the delivery is gone from its place, but whole under the hidden name
    assert not delivered.exists()
    assert folder_bytes(landing / ".pull-previous-20211231") == before
    deliveries, findings = discover(landing)
    assert deliveries == [] and findings == []  # the loader reads nothing half-replaced

    # the next pull puts it back first thing, even though the source then fails it
    api.fail[("/departments", 1)] = [503]
    with pytest.raises(SourceUnavailable):
        pull_delivery(http_source(api.url(), config), landing, YEAR_END, state_dir=state)
    assert folder_bytes(delivered) == before
    assert sorted(p.name for p in landing.iterdir()) == [".pull.lock", "20211231"]

    # and a pull that succeeds replaces it with the correction
    done = pull_delivery(http_source(api.url(), config), landing, YEAR_END, state_dir=state)
    assert done.status == "replaced"
    assert "平罗县更正后单位名称" in (delivered / "departments.csv").read_text(encoding="utf-8")
    assert sorted(p.name for p in landing.iterdir()) == [".pull.lock", "20211231"]
