"""Validation: every layer of checks over a study, all findings in one ``Report``.

``validate(study)`` runs the layers in order (DESIGN.md section 5): structure (the data
package and tables, then the qualitative files), measures, governance, disclosure,
integrity. Each layer module exposes ``check(study) -> Iterator[Finding]`` and registers
its rules at import. All layers always run, so one problem never hides another:

- a file that is missing or unreadable is reported once (STR001/STR002); later layers'
  findings about it are dropped and ``Report.skipped`` says what was not checked;
- a ``StudykitError`` inside a layer (a register that cannot be read, a broken
  instrument definition) becomes a STR023 finding: the report still holds the other
  layers' findings and the exit code is 2;
- any other exception is a bug: a STR000 finding ("run with --debug"), exit code 1.

``exit_code(report)``: 0 clean or warnings only, 1 errors, 2 something could not be checked.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from studykit.checks import memo
from studykit.checks.findings import RULES, Finding, Report, Rule, register
from studykit.errors import StudykitError
from studykit.study import Study

__all__ = [
    "LAYER_MODULES",
    "RULES",
    "Finding",
    "Progress",
    "Report",
    "Rule",
    "exit_code",
    "load_rules",
    "progress_note",
    "validate",
]

# (layer, module) in the order they run. Modules are imported when validation runs.
LAYER_MODULES: tuple[tuple[str, str], ...] = (
    ("structure", "studykit.checks.structure"),
    ("structure", "studykit.checks.qualitative"),
    ("measures", "studykit.checks.measures"),
    ("governance", "studykit.checks.governance"),
    ("governance", "studykit.checks.access"),
    ("disclosure", "studykit.checks.disclosure"),
    ("integrity", "studykit.checks.integrity"),
)
# Findings meaning "this file could not be checked at all": later layers skip the file, exit code 2.
UNCHECKABLE = frozenset({"STR001", "STR002", "STR023"})

COULD_NOT_RUN = Rule(
    "STR023",
    "structure",
    "Check could not run",
    "error",
    "A layer of checks could not run because a file it needs is missing or invalid (for example a broken "
    "instrument definition or register). The other layers still ran (exit code 2).",
    "Do what the message says, then validate again.",
)
register(COULD_NOT_RUN)

# description, completed steps, total steps
Progress = Callable[[str, float, float], None]
_note: ContextVar[Callable[[str], None] | None] = ContextVar("studykit_progress_note", default=None)


def progress_note(text: str) -> None:
    """Tell the user what a long step is doing now (shown only when validate was given ``progress``)."""
    note = _note.get()
    if note is not None:
        note(text)


@contextmanager
def _noting(note: Callable[[str], None] | None) -> Iterator[None]:
    token = _note.set(note)
    try:
        yield
    finally:
        _note.reset(token)


def load_rules() -> dict[str, Rule]:
    """Import every layer so that every rule is registered; returns the registry."""
    for _, module in LAYER_MODULES:
        importlib.import_module(module)
    return RULES


def _relative(study: Study, path: object) -> str:
    from studykit.files import study_relative

    return "study.yml" if path is None else study_relative(study, str(path))


def _run_layer(study: Study, module_name: str, *, raise_errors: bool) -> list[Finding]:
    from studykit.checks.structure import INTERNAL

    name = module_name.rsplit(".", 1)[1]
    try:
        module = importlib.import_module(module_name)
        return list(module.check(study))
    except StudykitError as exc:
        if raise_errors:
            raise
        return [
            COULD_NOT_RUN.finding(
                f"the {name} checks stopped: {exc.message}",
                file=_relative(study, exc.path),
                column=exc.key,
                fix=exc.fix,
            )
        ]
    except Exception as exc:
        if raise_errors:
            raise
        return [
            INTERNAL.finding(
                f"internal error in the {name} checks: {type(exc).__name__}: {exc}; "
                "run with --debug for details",
                file="(studykit)",
            )
        ]


def validate(study: Study, *, progress: Progress | None = None, raise_errors: bool = False) -> Report:
    """Run every layer of checks over the study and return all findings. Reads only; writes nothing.

    ``progress(description, completed, total)`` is called as the layers advance;
    ``raise_errors`` lets exceptions through (for ``--debug``).
    """
    report = Report()
    total = len(LAYER_MODULES)
    seen: set[tuple] = set()
    with memo.shared():
        _run_layers(study, report, seen, progress, raise_errors=raise_errors)
    for finding in report.findings:
        if finding.code in UNCHECKABLE and finding.file not in report.skipped:
            report.skipped[finding.file] = f"not checked: {finding.message}"
    if progress is not None:
        progress("done", total, total)
    return report


def _run_layers(
    study: Study, report: Report, seen: set[tuple], progress: Progress | None, *, raise_errors: bool
) -> None:
    total = len(LAYER_MODULES)
    for step, (layer, module_name) in enumerate(LAYER_MODULES):
        name = module_name.rsplit(".", 1)[1]
        if progress is not None:
            progress(f"{name} checks", step, total)

        def note(text: str, name: str = name, step: int = step) -> None:
            progress(f"{name}: {text}", step, total)  # type: ignore[misc]

        blocked = {f.file: f.message for f in report.findings if f.code in UNCHECKABLE}
        with _noting(note if progress is not None else None):
            found = _run_layer(study, module_name, raise_errors=raise_errors)
        report.checked.append(name)
        for finding in found:
            key = (finding.code, finding.file, finding.row, finding.column, finding.message)
            if key in seen:
                continue
            seen.add(key)
            if layer != "structure" and finding.file in blocked and finding.code not in UNCHECKABLE:
                report.skipped.setdefault(finding.file, f"later checks skipped: {blocked[finding.file]}")
                continue
            report.findings.append(finding)


def exit_code(report: Report) -> int:
    """0 when clean or warnings only, 1 when there are errors, 2 when something could not be checked."""
    if any(f.code in UNCHECKABLE for f in report.findings):
        return 2
    return 0 if report.valid else 1
