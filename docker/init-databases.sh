#!/usr/bin/env bash
# Create the Airflow metadata database and the warehouse, each with its own owner.
# Passwords come from the container environment (the .env file), never from the repo.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" <<SQL
create role airflow login password '${AIRFLOW_DB_PASSWORD}';
create database airflow owner airflow;
create role budgetperf login password '${WAREHOUSE_PASSWORD}';
create database budgetperf owner budgetperf;
SQL
