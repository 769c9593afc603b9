"""Qualitative files: transcripts, codebook, segments and themes (codes QUAL###). Being written."""

from __future__ import annotations

from collections.abc import Iterator

from studykit.checks.findings import Finding
from studykit.study import Study


def check(study: Study) -> Iterator[Finding]:
    """Yield findings for the qualitative files of a study."""
    yield from ()
