"""The Great Expectations project in ``expectations/gx`` and how the catalogue drives it.

How the GX objects relate to the catalogue (``expectations/rules.yml``):

- **committed** ``gx/great_expectations.yml``: the PostgreSQL datasource ``warehouse``
  (connection string a ``${BUDGETPERF_GX_DSN}`` placeholder, filled at run time, never
  written down) and one table asset per relation the catalogue names, with the batch
  definitions its rules use: ``checkpoint`` (a daily partition on ``checkpoint_date``: the
  run's point) and/or ``all`` (the whole relation). That section is *generated* from the
  catalogue by ``budgetperf quality sync-gx`` with stable ids, so a gate run never needs
  to add an asset (GX would rewrite the committed file if it did); a test fails when the
  committed file and the catalogue disagree.
- **generated at every gate run** under ``gx/uncommitted/generated/``: one expectation
  suite and one validation definition per (gate, relation, batch) — each rule becomes one
  expectation carrying its id and severity in ``meta`` — and one GX checkpoint per (gate,
  batch): ``budgetperf.<gate>.checkpoint`` runs with the run's date as batch parameters,
  ``budgetperf.<gate>.all`` on whole relations. Nobody edits these; the catalogue is the
  source.
- **results** under ``gx/uncommitted/validations/`` and the GX Data Docs site under
  ``gx/uncommitted/data_docs/local_site/`` (post-processed to open offline). The report
  people read is the self-contained one of ``budgetperf.quality.report``.

Every check runs as SQL in the warehouse (GX's SQLAlchemy execution engine computes
aggregates and runs the rule queries there; no table is read into pandas).

Gate runs that share this project directory are serialised by a file lock, because GX's
file stores are not safe for concurrent writers.

GX is imported only inside functions here: importing it costs seconds and prints noise.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import io
import logging
import os
import re
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from budgetperf.quality.catalogue import Rule
from budgetperf.settings import Settings

log = logging.getLogger(__name__)

DATASOURCE = "warehouse"
DSN_VARIABLE = "BUDGETPERF_GX_DSN"
BATCH_DEFINITIONS = {"checkpoint": "checkpoint", "all": "all"}
# stable ids for the generated assets, so regenerating the config changes nothing
_ID_NAMESPACE = uuid.UUID("6f1d1c6e-3c57-4b8a-9a52-bd5a0c1f2e11")
SAMPLE_ROWS = 5


def gx_root(settings: Settings) -> Path:
    """The directory holding the committed great_expectations.yml."""
    return settings.expectations_dir / "gx"


def working_gx_root(settings: Settings) -> Path:
    """Where GX runs: ``$BUDGETPERF_HOME/gx/gx`` (GX's "project root" is its parent),
    holding a copy of the committed config and everything GX writes."""
    return settings.gx_state_dir / "gx"


def uncommitted_dir(settings: Settings) -> Path:
    return working_gx_root(settings) / "uncommitted"


# -- the committed config, generated from the catalogue ----------------------------------

_CONFIG_HEAD = """\
# Great Expectations file context of budgetperf (GX 1.x).
#
# Committed: this file and ../rules.yml, the catalogue of quality rules. The assets of the
# `warehouse` datasource below are GENERATED from the catalogue by
# `budgetperf quality sync-gx` (do not edit them by hand; a test checks they match): one
# table asset per relation a rule validates, with the batch definitions its rules use -
# `checkpoint` (the rows of the run's checkpoint_date) and `all` (the whole relation).
# Suites, validation definitions and checkpoints are generated from the catalogue at
# every gate run under uncommitted/generated/, next to the validation results and the
# Data Docs (all ignored by git). The connection string is a ${BUDGETPERF_GX_DSN}
# placeholder the gate fills from the run's Airflow connection: no secret here.
config_version: 4.0
config_variables_file_path: uncommitted/config_variables.yml
plugins_directory: plugins/
analytics_enabled: false
progress_bars:
  globally: false
stores:
  expectations_store:
    class_name: ExpectationsStore
    store_backend:
      class_name: TupleFilesystemStoreBackend
      base_directory: uncommitted/generated/expectations/
  validation_results_store:
    class_name: ValidationResultsStore
    store_backend:
      class_name: TupleFilesystemStoreBackend
      base_directory: uncommitted/validations/
  checkpoint_store:
    class_name: CheckpointStore
    store_backend:
      class_name: TupleFilesystemStoreBackend
      suppress_store_backend_id: true
      base_directory: uncommitted/generated/checkpoints/
  validation_definition_store:
    class_name: ValidationDefinitionStore
    store_backend:
      class_name: TupleFilesystemStoreBackend
      base_directory: uncommitted/generated/validation_definitions/

expectations_store_name: expectations_store
validation_results_store_name: validation_results_store
checkpoint_store_name: checkpoint_store

data_docs_sites:
  local_site:
    class_name: SiteBuilder
    show_how_to_buttons: false
    store_backend:
      class_name: TupleFilesystemStoreBackend
      base_directory: uncommitted/data_docs/local_site/
    site_index_builder:
      class_name: DefaultSiteIndexBuilder
"""


def _stable_id(*parts: str) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, "/".join(parts)))


def asset_plan(rules: list[Rule]) -> dict[str, list[str]]:
    """relation -> the batch definitions its rules need, sorted (what the config holds)."""
    plan: dict[str, set[str]] = {}
    for rule in rules:
        plan.setdefault(rule.relation, set()).add(rule.batch_definition)
    return {relation: sorted(plan[relation]) for relation in sorted(plan)}


def render_gx_config(rules: list[Rule]) -> str:
    """The whole great_expectations.yml for this catalogue (deterministic)."""
    lines = [_CONFIG_HEAD.rstrip("\n"), "fluent_datasources:", f"  {DATASOURCE}:"]
    lines += [
        "    type: postgres",
        f"    id: {_stable_id('datasource', DATASOURCE)}",
        "    assets:",
    ]
    for relation, batches in asset_plan(rules).items():
        schema, table = relation.split(".", 1)
        lines += [
            f"      {relation}:",
            "        type: table",
            f"        id: {_stable_id('asset', relation)}",
            "        batch_metadata: {}",
            "        batch_definitions:",
        ]
        for batch in batches:
            lines += [
                f"          {BATCH_DEFINITIONS[batch]}:",
                f"            id: {_stable_id('batch_definition', relation, batch)}",
            ]
            if batch == "checkpoint":
                lines += [
                    "            partitioner:",
                    "              column_name: checkpoint_date",
                    "              sort_ascending: true",
                    "              method_name: partition_on_year_and_month_and_day",
                ]
            else:
                lines.append("            partitioner:")
        lines += [f"        table_name: {table}", f"        schema_name: {schema}"]
    lines += [
        "    connection_string: ${" + DSN_VARIABLE + "}",
        f"data_context_id: {_stable_id('data_context', 'budgetperf')}",
        "",
    ]
    return "\n".join(lines)


def config_path(settings: Settings) -> Path:
    return gx_root(settings) / "great_expectations.yml"


def gx_config_in_sync(settings: Settings, rules: list[Rule]) -> bool:
    path = config_path(settings)
    return path.is_file() and path.read_text(encoding="utf-8") == render_gx_config(rules)


def write_gx_config(settings: Settings, rules: list[Rule]) -> bool:
    """Regenerate great_expectations.yml from the catalogue; return whether it changed."""
    path = config_path(settings)
    text = render_gx_config(rules)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


class GxConfigOutOfDate(RuntimeError):
    """great_expectations.yml lacks an asset or batch definition a rule needs."""


# -- running GX quietly -----------------------------------------------------------------


class _LogWriter(io.TextIOBase):
    """Where GX's print() calls go: the debug log, not the task log or the terminal."""

    def write(self, text: str) -> int:
        if text.strip():
            log.debug("great_expectations: %s", text.strip())
        return len(text)


@contextlib.contextmanager
def quiet_gx() -> Iterator[None]:
    """Silence GX: its import-time registration chatter, its print() about ``{batch}``,
    its warnings, and its usage analytics."""
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    # about 200 "Skipping registering function" lines at import otherwise (STACK_NOTES.md)
    logging.getLogger("great_expectations._docs_decorators").setLevel(logging.WARNING)
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    with (
        warnings.catch_warnings(),
        contextlib.redirect_stdout(_LogWriter()),
    ):
        warnings.filterwarnings("ignore", module=r"great_expectations(\..*)?")
        warnings.filterwarnings("ignore", message=r".*great_expectations.*")
        yield


@contextlib.contextmanager
def gx_lock(settings: Settings) -> Iterator[None]:
    """One gate run at a time per project directory (GX file stores are not concurrent)."""
    folder = uncommitted_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".gate.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def sqlalchemy_url(warehouse_url: str) -> str:
    scheme, rest = warehouse_url.split("://", 1)
    return f"postgresql+psycopg://{rest}" if scheme in ("postgresql", "postgres") else warehouse_url


def open_context(settings: Settings, warehouse_url: str) -> Any:
    """The file context on the committed config; the DSN is passed in memory only.

    The generated suites, validation definitions and checkpoints of earlier runs are
    removed first: they are rebuilt from the catalogue now, and a stale one (of a rule
    since removed) would make GX refuse to load the store. Call under ``gx_lock``.
    """
    import shutil

    import great_expectations as gx

    shutil.rmtree(uncommitted_dir(settings) / "generated", ignore_errors=True)
    # the committed config (and GX plugins, if any) copied over the working project's,
    # so GX reads exactly what is committed and writes only under the home
    working = working_gx_root(settings)
    working.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(config_path(settings), working / "great_expectations.yml")
    if (gx_root(settings) / "plugins").is_dir():
        shutil.copytree(gx_root(settings) / "plugins", working / "plugins", dirs_exist_ok=True)
    return gx.get_context(
        mode="file",
        project_root_dir=str(settings.gx_state_dir),
        runtime_environment={DSN_VARIABLE: sqlalchemy_url(warehouse_url)},
    )


# -- validating ------------------------------------------------------------------------


@dataclass
class Verdict:
    """What GX said about one rule."""

    rule_id: str
    success: bool
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass
class Validation:
    verdicts: dict[str, Verdict]
    result_ids: list[Any]  # ValidationResultIdentifier
    run_name: str
    run_time: dt.datetime


def _expectation(rule: Rule, checkpoint: dt.date) -> Any:
    import great_expectations.expectations as gxe
    from great_expectations.expectations.registry import get_expectation_impl

    meta = {"rule_id": rule.id, "severity": rule.severity, "category": rule.category}
    description = f"{rule.id}（{rule.severity_zh}）{rule.description_zh} / {rule.description_en}"
    if rule.query is not None:
        return gxe.UnexpectedRowsExpectation(
            unexpected_rows_query=rule.gx_query(checkpoint), description=description, meta=meta
        )
    assert rule.expectation_type is not None
    implementation = get_expectation_impl(rule.expectation_type)
    return implementation(**rule.kwargs, meta=meta, description=description)


def _run_name(gate: str, checkpoint: dt.date, run_id: str) -> str:
    # GX turns the run name into folder names and relative links in Data Docs
    return re.sub(r"[^A-Za-z0-9._-]+", "_", f"{checkpoint.isoformat()}_{gate}_{run_id}")


def validate(
    context: Any,
    rules: list[Rule],
    *,
    gate: str,
    checkpoint: dt.date,
    run_id: str,
) -> Validation:
    """Generate the gate's suites, validation definitions and checkpoints from ``rules``
    and run them; one Verdict per rule."""
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    datasource = context.data_sources.get(DATASOURCE)
    grouped: dict[tuple[str, str], list[Rule]] = {}
    for rule in rules:
        grouped.setdefault((rule.relation, rule.batch_definition), []).append(rule)
    definitions: dict[str, list[Any]] = {"checkpoint": [], "all": []}
    for (relation, batch), group in sorted(grouped.items()):
        try:
            asset = datasource.get_asset(relation)
            batch_definition = asset.get_batch_definition(BATCH_DEFINITIONS[batch])
        except (LookupError, KeyError) as exc:
            raise GxConfigOutOfDate(
                f"great_expectations.yml has no {batch!r} batch of {relation}: run "
                "`budgetperf quality sync-gx` and commit expectations/gx/great_expectations.yml"
            ) from exc
        name = f"{gate}.{relation}.{batch}"
        suite = context.suites.add(
            gx.ExpectationSuite(
                name=name,
                expectations=[_expectation(r, checkpoint) for r in group],
                meta={"generated_from": "expectations/rules.yml", "gate": gate},
            )
        )
        definitions[batch].append(
            context.validation_definitions.add(
                gx.ValidationDefinition(name=name, data=batch_definition, suite=suite)
            )
        )

    run_time = dt.datetime.now(dt.UTC)
    run_name = _run_name(gate, checkpoint, run_id)
    verdicts: dict[str, Verdict] = {}
    result_ids: list[Any] = []
    for batch, batch_definitions in definitions.items():
        if not batch_definitions:
            continue
        gx_checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=f"budgetperf.{gate}.{batch}",
                validation_definitions=batch_definitions,
                actions=[],
                result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_ROWS},
            )
        )
        parameters = (
            {"year": checkpoint.year, "month": checkpoint.month, "day": checkpoint.day}
            if batch == "checkpoint"
            else None
        )
        result = gx_checkpoint.run(
            batch_parameters=parameters,
            run_id=RunIdentifier(run_name=run_name, run_time=run_time),
        )
        for result_id, validation in result.run_results.items():
            result_ids.append(result_id)
            for item in validation.results:
                config = item.expectation_config
                rule_id = str((config.meta or {}).get("rule_id")) if config else "?"
                error = None
                info = item.exception_info or {}
                # exception_info is either one dict or a dict of them, by metric
                candidates = [info] if "raised_exception" in info else list(info.values())
                for entry in candidates:
                    if isinstance(entry, dict) and entry.get("raised_exception"):
                        error = str(entry.get("exception_message") or "error")[:1000]
                verdicts[rule_id] = Verdict(
                    rule_id=rule_id,
                    success=bool(item.success) and error is None,
                    result=_jsonable(item.result or {}),
                    error=error,
                )
    return Validation(verdicts, result_ids, run_name, run_time)


def _jsonable(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=str))


# -- Data Docs, made to open offline -------------------------------------------------------

_REMOTE_SCRIPT = re.compile(r"<script\b[^>]*\bsrc=[\"']https?://[^>]*>\s*</script>", re.I | re.S)
_REMOTE_LINK = re.compile(r"<link\b[^>]*\bhref=[\"']https?://[^>]*>", re.I | re.S)
_REMOTE_IMG = re.compile(r"<img\b[^>]*\bsrc=[\"']https?://[^>]*>", re.I | re.S)
_REMOTE_URL = re.compile(r"url\(\s*[\"']?https?://[^)]*\)", re.I)
_REMOTE_IMPORT = re.compile(r"@import\s+(url\()?[\"']?https?://[^;]*;", re.I)
_OFFLINE_CSS = """
<style>
/* budgetperf: GX Data Docs made readable offline. GX links Bootstrap, jQuery, Vega and
   Font Awesome from public CDNs; bureau networks are often closed, so those links are
   removed and this small stylesheet stands in for them. */
body{font-family:"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;margin:0;
color:#222;background:#fff;line-height:1.5}
.container-fluid{padding:1rem 2rem}.row{display:block}
nav{border-bottom:1px solid #ddd;padding:.5rem 1rem}
table{border-collapse:collapse;margin:.5rem 0;width:100%}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
.alert{padding:.5rem 1rem;border:1px solid #ccc;border-radius:4px;margin:.5rem 0}
.alert-secondary{background:#f4f4f4}.text-danger{color:#b00020}.text-success{color:#1b7f3b}
.collapse{display:block!important}.badge{border:1px solid #999;border-radius:3px;padding:0 .3rem}
.fa,.fas,.far{display:none}pre,code{white-space:pre-wrap;font-size:.9em}
.budgetperf-offline{background:#fff8e1;border:1px solid #e0c060;padding:.5rem 1rem;margin:1rem}
</style>
"""


def make_offline(html: str, *, note: str | None = None) -> str:
    """Remove every remote script, stylesheet and image of a GX page; add our stylesheet."""
    html = _REMOTE_SCRIPT.sub("", html)
    html = _REMOTE_LINK.sub("", html)
    html = _REMOTE_IMG.sub("<strong>Great Expectations</strong>", html)
    html = _REMOTE_IMPORT.sub("", html)
    html = _REMOTE_URL.sub("none", html)
    html = html.replace("</head>", _OFFLINE_CSS + "</head>", 1)
    if note:
        html = re.sub(r"(<body\b[^>]*>)", r"\1" + note.replace("\\", "\\\\"), html, count=1)
    return html


def build_offline_data_docs(context: Any, validation: Validation) -> dict[str, Path]:
    """Build the GX Data Docs pages of this run and make them open offline.

    Returns the local paths of this run's pages (by suite name) and of the site index.
    Only this run's pages are rendered: GX would otherwise re-render every result ever
    stored. GX's own index page is not rebuilt either: it reads every stored result (seconds
    once a few years of runs accumulate) and then draws its table with bootstrap-table from
    a CDN, so offline it is blank anyway. ``write_offline_index`` writes a plain one instead.
    """
    pages: dict[str, Path] = {}
    try:
        sites = context.build_data_docs(
            resource_identifiers=validation.result_ids, build_index=False
        )
    except Exception as exc:  # Data Docs are a convenience: never fail the gate on them
        log.warning("GX Data Docs could not be built: %s", exc)
        return pages
    site: Path | None = None
    for result_id in validation.result_ids:
        suite = result_id.expectation_suite_identifier.name
        for found in context.get_docs_sites_urls(resource_identifier=result_id):
            page = Path(unquote(str(found.get("site_url") or "").removeprefix("file://")))
            if page.is_file():
                page.write_text(make_offline(page.read_text(encoding="utf-8")), encoding="utf-8")
                pages[suite] = page
                site = _site_root(page)
    if site is None and sites:
        site = Path(unquote(next(iter(sites.values())).removeprefix("file://"))).parent
    if site is not None:
        pages["index"] = write_offline_index(site)
    return pages


def _site_root(page: Path) -> Path:
    for parent in page.parents:
        if parent.name == "validations":
            return parent.parent
    return page.parent


INDEX_RUNS = 200


def write_offline_index(site: Path) -> Path:
    """The site's index.html: the latest runs' validation pages, plain HTML, no script.

    Read from the folder names GX writes (validations/<suite path>/<run name>/<run time>/),
    never from the stored results, so it stays fast however long the history grows.
    """
    import html

    entries: list[tuple[str, str, str, str]] = []
    root = site / "validations"
    for page in root.rglob("*.html") if root.is_dir() else []:
        relative = page.relative_to(root).parts
        if len(relative) < 4:
            continue
        suite = ".".join(relative[:-3])
        run_name, run_time = relative[-3], relative[-2]
        entries.append((run_time, run_name, suite, page.relative_to(site).as_posix()))
    entries.sort(reverse=True)
    runs: dict[str, list[tuple[str, str, str, str]]] = {}
    for entry in entries:
        if entry[1] not in runs and len(runs) >= INDEX_RUNS:
            continue
        runs.setdefault(entry[1], []).append(entry)
    rows = []
    for run_name, run_entries in runs.items():
        links = "".join(
            f'<li><a href="{html.escape(link)}">{html.escape(suite)}</a></li>'
            for _, _, suite, link in sorted(run_entries, key=lambda e: e[2])
        )
        rows.append(
            f"<tr><td>{html.escape(run_entries[0][0])}</td><td>{html.escape(run_name)}</td>"
            f"<td><ul>{links}</ul></td></tr>"
        )
    text = (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        "<title>Data Docs · budgetperf 数据质量验证结果</title>"
        + _OFFLINE_CSS
        + '</head><body><div class="container-fluid">'
        "<h1>Great Expectations 验证结果 / validation results</h1>"
        '<p class="budgetperf-offline">最近的运行在前（最多 '
        f"{INDEX_RUNS} 次）。每次运行的质量报告（规则说明、问题样例、处理方法）见运行输出目录中的"
        " quality_&lt;gate&gt;.html。<br>Latest runs first. Each run's quality report is"
        " quality_&lt;gate&gt;.html in the run's output folder.</p>"
        "<table><tr><th>检查时间 run time (UTC)</th><th>运行 run</th><th>验证结果 suites</th></tr>"
        + "".join(rows)
        + "</table></div></body></html>\n"
    )
    index = site / "index.html"
    index.write_text(text, encoding="utf-8")
    return index


KEEP_RUNS = 100


def prune_history(settings: Settings, keep_runs: int = KEEP_RUNS) -> int:
    """Delete GX results and pages of all but the latest ``keep_runs`` gate runs.

    ``ops.dq_results`` is the quality history of record; GX's files are for looking at
    recent runs, and without a bound they grow with every run (and every test run). A gate
    run is one run time (every suite of the run shares it). Returns the folders removed.
    """
    import shutil

    folders: list[tuple[str, Path]] = []  # (run time, folder)
    for root in (
        uncommitted_dir(settings) / "validations",
        uncommitted_dir(settings) / "data_docs" / "local_site" / "validations",
    ):
        if not root.is_dir():
            continue
        # <suite path>/<run name>/<run time>/<batch>.json|html: keep the run time folders
        found = {leaf.parent for leaf in root.rglob("*") if leaf.suffix in (".json", ".html")}
        folders += [(folder.name, folder) for folder in found]
    kept = set(sorted({run_time for run_time, _ in folders}, reverse=True)[:keep_runs])
    removed = 0
    for run_time, folder in folders:
        if run_time not in kept:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
            with contextlib.suppress(OSError):  # the run-name folder, once empty
                folder.parent.rmdir()
    return removed
