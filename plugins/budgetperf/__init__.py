"""budgetperf: budget performance monitoring for county finance bureaus (全过程预算绩效管理).

The package is the glue between the platform's tools: readers and loader (ingestion),
the embedded warehouse, the checkpoint timetable, quality gates, publishing and the CLI.
Business rules live in the dbt project, not here.
"""

__version__ = "0.1.0"
