"""Validation: every layer of checks over a study, all findings in one ``Report``.

``validate(study)`` runs the layers in order (DESIGN.md section 5): structure (the data
package and tables, then the qualitative files), measures, governance, disclosure,
integrity. Each layer module exposes ``check(run) -> Iterator[Finding]`` (``run`` is the
typed ``checks.run.Run``: the study, what earlier layers read, the progress reporter) and
registers its rules at import. All layers always run, so one problem never hides another:

- a file that is missing or unreadable is reported once (STR001/STR002); later layers'
  findings about it are dropped and ``Report.skipped`` says what was not checked;
- a finding whose rule ``requires`` rules that already failed in the same row is not
  reported; ``Report.not_checked`` says which rule was not checked where, and why;
- a ``StudykitError`` inside a layer (a register that cannot be read, a broken
  instrument definition) becomes a STR023 finding: the report still holds the other
  layers' findings and the exit code is 2;
- any other exception is a bug: the layer did not run (``Report.not_run`` names it, with
  a STR000 finding saying "run with --debug"), exit code 2.

``exit_code(report)``: 0 clean or warnings only, 1 errors, 2 something could not be checked.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable

from studykit.checks.findings import RULES, Finding, NotChecked, Report, Rule, register
from studykit.checks.run import Run
from studykit.errors import StudykitError
from studykit.study import Study

__all__ = [
    "LAYER_MODULES",
    "RULES",
    "Finding",
    "Progress",
    "Report",
    "Rule",
    "Run",
    "exit_code",
    "load_rules",
    "validate",
]

# (layer, module) in the order they run. Modules are imported when validation runs.
LAYER_MODULES: tuple[tuple[str, str], ...] = (
    ("structure", "studykit.checks.structure"),
    ("structure", "studykit.checks.qualitative"),
    ("structure", "studykit.checks.reports"),
    ("measures", "studykit.checks.measures"),
    ("governance", "studykit.checks.governance"),
    ("governance", "studykit.checks.access"),
    ("governance", "studykit.checks.involvement"),
    ("disclosure", "studykit.checks.disclosure"),
    ("integrity", "studykit.checks.integrity"),
)
# Findings meaning "this could not be checked at all": exit code 2. For the first three, later
# layers skip the file; STR000 is a layer that crashed.
UNCHECKABLE = frozenset({"STR000", "STR001", "STR002", "STR023"})

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


def load_rules() -> dict[str, Rule]:
    """Import every layer so that every rule is registered; returns the registry."""
    for _, module in LAYER_MODULES:
        importlib.import_module(module)
    return RULES


def find_rule(code: str) -> Rule:
    """The rule with ``code`` (any case); a sentence naming the nearest codes when there is none."""
    import difflib

    rules = load_rules()
    wanted = code.strip().upper()
    if wanted in rules:
        return rules[wanted]
    near = difflib.get_close_matches(wanted, list(rules), n=3, cutoff=0.6)
    msg = f"there is no rule {code!r}"
    fix = f"Did you mean {' or '.join(near)}? " if near else ""
    raise StudykitError(msg, fix=fix + "`studykit rule` lists every code.")


def _relative(study: Study, path: object) -> str:
    from studykit.files import study_relative

    return "study.yml" if path is None else study_relative(study, str(path))


def _run_layer(run: Run, module_name: str, report: Report, *, raise_errors: bool) -> list[Finding]:
    from studykit.checks.structure import INTERNAL

    name = module_name.rsplit(".", 1)[1]
    try:
        module = importlib.import_module(module_name)
        return list(module.check(run))
    except StudykitError as exc:
        if raise_errors:
            raise
        return [
            COULD_NOT_RUN.finding(
                f"the {name} checks stopped: {exc.message}",
                file=_relative(run.study, exc.path),
                column=exc.key,
                fix=exc.fix,
            )
        ]
    except Exception as exc:
        if raise_errors:
            raise
        report.not_run[name] = f"{type(exc).__name__}: {exc}"
        return [
            INTERNAL.finding(
                f"the {name} checks did not run: internal error {type(exc).__name__}: {exc}; "
                "run with --debug for details",
                file="(studykit)",
            )
        ]


def validate(
    study: Study,
    *,
    progress: Progress | None = None,
    raise_errors: bool = False,
    today: dt.date | None = None,
) -> Report:
    """Run every layer of checks over the study and return all findings. Reads only; writes nothing.

    ``progress(description, completed, total)`` is called as the layers advance;
    ``raise_errors`` lets exceptions through (for ``--debug``); ``today`` is the day
    calendar rules judge against (None: today in UTC).
    """
    report = Report()
    total = len(LAYER_MODULES)
    run = Run(study, today=today)
    seen: set[tuple] = set()
    for step, (layer, module_name) in enumerate(LAYER_MODULES):
        name = module_name.rsplit(".", 1)[1]
        if progress is not None:
            progress(f"{name} checks", step, total)

            def note(text: str, name: str = name, step: int = step) -> None:
                progress(f"{name}: {text}", step, total)

            run.progress = note
        blocked = {f.file: f.message for f in report.findings if f.code in UNCHECKABLE}
        found = _run_layer(run, module_name, report, raise_errors=raise_errors)
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
    _drop_unchecked(report)
    report.engines = dict(run.engines)
    for finding in report.findings:
        if finding.code in UNCHECKABLE and finding.file not in report.skipped and finding.code != "STR000":
            report.skipped[finding.file] = f"not checked: {finding.message}"
    if progress is not None:
        progress("done", total, total)
    return report


# A row with the wrong number of cells (STR016) may hold its values under the wrong columns, and a
# repeated header row (STR027) holds no data, so no other rule judges such a row: every rule requires
# both, besides the rules each names itself.
REQUIRED_BY_ALL = frozenset({"STR016", "STR027"})


def _drop_unchecked(report: Report) -> None:
    """Findings of a rule whose required rules failed first in the same row become ``not_checked``."""
    failed: dict[tuple[str, int], set[str]] = {}
    for f in report.findings:
        if f.row is not None:
            failed.setdefault((f.file, f.row), set()).add(f.code)
    kept: list[Finding] = []
    unchecked: dict[tuple[str, str], tuple[list[int], set[str]]] = {}
    for f in report.findings:
        rule = RULES.get(f.code)
        required = (set(rule.requires) if rule else set()) | (REQUIRED_BY_ALL - {f.code})
        first = failed.get((f.file, f.row), set()) & required if f.row is not None else set()
        if not first:
            kept.append(f)
            continue
        rows, because = unchecked.setdefault((f.file, f.code), ([], set()))
        rows.append(f.row)  # type: ignore[arg-type]
        because |= first
    report.findings = kept
    report.not_checked = [
        NotChecked(file, code, tuple(sorted(set(rows))), tuple(sorted(because)))
        for (file, code), (rows, because) in sorted(unchecked.items())
    ]


def exit_code(report: Report) -> int:
    """0 when clean or warnings only, 1 when there are errors, 2 when something could not be checked."""
    if report.not_run or any(f.code in UNCHECKABLE for f in report.findings):
        return 2
    return 0 if report.valid else 1
