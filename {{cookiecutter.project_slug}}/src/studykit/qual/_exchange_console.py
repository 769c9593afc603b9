"""Rich renderable for a REFI-QDA / Taguette import or export summary. Builds; never prints."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from studykit.qual.exchange import ExchangeSummary


def exchange_summary(summary: ExchangeSummary) -> Group:
    """What was imported or exported, the files written, and what was not carried."""
    verb = "Imported" if summary.action == "import" else "Exported"
    source = (
        summary.source.as_posix()
        if summary.action == "import"
        else ", ".join(p.as_posix() for p in summary.written)
    )
    parts: list = [Text.assemble((f"{verb} ", "bold green"), (source, "bold"))]
    counts = Table.grid(padding=(0, 2))
    for name, count in summary.counts.items():
        counts.add_row(name, str(count))
    parts.append(counts)
    if summary.action == "import" and summary.written:
        parts.append(Text("Written:", style="bold"))
        parts.extend(Text(f"  {p.as_posix()}") for p in summary.written)
    if summary.notes:
        parts.append(Text("Adjusted on the way:", style="bold cyan"))
        parts.extend(Text(f"  - {n}") for n in summary.notes)
    if summary.losses:
        parts.append(Text(f"Lost from the study ({len(summary.losses)}):", style="bold red"))
        parts.extend(Text(f"  - {w}", style="red") for w in summary.losses)
    if summary.warnings:
        parts.append(Text(f"Not carried or to check ({len(summary.warnings)}):", style="bold yellow"))
        parts.extend(Text(f"  - {w}", style="yellow") for w in summary.warnings)
    if summary.lossless:
        parts.append(Text("Nothing was lost.", style="green"))
    return Group(*parts)
