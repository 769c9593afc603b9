"""Rich renderables for `studykit qual import-docx` and `qual pseudonymise`. Builds; never prints."""

from __future__ import annotations

from collections import Counter

from rich.console import Group
from rich.table import Table
from rich.text import Text

from studykit.qual.docx_import import DocxImport
from studykit.qual.pseudonymise import PseudonymiseResult


def docx_import_dict(result: DocxImport) -> dict:
    return {
        "output": result.output.as_posix() if result.output else None,
        "speakers": list(result.speakers),
        "paragraphs": result.body.count("\n\n") + 1,
        "warnings": list(result.warnings),
    }


def docx_import_summary(result: DocxImport) -> Group:
    head = Text.assemble(("Wrote ", ""), (str(result.output), "bold"))
    speakers = Text(f"Speakers: {', '.join(result.speakers) or 'none'}")
    hint = Text("Next: studykit validate (checks the front matter and looks for identifiers).", style="dim")
    return Group(head, speakers, hint)


def pseudonymise_dict(result: PseudonymiseResult) -> dict:
    """Counts and paths only: the originals stay in the log outside the study."""
    return {
        "source": result.source.as_posix(),
        "output": result.output.as_posix(),
        "log": result.log.as_posix(),
        "map": result.map_path.as_posix(),
        "replacements": dict(sorted(Counter(r.kind for r in result.replacements).items())),
        "kept": result.kept,
        "new_map_entries": result.new_map_entries,
        "warnings": list(result.warnings),
    }


def pseudonymise_summary(result: PseudonymiseResult) -> Group:
    table = Table(title="Replacements by kind", title_justify="left", box=None)
    table.add_column("kind")
    table.add_column("count", justify="right")
    for kind, count in sorted(Counter(r.kind for r in result.replacements).items()):
        table.add_row(kind, str(count))
    facts = Table.grid(padding=(0, 2))
    facts.add_row("Pseudonymised copy", str(result.output))
    facts.add_row("Anonymisation log", f"{result.log}  (outside the study: it holds the originals)")
    facts.add_row("Pseudonym map", f"{result.map_path}  ({result.new_map_entries} new entries)")
    facts.add_row("Left unchanged (map says keep)", str(result.kept))
    hint = Text(
        "Read the copy and the map: a person decides. Mark false alarms with a blank pseudonym in the map, "
        "add places or workplaces by hand, and run again to a new --out path.",
        style="dim",
    )
    return Group(facts, table, hint)
