"""Direct identifiers and small cells (codes DIS###). Being written."""

from __future__ import annotations

from collections.abc import Iterator

from studykit.checks.findings import Finding
from studykit.study import Study


def check(study: Study) -> Iterator[Finding]:
    """Yield findings for identifiers left in text and disclosive small cells."""
    yield from ()
