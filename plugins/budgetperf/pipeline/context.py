"""What one DAG run is about: its checkpoint, its id, where its warehouse is.

Built from the Airflow task context inside a task, so the rest of the package never
touches Airflow objects and can be called from the CLI and tests as well.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from budgetperf.airflow_env import role_conn_id
from budgetperf.settings import Settings, load_settings
from budgetperf.timetable import configured_timetable


@dataclass(frozen=True)
class RunContext:
    checkpoint: dt.date
    run_id: str
    warehouse_url: str
    settings: Settings

    @property
    def fiscal_year(self) -> int:
        return self.checkpoint.year

    @property
    def output_dir(self) -> Any:
        """Where this checkpoint's outputs for people go: outputs/runs/<checkpoint>/."""
        return self.settings.runs_dir / self.checkpoint.isoformat()


def checkpoint_from_context(context: Mapping[str, Any]) -> dt.date:
    """The run's checkpoint: the `checkpoint` param, else the data interval's last day,
    else (a manual run without a logical date) the latest point before ``run_after``."""
    timetable = configured_timetable()
    params = context.get("params") or {}
    if params.get("checkpoint"):
        point = dt.date.fromisoformat(str(params["checkpoint"]))
        if not timetable.is_point(point):
            raise ValueError(
                f"param checkpoint {point} is not a checkpoint ({', '.join(timetable.points)})"
            )
        return point
    end = context.get("data_interval_end")
    if end is not None:
        return timetable.checkpoint_of_interval_end(end)
    dag_run = context["dag_run"]
    return timetable.point_on_or_before(timetable.local_date(dag_run.run_after))


def warehouse_url_from_connection(conn_id: str) -> str:
    """A libpq URL from an Airflow connection (production sets it per role)."""
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(conn_id)
    user = quote(conn.login or "", safe="")
    password = quote(conn.password or "", safe="")
    auth = f"{user}:{password}@" if password else f"{user}@"
    port = f":{conn.port}" if conn.port else ""
    return f"postgresql://{auth}{conn.host}{port}/{conn.schema or 'budgetperf'}"


def run_context(context: Mapping[str, Any], role: str) -> RunContext:
    """The run's context, connected to the warehouse as ``role`` (loader, transformer,
    quality or publisher: the least privilege the task's stage needs)."""
    return RunContext(
        checkpoint=checkpoint_from_context(context),
        run_id=str(context["run_id"]),
        warehouse_url=warehouse_url_from_connection(role_conn_id(role)),
        settings=load_settings(),
    )
