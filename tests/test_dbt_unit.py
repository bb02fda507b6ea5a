"""The dbt unit tests (one per rule edge of DOMAIN.md R1–R9) run here, in CI, on empty
relations of a real PostgreSQL; the pipeline's builds skip them, as dbt advises. The same
empty relations show that every column of every model, seed and source is documented."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from budgetperf.settings import Settings, load_settings
from budgetperf.transform import run_dbt
from budgetperf.warehouse.migrate import migrate
from budgetperf.warehouse.roles import role_url

pytestmark = pytest.mark.xdist_group("dbt")

CHINESE = re.compile(r"[\u4e00-\u9fff]")
ENGLISH = re.compile(r"[A-Za-z]{3}")


@pytest.fixture(scope="module")
def empty_build(
    tmp_path_factory: pytest.TempPathFactory, database_factory: Callable[[], str]
) -> tuple[Settings, str]:
    """Seeds and every model built empty (``dbt run --empty``) as the transformer role."""
    url = database_factory()
    migrate(url)
    settings = load_settings({"BUDGETPERF_HOME": str(tmp_path_factory.mktemp("dbt-home"))})
    transformer = role_url(url, "transformer")
    run_dbt(settings, transformer, ["seed"], echo=False)
    run_dbt(settings, transformer, ["run", "--empty"], echo=False)
    return settings, transformer


def test_every_rule_unit_test_passes(empty_build: tuple[Settings, str]) -> None:
    settings, url = empty_build
    output = run_dbt(settings, url, ["test", "--select", "test_type:unit"], echo=False)
    summary = next(line for line in output.splitlines() if "Done. PASS=" in line)
    passed = int(summary.split("PASS=")[1].split()[0])
    assert passed >= 25, summary
    assert "ERROR=0" in summary and "WARN=0" in summary, summary


def test_every_column_is_documented_in_chinese_and_english(
    empty_build: tuple[Settings, str],
) -> None:
    """dbt's catalog (the columns the relations really have) against its manifest (the
    columns the YAML documents): same names, each with a Chinese and an English text."""
    settings, url = empty_build
    run_dbt(settings, url, ["docs", "generate"], echo=False)
    target = Path(settings.home) / "dbt" / "target"
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    catalog = json.loads((target / "catalog.json").read_text(encoding="utf-8"))
    problems: list[str] = []
    for unique_id, relation in {**catalog["nodes"], **catalog["sources"]}.items():
        node = manifest["nodes"].get(unique_id) or manifest["sources"][unique_id]
        actual = {name.lower() for name in relation["columns"]}
        documented = {name for name, column in node["columns"].items() if column["description"]}
        if actual - documented:
            problems.append(f"{unique_id}: undocumented {sorted(actual - documented)}")
        if documented - actual:
            problems.append(f"{unique_id}: documents missing {sorted(documented - actual)}")
        texts = {"(relation)": node["description"]} | {
            name: column["description"] for name, column in node["columns"].items()
        }
        for name, text in texts.items():
            if not (CHINESE.search(text) and ENGLISH.search(text)):
                problems.append(f"{unique_id} {name}: not in Chinese and English: {text!r}")
    assert catalog["nodes"] and catalog["sources"]
    assert problems == [], "\n".join(problems)
