"""Rich renderables for the command line. Builds things to show; never prints."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console, Group
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
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
        window = f"-{w.window_days.before} / +{w.window_days.after}"
        waves.add_row(w.id, w.label, str(w.offset_months), window)
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


MAX_ROWS_PER_FILE = 200


def report_table(report: Report, *, max_rows: int = MAX_ROWS_PER_FILE) -> Group:
    """Findings grouped by file: row, column, value, code, problem and what to do.

    Long groups are cut at ``max_rows`` with a note; the JSON report always holds every finding.
    """
    parts: list = []
    for file, findings in report.by_file().items():
        errors = sum(f.severity == "error" for f in findings)
        warnings = sum(f.severity == "warning" for f in findings)
        title = Text.assemble((file, "bold"), f"  {errors} error(s), {warnings} warning(s)")
        table = Table(title=title, title_justify="left", show_lines=False, expand=False)
        widths = {"row": None, "column": 18, "value": 18, "code": None, "problem": None}
        for column, width in widths.items():
            table.add_column(column, overflow="fold", max_width=width)
        for f in findings[:max_rows]:
            table.add_row(
                "" if f.row is None else str(f.row),
                f.column or "",
                f.value or "",
                Text(f.code, style=STYLE[f.severity]),
                f.message,
            )
        parts.append(table)
        if len(findings) > max_rows:
            more = len(findings) - max_rows
            parts.append(Text(f"… and {more} more in {file}: see --format json.", style="dim"))
        # The fix is the same for every finding of a rule, so it is said once per rule and file.
        fixes: dict[str, str] = {}
        for f in findings:
            fixes.setdefault(f"{f.code} ({f.rule})", f.fix)
        for code, fix in fixes.items():
            parts.append(Text.assemble(("  What to do, ", "dim"), (code, "bold"), ": ", fix))
        parts.append(Text())
    for what, why in report.skipped.items():
        parts.append(Text(f"Skipped {what}: {why}", style="yellow"))
    for layer, why in report.not_run.items():
        parts.append(Text(f"Did not run: the {layer} checks ({why}).", style="bold red"))
    for unchecked in report.not_checked:
        parts.append(Text(f"Not checked: {unchecked.sentence()}.", style="yellow"))
    if report.engines:
        by = ", ".join(f"{file} ({engine})" for file, engine in sorted(report.engines.items()))
        parts.append(Text(f"Tables checked by: {by}.", style="dim"))
    counts = f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)"
    checked = ", ".join(report.checked)
    verdict = (
        Text(f"Valid: {counts}. Checked: {checked}.", style="bold green")
        if report.valid
        else Text(f"Invalid: {counts}. Checked: {checked}.", style="bold red")
    )
    parts.append(verdict)
    return Group(*parts)


def validation_summary(report: Report, code: int, *, written_to: object = None) -> Text:
    """One sentence per outcome for stderr: what was found, what could not run, where the JSON went."""
    from studykit.checks import UNCHECKABLE

    lines = Text()
    for f in report.findings:
        if f.code in UNCHECKABLE:
            lines.append("Could not run: ", style="bold red")
            lines.append(f"{f.file}: {f.message}. {f.fix}\n")
    if code == 0:
        lines.append(f"Validation passed with {len(report.warnings)} warning(s).", style="green")
    elif code == 1:
        found = len(report.errors)
        lines.append(f"Validation found {found} error(s): fix them and validate again.", style="red")
    else:
        lines.append("Validation could not check everything (exit code 2): see the lines above.", style="red")
    if written_to is not None:
        lines.append(f"\nJSON report written to {written_to}.")
    return lines


@contextmanager
def validation_progress(console: Console) -> Iterator[Callable[[str, float, float], None] | None]:
    """A progress display on ``console`` (stderr) while validating; nothing when it is not a terminal."""
    if not console.is_terminal:
        yield None
        return
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
        console=console, transient=True,
    ) as bar:
        task = bar.add_task("validating", total=1)

        def update(description: str, completed: float, total: float) -> None:
            bar.update(task, description=description, completed=completed, total=total)

        yield update


def comparison_table(rows: list[dict]) -> Table:
    """Published Table 3 cells next to the synthetic twin's n, mean (SD)."""

    def cell(n: int | None, mean: float | None, sd: float | None) -> str:
        if mean is None:
            return "" if n is None else f"{n}"
        spread = "" if sd is None else f" ({sd:.2f})"
        return f"{n}, {mean:.1f}{spread}"

    title = "Published Table 3 (Gillard et al. 2022) and the synthetic twin"
    table = Table(title=title, title_justify="left")
    for column in ("construct", "wave", "published n, mean (SD)", "twin n, mean (SD)"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["construct"],
            row["wave"],
            cell(row["published_n"], row["published_mean"], row["published_sd"]),
            cell(row["twin_n"], row["twin_mean"], row["twin_sd"]),
        )
    return table
