"""Governance layer: consent, withdrawals and ethics against the data (codes GOV###). Being written."""

from __future__ import annotations

from collections.abc import Iterator

from studykit.checks.findings import Finding
from studykit.study import Study


def check(study: Study) -> Iterator[Finding]:
    """Yield findings for consent, withdrawal and ethics rules."""
    yield from ()
