"""Airflow plugin: registers the checkpoint timetable so the scheduler can deserialize
``budget_monitoring``. Airflow loads this file from the plugins folder; the package itself
(``plugins/budgetperf/``) is excluded by ``.airflowignore`` and imported normally.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from budgetperf.timetable import CheckpointTimetable


class BudgetPerfPlugin(AirflowPlugin):
    name = "budgetperf"
    timetables = [CheckpointTimetable]  # noqa: RUF012 (AirflowPlugin declares these as class lists)
