"""Findings as data: the rule registry, the ``Finding`` record and the ``Report``.

Every check yields ``Finding``s made from a registered ``Rule`` (stable code, layer,
title, fix). A finding locates the problem (file, spreadsheet row, column) and
carries the offending cell only, never a whole row of participant data.
Writers turn a report into JSON (stable keys, documented in docs/validation.md)
or into a grouped rich table; they return text or renderables and never print.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Literal

Severity = Literal["error", "warning", "info"]
Layer = Literal["structure", "measures", "governance", "disclosure", "integrity"]
LAYERS: tuple[Layer, ...] = ("structure", "measures", "governance", "disclosure", "integrity")
MAX_VALUE = 40
REPORT_FORMAT = "studykit-validation-report/1"


@dataclass(frozen=True)
class Rule:
    """A check with a stable code.

    ``requires`` names the rules (codes) this one's input must pass first: a finding of
    this rule in a row where one of them already failed is not reported; the report says
    instead that the rule was not checked on that row, and why (``Report.not_checked``).
    """

    code: str
    layer: Layer
    title: str
    severity: Severity
    explanation: str
    fix: str
    requires: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code, "layer": self.layer, "title": self.title, "severity": self.severity,
            "explanation": self.explanation, "fix": self.fix, "requires": list(self.requires),
            "defined_in": HOMES.get(self.code),
        }  # fmt: skip

    def finding(
        self,
        message: str,
        *,
        file: str,
        row: int | None = None,
        column: str | None = None,
        value: object = None,
        fix: str | None = None,
        severity: Severity | None = None,
    ) -> Finding:
        return Finding(
            code=self.code,
            layer=self.layer,
            severity=severity or self.severity,
            file=file,
            row=row,
            column=column,
            value=clip(value),
            rule=self.title,
            message=message,
            fix=fix or self.fix,
        )


RULES: dict[str, Rule] = {}
# Rule code -> the module that registered it: the one home of the rule (linked from docs/rules.md).
HOMES: dict[str, str] = {}


def register(*rules: Rule) -> None:
    """Add rules to the registry; codes are unique and never reused."""
    home = sys._getframe(1).f_globals.get("__name__", "")  # the registering module
    for rule in rules:
        if rule.code in RULES and RULES[rule.code] != rule:
            msg = f"rule code {rule.code} registered twice"
            raise ValueError(msg)
        RULES[rule.code] = rule
        HOMES.setdefault(rule.code, home)


def clip(value: object) -> str | None:
    """The offending value as short text: enough to find it, never a whole row."""
    if value is None:
        return None
    text = str(value)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


@dataclass(frozen=True)
class Finding:
    code: str
    layer: Layer
    severity: Severity
    file: str
    row: int | None
    column: str | None
    value: str | None
    rule: str
    message: str
    fix: str

    def sort_key(self) -> tuple:
        return (self.file, self.row or 0, self.column or "", self.code)


@dataclass(frozen=True)
class NotChecked:
    """A rule left unchecked on some rows of a file because its input failed a rule it requires."""

    file: str
    code: str
    rows: tuple[int, ...]
    because: tuple[str, ...]  # the codes that failed first

    def to_dict(self) -> dict:
        return {"file": self.file, "code": self.code, "rows": list(self.rows), "because": list(self.because)}

    def sentence(self) -> str:
        rows = ", ".join(str(r) for r in self.rows[:5]) + (" ..." if len(self.rows) > 5 else "")
        return (
            f"{self.code} not checked on {len(self.rows)} row(s) of {self.file} (rows {rows}) because "
            f"their input failed {', '.join(self.because)} first"
        )


@dataclass
class Report:
    """Everything one validation found, with what it checked and what it skipped.

    ``engines`` says which engine checked each table (file -> "polars" or "frictionless");
    ``not_run`` names each layer that crashed, with the error, so its rules were not checked.
    """

    findings: list[Finding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    engines: dict[str, str] = field(default_factory=dict)
    not_run: dict[str, str] = field(default_factory=dict)
    not_checked: list[NotChecked] = field(default_factory=list)

    def extend(self, findings: Iterable[Finding]) -> None:
        self.findings.extend(findings)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def valid(self) -> bool:
        return not self.errors

    def by_file(self) -> dict[str, list[Finding]]:
        groups: dict[str, list[Finding]] = {}
        for finding in sorted(self.findings, key=Finding.sort_key):
            groups.setdefault(finding.file, []).append(finding)
        return groups

    def flatten(self, keys: Iterable[str] = ("code", "file", "row", "column")) -> list[list]:
        """One list per finding with the chosen attributes: one-line test assertions."""
        keys = list(keys)
        return [[getattr(f, k) for k in keys] for f in sorted(self.findings, key=Finding.sort_key)]

    def codes(self) -> Counter[str]:
        return Counter(f.code for f in self.findings)

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)

    def to_dict(self) -> dict:
        return {
            "format": REPORT_FORMAT,
            "valid": self.valid,
            "counts": {
                "error": len(self.errors),
                "warning": len(self.warnings),
                "info": len(self.findings) - len(self.errors) - len(self.warnings),
            },
            "checked": list(self.checked),
            "skipped": dict(self.skipped),
            "not_run": dict(self.not_run),
            "not_checked": [n.to_dict() for n in self.not_checked],
            "engines": dict(sorted(self.engines.items())),
            "findings": [asdict(f) for f in sorted(self.findings, key=Finding.sort_key)],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"
