"""Steps that need valid data ask here: the errors validation finds in what a step uses.

``score`` and ``validate --accept`` must not work from data that fail validation. They
take the findings from ``studykit.checks.validate`` (the one entry to the layers; this
module is the only place outside the ``validate`` command that calls it) rather than
checking ranges or keys again, and ``refusal`` turns the findings into one error that
names them (exit code 1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from studykit.checks.findings import Finding
from studykit.errors import DataErrorsFound
from studykit.study import Study

SHOWN = 5  # findings named in the sentence; `studykit validate` shows them all


def data_errors(study: Study, wanted: Callable[[Finding], bool] = lambda _: True) -> list[Finding]:
    """The errors of a full validation run that ``wanted`` selects, in report order."""
    from studykit.checks import validate

    return [f for f in validate(study).errors if wanted(f)]


def describe(finding: Finding) -> str:
    """Code, file, row and column of a finding, without its value (the sentence may be shared).

    A finding about a whole file (no row, no column: a file that cannot be read) says why, since
    nothing else in the sentence would.
    """
    if finding.row is None and finding.column is None:
        return f"{finding.code} {finding.rule.lower()} ({finding.file} {finding.message})"
    where = ", ".join(
        part
        for part in (finding.file, f"row {finding.row}" if finding.row else "", finding.column or "")
        if part
    )
    return f"{finding.code} {finding.rule.lower()} ({where})"


def refusal(findings: Sequence[Finding], *, action: str, fix: str, scope: str = "") -> DataErrorsFound:
    """The error for a step (``action``, e.g. "Scoring") that will not run on data with these errors."""
    named = "; ".join(describe(f) for f in findings[:SHOWN])
    more = f"; and {len(findings) - SHOWN} more" if len(findings) > SHOWN else ""
    count = f"{len(findings)} error{'s' if len(findings) != 1 else ''}"
    msg = f"{action} stopped: validation found {count}{scope}: {named}{more}"
    return DataErrorsFound(msg, findings=tuple(findings), fix=fix)
