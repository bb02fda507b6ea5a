"""The rule catalogue (expectations/rules.yml): one place that lists every quality rule."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SEVERITIES = ("fatal", "warning")
GATES = ("raw", "marts")


class CatalogueError(ValueError):
    """rules.yml is malformed; the message names the rule and the field."""


@dataclass(frozen=True)
class Rule:
    id: str
    gate: str
    relation: str  # schema.table
    severity: str
    owner: str
    description_zh: str
    description_en: str
    fix_zh: str
    expectation_type: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    query: str | None = None

    @property
    def schema(self) -> str:
        return self.relation.split(".", 1)[0]

    @property
    def table(self) -> str:
        return self.relation.split(".", 1)[1]


def load_catalogue(path: Path) -> list[Rule]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, raw in enumerate(data.get("rules") or []):
        rule_id = raw.get("id") or f"#{index + 1}"
        for key in (
            "id",
            "gate",
            "relation",
            "severity",
            "owner",
            "description_zh",
            "description_en",
            "fix_zh",
        ):
            if not raw.get(key):
                raise CatalogueError(f"{path}: rule {rule_id} has no {key}")
        if raw["severity"] not in SEVERITIES:
            raise CatalogueError(f"{path}: rule {rule_id}: severity must be fatal or warning")
        if raw["gate"] not in GATES:
            raise CatalogueError(f"{path}: rule {rule_id}: gate must be raw or marts")
        if "." not in raw["relation"]:
            raise CatalogueError(f"{path}: rule {rule_id}: relation must be schema.table")
        if rule_id in seen:
            raise CatalogueError(f"{path}: rule id {rule_id} is used twice")
        seen.add(rule_id)
        expectation = raw.get("expectation") or {}
        if bool(expectation) == bool(raw.get("query")):
            raise CatalogueError(f"{path}: rule {rule_id} needs exactly one of expectation, query")
        rules.append(
            Rule(
                id=rule_id,
                gate=raw["gate"],
                relation=raw["relation"],
                severity=raw["severity"],
                owner=raw["owner"],
                description_zh=raw["description_zh"],
                description_en=raw["description_en"],
                fix_zh=raw["fix_zh"],
                expectation_type=expectation.get("type"),
                kwargs=dict(expectation.get("kwargs") or {}),
                query=raw.get("query"),
            )
        )
    return rules
