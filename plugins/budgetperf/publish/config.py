"""What the publications say about who issues them, and the policy parameters they quote.

The issuing bureau and the response time are the bureau's to set (environment); the
monitoring thresholds are dbt vars (``dbt_project/dbt_project.yml``), the one place the
rules read them from: a notice quotes the rule it applied from there, never a copy.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

BUREAU_TIMEZONE = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class PublishConfig:
    county: str = "平罗县"
    bureau: str = "平罗县财政局"
    office: str = "县财政局绩效管理室"
    response_days: int = 15  # days a department has to report its corrections


def publish_config(environ: dict[str, str] | None = None) -> PublishConfig:
    env = os.environ if environ is None else environ
    county = env.get("BUDGETPERF_COUNTY_NAME") or PublishConfig.county
    return PublishConfig(
        county=county,
        bureau=env.get("BUDGETPERF_BUREAU_NAME") or f"{county}财政局",
        office=env.get("BUDGETPERF_PERFORMANCE_OFFICE_NAME") or PublishConfig.office,
        response_days=int(
            env.get("BUDGETPERF_NOTICE_RESPONSE_DAYS") or PublishConfig.response_days
        ),
    )


def today_at_bureau() -> dt.date:
    return dt.datetime.now(BUREAU_TIMEZONE).date()


@dataclass(frozen=True)
class RuleParameters:
    on_track_max_gap: Decimal
    lagging_max_gap: Decimal
    deviation_margin: Decimal
    idle_rate_threshold: Decimal


def rule_parameters(dbt_project_dir: Path) -> RuleParameters:
    """The R2/R3/R7 thresholds as dbt uses them (its vars), for quoting in the text."""
    import yaml

    data = yaml.safe_load((dbt_project_dir / "dbt_project.yml").read_text(encoding="utf-8"))
    values = data.get("vars") or {}

    def var(name: str) -> Decimal:
        return Decimal(str(values[name]))

    return RuleParameters(
        on_track_max_gap=var("on_track_max_gap"),
        lagging_max_gap=var("lagging_max_gap"),
        deviation_margin=var("deviation_margin"),
        idle_rate_threshold=var("idle_rate_threshold"),
    )
