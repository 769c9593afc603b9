"""Rich renderables for the command line. Builds things to show; never prints."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from studykit.checks.findings import Report
from studykit.study import Study

STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def study_summary(study: Study) -> Group:
    """The design in study.yml: waves, instruments, strands, archive."""
    head = Text.assemble((study.title, "bold"), f"  ({study.slug}, version {study.version})")
    if study.synthetic:
        head.append("\nSynthetic example data: no real participants.", style="magenta")
    waves = Table(title="Waves", title_justify="left", box=None)
    for column in ("id", "label", "months after enrolment", "window (days before/after)"):
        waves.add_column(column)
    for w in study.waves:
        waves.add_row(w.id, w.label, str(w.offset_months), f"-{w.window_days.before} / +{w.window_days.after}")
    qualitative = ", ".join(study.strands.qualitative) or "none"
    facts = Table.grid(padding=(0, 2))
    facts.add_row("Principal investigator", study.principal_investigator)
    facts.add_row("Institution", study.institution)
    facts.add_row("Instruments", ", ".join(study.instruments) or "none")
    facts.add_row("Quantitative strand", "yes" if study.strands.quantitative else "no")
    facts.add_row("Qualitative strand", qualitative)
    facts.add_row("Archive", f"{study.archive.target} ({study.archive.access} access)")
    facts.add_row("Licences", f"data {study.licences.data}, code {study.licences.code}")
    return Group(head, Text(), facts, Text(), waves)


def report_table(report: Report) -> Group:
    """Findings grouped by file, each with row, column, value, code, message and fix."""
    parts: list = []
    for file, findings in report.by_file().items():
        table = Table(title=file, title_justify="left", show_lines=False, expand=False)
        for column in ("row", "column", "value", "code", "problem", "what to do"):
            table.add_column(column, overflow="fold")
        for f in findings:
            table.add_row(
                "" if f.row is None else str(f.row),
                f.column or "",
                f.value or "",
                Text(f.code, style=STYLE[f.severity]),
                f.message,
                f.fix,
            )
        parts.append(table)
    counts = f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)"
    verdict = Text(f"Invalid: {counts}." if not report.valid else f"Valid: {counts}.",
                   style="bold red" if not report.valid else "bold green")
    for layer, why in report.skipped.items():
        parts.append(Text(f"Skipped {layer}: {why}", style="yellow"))
    parts.append(verdict)
    return Group(*parts)
