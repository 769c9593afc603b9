"""Every result shown to a person: terminal text or JSON, built in this one place.

Results have ``to_dict()`` (pydantic models ``model_dump``). ``to_json`` writes that
dictionary; ``to_text`` builds a rich renderable *from the same dictionary*, so the
terminal and the JSON show the same facts and a field added to a result flows through.

Values from study files are data, never markup. They enter rich only through ``shown``
(a ``Text``, with control characters made visible), and the consoles made here have
markup and emoji codes off, so ``[laughs] man`` stays as typed and ``[/oops]`` cannot crash
a report. Only studykit's own words carry styles. This module builds and returns; the
command line prints.
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group, RenderableType
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    import polars as pl

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
STATE_STYLE = {
    "consented": "green",
    "withdrawn (no further data)": "yellow",
    "removal requested": "bold red",
    "no consent": "bold red",
    "no consent to participate": "bold red",
    "active": "green",
    "expiring": "yellow",
    "expired": "bold red",
    "not yet started": "cyan",
}
# Short headers for the consent scopes, so the consent table fits 80 columns.
SHORT = {
    "participate": "part",
    "audio_recording": "audio",
    "direct_quotation": "quote",
    "archiving": "archive",
    "future_contact": "contact",
}
MAX_ROWS_PER_FILE = 200
MAX_FIXES_PER_CODE = 3
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FORMULA_PATTERN = r"^[=+\-@\t\r]"


# --- the two ends: consoles and safe text -------------------------------------------------------


def console(*, stderr: bool = False) -> Console:
    """A console that never reads markup or emoji codes in what it prints."""
    return Console(stderr=stderr, markup=False, emoji=False, highlight=False)


def visible(value: object) -> str:
    """``value`` as text with control characters (escape sequences, NUL, CR) written out as ``\\xNN``."""
    text = "" if value is None else str(value)
    if text.isprintable():
        return text
    return "".join(
        c if c in "\n\t" or unicodedata.category(c) != "Cc" else f"\\x{ord(c):02x}" for c in text
    )


def shown(value: object, style: str = "") -> Text:
    """A value from a study file (or typed by a user) as plain text: never markup, never an emoji code."""
    return Text(visible(value), style=style)


# --- JSON ---------------------------------------------------------------------------------------


def data(result: object) -> Any:
    """A result as JSON-ready values: ``to_dict()``, pydantic ``model_dump``, lists, paths, dates."""
    if hasattr(result, "to_dict"):
        return data(result.to_dict())
    if hasattr(result, "model_dump"):
        return result.model_dump(mode="json")
    if isinstance(result, Mapping):
        return {str(k): data(v) for k, v in result.items()}
    if isinstance(result, list | tuple | set | frozenset):
        return [data(v) for v in result]
    if isinstance(result, PurePath):
        return result.as_posix()
    if isinstance(result, dt.date):
        return result.isoformat()
    return result


def to_json(result: object) -> str:
    """The product as JSON text (UTF-8, indented, one trailing newline)."""
    return json.dumps(data(result), indent=2, ensure_ascii=False) + "\n"


# --- terminal text ------------------------------------------------------------------------------


def to_text(result: object) -> RenderableType | None:
    """A result as a rich renderable, built from its JSON form; ``None`` when there is nothing to show.

    The view is chosen by the result's type (a list by its items' type).
    """
    items = list(result) if isinstance(result, list | tuple) else None
    if items is not None:
        if not items:
            return None
        view = LIST_VIEWS[type(items[0]).__name__]
    else:
        view = VIEWS[type(result).__name__]
    return view(data(result))


def _plain(value: Any) -> str:
    """Any JSON value as one line, for fields no view knows yet."""
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value)
    return "" if value is None else str(value)


def _yes(flag: object) -> str:
    return "yes" if flag else ""


def _facts(rows: list[tuple[str, object]]) -> Table:
    grid = Table.grid(padding=(0, 2))
    for label, value in rows:
        grid.add_row(shown(label), shown(value))
    return grid


# Report fields with a view of their own; any other field is shown as "Name: value".
REPORT_KEYS = frozenset(
    {"format", "valid", "counts", "checked", "skipped", "findings", "not_run", "not_checked", "engines"}
)


def report_text(report: Mapping[str, Any], *, max_rows: int = MAX_ROWS_PER_FILE) -> Group:
    """A validation report: findings grouped by file, then what to do once per rule, then the verdict.

    Long groups are cut at ``max_rows`` with a note; the JSON report always holds every finding.
    Top-level fields this view does not know are shown as ``name: value`` lines.
    """
    by_file: dict[str, list[Mapping[str, Any]]] = {}
    for finding in report.get("findings", []):
        by_file.setdefault(finding["file"], []).append(finding)
    parts: list[RenderableType] = []
    for file, findings in by_file.items():
        parts += _file_table(file, findings, max_rows)
    parts += _what_to_do(by_file)
    for what, why in report.get("skipped", {}).items():
        parts.append(Text.assemble(("Skipped ", "yellow"), shown(what, "yellow"), ": ", shown(why, "yellow")))
    for layer, why in report.get("not_run", {}).items():
        parts.append(Text.assemble((f"Did not run: the {layer} checks (", "bold red"), shown(why, "bold red"),
                                   (").", "bold red")))  # fmt: skip
    for unchecked in report.get("not_checked", []):
        rows = unchecked["rows"]
        listed = ", ".join(str(r) for r in rows[:5]) + (" ..." if len(rows) > 5 else "")
        parts.append(shown(
            f"Not checked: {unchecked['code']} on {len(rows)} row(s) of {unchecked['file']} (rows {listed}) "
            f"because their input failed {', '.join(unchecked['because'])} first.", "yellow",
        ))  # fmt: skip
    if report.get("engines"):
        by = ", ".join(f"{file} ({engine})" for file, engine in report["engines"].items())
        parts.append(shown(f"Tables checked by: {by}.", "dim"))
    for key, value in report.items():
        if key not in REPORT_KEYS:
            label = key.replace("_", " ").capitalize()
            parts.append(Text.assemble((f"{label}: ", "bold"), shown(_plain(value))))
    counts = report.get("counts", {})
    summary = f"{counts.get('error', 0)} error(s), {counts.get('warning', 0)} warning(s)"
    checked = ", ".join(report.get("checked", []))
    verdict, style = ("Valid", "bold green") if report.get("valid") else ("Invalid", "bold red")
    parts.append(
        Text.assemble((f"{verdict}: {summary}. Checked: ", style), shown(checked, style), (".", style))
    )
    return Group(*parts)


def _file_table(file: str, findings: list[Mapping[str, Any]], max_rows: int) -> list[RenderableType]:
    """One file's findings: row, column, value, code and problem."""
    errors = sum(f["severity"] == "error" for f in findings)
    warnings = sum(f["severity"] == "warning" for f in findings)
    title = Text.assemble(shown(file, "bold"), f"  {errors} error(s), {warnings} warning(s)")
    table = Table(title=title, title_justify="left", show_lines=False, expand=False)
    widths = {"row": None, "column": 18, "value": 18, "code": None, "problem": None}
    for column, width in widths.items():
        table.add_column(column, overflow="fold", max_width=width)
    for f in findings[:max_rows]:
        table.add_row(
            shown(f.get("row")),
            shown(f.get("column")),
            shown(f.get("value")),
            Text(f["code"], style=SEVERITY_STYLE.get(f["severity"], "")),
            shown(f.get("message")),
        )
    parts: list[RenderableType] = [table]
    if len(findings) > max_rows:
        more = len(findings) - max_rows
        parts.append(Text.assemble(f"… and {more} more in ", shown(file), ": see --format json."))
    return [*parts, Text()]


def _what_to_do(by_file: Mapping[str, list[Mapping[str, Any]]]) -> list[RenderableType]:
    """Each rule's fix said once, with how many files it concerns (not once per finding or file)."""
    fixes: dict[tuple[str, str], dict[str, set[str]]] = {}
    for file, findings in by_file.items():
        for f in findings:
            fixes.setdefault((f["code"], f.get("rule", "")), {}).setdefault(f.get("fix", ""), set()).add(file)
    if not fixes:
        return []
    parts: list[RenderableType] = [Text("What to do", style="bold")]
    for (code, rule), texts in fixes.items():
        for fix, files in list(texts.items())[:MAX_FIXES_PER_CODE]:
            where = f", in {len(files)} files" if len(files) > 1 else ""
            parts.append(Text.assemble("  ", (code, "bold"), " (", shown(rule), f"){where}: ", shown(fix)))
        if len(texts) > MAX_FIXES_PER_CODE:
            more = len(texts) - MAX_FIXES_PER_CODE
            note = f"  {code}: {more} more fixes for other findings: see --format json."
            parts.append(Text(note, style="dim"))
    parts.append(Text("  Each code, what causes it and an example: docs/rules.md.", style="dim"))
    return [*parts, Text()]


def study_text(study: Mapping[str, Any]) -> Group:
    """The design in study.yml: waves, instruments, strands, archive."""
    head = Text.assemble(
        shown(study["title"], "bold"), "  (", shown(study["slug"]), ", version ", shown(study["version"]), ")"
    )
    if study.get("synthetic"):
        head.append("\nSynthetic example data: no real participants.", style="magenta")
    waves = Table(title="Waves", title_justify="left", box=None)
    for column in ("id", "label", "months after enrolment", "window (days before/after)"):
        waves.add_column(column)
    for w in study["waves"]:
        window = f"-{w['window_days']['before']} / +{w['window_days']['after']}"
        waves.add_row(shown(w["id"]), shown(w["label"]), shown(w["offset_months"]), shown(window))
    strands, archive, licences = study["strands"], study["archive"], study["licences"]
    facts = _facts([
        ("Principal investigator", study["principal_investigator"]),
        ("Institution", study["institution"]),
        ("Instruments", ", ".join(study["instruments"]) or "none"),
        ("Quantitative strand", "yes" if strands["quantitative"] else "no"),
        ("Qualitative strand", ", ".join(strands["qualitative"]) or "none"),
        ("Archive", f"{archive['target']} ({archive['access']} access)"),
        ("Licences", f"data {licences['data']}, code {licences['code']}"),
    ])
    return Group(head, Text(), facts, Text(), waves)


def instruments_text(rows: list[Mapping[str, Any]]) -> Table:
    """The library and the study's own definitions, marking those study.yml uses."""
    table = Table(title="Instruments", title_justify="left")
    # Ids are what users type: never wrap or truncate them.
    table.add_column("id", no_wrap=True, min_width=max((len(r["id"]) for r in rows), default=2))
    for column in ("name", "items", "scores", "source", "item text", "in study.yml"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            shown(r["id"]), shown(r["name"]), shown(r["items"]), shown(", ".join(r["scores"])),
            shown(r["source"]), "shipped" if r.get("item_text") else "not shipped", _yes(r["in_study"]),
        )
    return table


def exchange_text(summary: Mapping[str, Any]) -> Group:
    """What a REFI-QDA or Taguette import or export did, the files written, and what was not carried."""
    importing = summary["action"] == "import"
    verb = "Imported" if importing else "Exported"
    source = summary["source"] if importing else ", ".join(summary["written"])
    parts: list[RenderableType] = [Text.assemble((f"{verb} ", "bold green"), shown(source, "bold"))]
    parts.append(_facts(list(summary["counts"].items())))
    if importing and summary["written"]:
        parts.append(Text("Written:", style="bold"))
        parts.extend(Text.assemble("  ", shown(p)) for p in summary["written"])
    if summary["notes"]:
        parts.append(Text("Adjusted on the way:", style="bold cyan"))
        parts.extend(Text.assemble("  - ", shown(n)) for n in summary["notes"])
    if summary["losses"]:
        parts.append(Text(f"Lost from the study ({len(summary['losses'])}):", style="bold red"))
        parts.extend(Text.assemble("  - ", shown(w, "red")) for w in summary["losses"])
    if summary["warnings"]:
        parts.append(Text(f"Not carried or to check ({len(summary['warnings'])}):", style="bold yellow"))
        parts.extend(Text.assemble("  - ", shown(w, "yellow")) for w in summary["warnings"])
    if summary["lossless"]:
        parts.append(Text("Nothing was lost.", style="green"))
    return Group(*parts)


def export_text(result: Mapping[str, Any]) -> Group:
    """The files a labelled export wrote, rows per table, and the names it had to change."""
    where = f"{result['to']} files to {result['folder']}"
    parts: list[RenderableType] = [Text.assemble(("Exported ", "bold green"), shown(where, "bold"))]
    parts.append(_facts([(table, f"{rows} rows") for table, rows in result["rows"].items()]))
    if result["renamed"]:
        parts.append(Text("Names changed for SPSS or Stata (all names: variables.csv):", style="bold cyan"))
        for r in result["renamed"]:
            line = f"{r['table']}.{r['variable']}: SPSS {r['spss']}, Stata {r['stata']}"
            parts.append(Text.assemble("  - ", shown(line)))
    return Group(*parts)


def docx_import_text(result: Mapping[str, Any]) -> Group:
    """The transcript a .docx became and the speakers found."""
    return Group(
        Text.assemble("Wrote ", shown(result["output"], "bold")),
        Text.assemble("Speakers: ", shown(", ".join(result["speakers"]) or "none")),
        Text("Next: studykit validate (checks the front matter and looks for identifiers).", style="dim"),
    )


def pseudonymise_text(result: Mapping[str, Any]) -> Group:
    """Counts and paths only: the originals stay in the log outside the study."""
    table = Table(title="Replacements by kind", title_justify="left", box=None)
    table.add_column("kind")
    table.add_column("count", justify="right")
    for kind, count in result["replacements"].items():
        table.add_row(shown(kind), shown(count))
    facts = _facts([
        ("Pseudonymised copy", result["output"]),
        ("Anonymisation log", f"{result['log']}  (outside the study: it holds the originals)"),
        ("Pseudonym map", f"{result['map']}  ({result['new_map_entries']} new entries)"),
        ("Left unchanged (map says keep)", result["kept"]),
    ])
    hint = Text(
        "Read the copy and the map: a person decides. Mark false alarms with a blank pseudonym in the map, "
        "add places or workplaces by hand, and run again to a new --out path.",
        style="dim",
    )
    return Group(facts, table, hint)


def _state(row: Mapping[str, Any]) -> Text:
    return shown(row["state"], STATE_STYLE.get(row["state"], ""))


def consent_text(rows: list[Mapping[str, Any]]) -> Table:
    """One line per participant: latest form and date, each scope as it stands today, and the state."""
    from studykit.governance.registers import SCOPES

    title = "Consent as it stands today (blank = no, default deny)"
    table = Table(title=title, title_justify="left", box=None, pad_edge=False, header_style="bold")
    for column in ("id", "form", "date", *(SHORT[s] for s in SCOPES)):
        table.add_column(column, no_wrap=True)
    table.add_column("state", overflow="fold", min_width=16)
    for row in rows:
        latest = row["events"][-1] if row["events"] else {}
        state = _state(row)
        if row.get("state_since"):
            state.append(f" {row['state_since']}")
        table.add_row(
            shown(row["participant_id"] + ("" if row["enrolled"] else " *")),
            shown(latest.get("form_version")),
            shown(latest.get("consented_on")),
            *(_yes(row["scopes_now"].get(s)) for s in SCOPES),
            state,
        )
    if any(not r["enrolled"] for r in rows):
        table.caption = "* not in data/participants.csv"
    return table


def consent_history_text(row: Mapping[str, Any]) -> Group:
    """One participant in full: every consent event and withdrawal, oldest first."""
    from studykit.governance.registers import SCOPES

    title = Text.assemble(shown(row["participant_id"]), ": consent events")
    events = Table(title=title, title_justify="left")
    for column in ("row", "form", "consented on", *(SHORT[s] for s in SCOPES)):
        events.add_column(column, no_wrap=True)
    for e in row["events"]:
        scopes = set(e.get("scopes") or ())
        events.add_row(
            shown(e.get("row") or ""), shown(e.get("form_version")), shown(e.get("consented_on")),
            *(_yes(s in scopes) for s in SCOPES),
        )
    parts: list[RenderableType] = [Text.assemble("State: ", _state(row)), events]
    for w in row["withdrawals"]:
        reason = f" ({w['reason']})" if w.get("reason") else ""
        parts.append(shown(f"Withdrew on {w['withdrawn_on']}: {w['scope']}{reason}"))
    now = ", ".join(s for s in SCOPES if row["scopes_now"].get(s)) or "nothing"
    parts.append(Text(f"May be used now for: {now}"))
    return Group(*parts)


def ethics_text(rows: list[Mapping[str, Any]]) -> Table:
    """Every approval with its period, state and the consent form versions it covers."""
    table = Table(title="Ethics approvals", title_justify="left")
    for column in ("committee", "reference", "approved on", "ends on", "state", "days left", "consent forms",
                   "amendments"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            shown(row["committee"]), shown(row["reference"]), shown(row["approved_on"]),
            shown(row["ends_on"] or "open-ended"), _state(row), shown(row["days_left"]),
            shown(", ".join(row["consent_forms"])), shown("; ".join(row["amendments"])),
        )
    return table


def edit_done(edit: object) -> Text:
    """The sentence a governed edit (its audit entry) says on stderr, then one per warning."""
    entry = data(edit)
    what = entry["record"]
    if entry["action"] == "consent add":
        scopes = ", ".join(what.get("scopes") or ()) or "no scope"
        detail = f"consent on form {what['form_version']} dated {what['consented_on']} ({scopes})"
    elif entry["action"] == "consent decide":
        detail = f"the decision to {what['decision']} dated {what['decided_on']} on the removal request"
    else:
        detail = f"withdrawal ({what['scope']}) dated {what['withdrawn_on']}"
    who = f"{entry['participant_id']} in {entry['register']}"
    done = shown(f"Recorded {detail} for {who} (audit: governance/audit.log).")
    for warning in entry.get("warnings", ()):
        done.append("\n")
        said = f"Warning ({warning['code']}): {warning['message']}. {warning['fix']}"
        done.append_text(shown(said, "yellow"))
    return done


def survey_import_text(summary: Mapping[str, Any]) -> Group:
    """What a survey import did (or would do) to each measure table, what it dropped, and why it stopped."""
    counts = summary["counts"]
    verb = "Merged" if summary["written"] else "Nothing written from"
    verb = "Would change" if summary["dry_run"] else verb
    source = f"{summary['platform']} export {summary['source']}"
    parts: list[RenderableType] = [Text.assemble((f"{verb} ", "bold"), shown(source, "bold"))]
    parts.append(_facts([(k, v) for k, v in counts.items()]))
    for table in summary["tables"]:
        kinds = ("added", "unchanged", "replaced", "refused")
        facts = ", ".join(f"{len(table[k])} {k}" for k in kinds if table[k])
        parts.append(Text.assemble("  ", shown(table["file"]), ": ", shown(facts)))
        if table["refused"]:
            parts.append(shown(f"    refused (differ from what is stored; --replace to overwrite): "
                               f"{', '.join(table['refused'])}", "yellow"))
    if summary["dropped_columns"]:
        parts.append(Text("Dropped columns (never written to data/):", style="bold"))
        parts.extend(Text.assemble("  - ", shown(f"{d['column']}: {d['reason']}"))
                     for d in summary["dropped_columns"])  # fmt: skip
    for reason, n in summary["skipped"].items():
        parts.append(shown(f"Skipped {n}: {reason}", "cyan"))
    if summary["unknown_labels"]:
        parts.append(Text("Unknown labels:", style="bold red"))
        parts.extend(Text.assemble("  - ", shown(u, "red")) for u in summary["unknown_labels"])
    if summary["problems"]:
        parts.append(Text(f"Problems ({len(summary['problems'])}); nothing was written:", style="bold red"))
        parts.extend(Text.assemble("  - ", shown(p, "red")) for p in summary["problems"])
    if summary["findings"]:
        parts.append(Text("Validation of the rows written:", style="bold"))
        parts.extend(
            Text.assemble("  ", (f["code"], SEVERITY_STYLE.get(f["severity"], "")), " ",
                          shown(f"{f['file']} row {f['row']}, {f['column']}: {f['message']}"))
            for f in summary["findings"]
        )  # fmt: skip
    return Group(*parts)


def survey_dictionary_text(result: Mapping[str, Any]) -> Group:
    """The files written for the survey platform, and where to upload each."""
    parts: list[RenderableType] = [Text.assemble(("Wrote ", "bold green"),
                                                 shown(f"{result['platform']} files for "
                                                       f"{', '.join(result['instruments'])}"))]  # fmt: skip
    parts.extend(Text.assemble("  ", shown(path, "bold"), ": ", shown(use))
                 for path, use in result["files"].items())  # fmt: skip
    parts.extend(shown(f"Note: {n}", "yellow") for n in result["notes"])
    return Group(*parts)


# --- talk on stderr -----------------------------------------------------------------------------


def failure(sentence: str) -> Text:
    """Why a command could not run, as one line for stderr."""
    return Text.assemble(("Could not run: ", "bold red"), shown(sentence))


def warning(sentence: str) -> Text:
    return Text.assemble(("Warning: ", "yellow"), shown(sentence))


def note(sentence: str) -> Text:
    """A sentence of conversation (what was written, what was left out)."""
    return shown(sentence)


def validation_summary(report: object, code: int, *, written_to: object = None) -> Text:
    """One sentence per outcome for stderr: what was found, what could not run, where the JSON went."""
    from studykit.checks import UNCHECKABLE

    found = data(report)
    lines = Text()
    for f in found.get("findings", []):
        if f["code"] in UNCHECKABLE:
            lines.append("Could not run: ", style="bold red")
            lines.append_text(shown(f"{f['file']}: {f['message']}. {f['fix']}\n"))
    if code == 0:
        lines.append(f"Validation passed with {found['counts']['warning']} warning(s).", style="green")
    elif code == 1:
        errors = found["counts"]["error"]
        lines.append(f"Validation found {errors} error(s): fix them and validate again.", style="red")
    else:
        lines.append("Validation could not check everything (exit code 2): see the lines above.", style="red")
    if written_to is not None:
        lines.append_text(shown(f"\nJSON report written to {written_to}."))
    return lines


@contextmanager
def validation_progress(on: Console) -> Iterator[Callable[[str, float, float], None] | None]:
    """A progress display on ``on`` (stderr) while validating; nothing when it is not a terminal."""
    if not on.is_terminal:
        yield None
        return
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}", markup=False), BarColumn(), TimeElapsedColumn(),
        console=on, transient=True,
    ) as bar:
        task = bar.add_task("validating", total=1)

        def update(description: str, completed: float, total: float) -> None:
            bar.update(task, description=visible(description), completed=completed, total=total)

        yield update


# --- files people open in a spreadsheet ---------------------------------------------------------


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def spreadsheet_cell(value: object) -> str:
    """A cell a spreadsheet shows as text: a leading ``'`` before ``= + - @``, tab or CR (OWASP).

    Plain numbers (``-1.5``) are left alone: a spreadsheet reads them as numbers, not formulas.
    """
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START) and not _number(text):
        return "'" + text
    return text


def spreadsheet_csv(frame: pl.DataFrame) -> tuple[str, int]:
    """A table as CSV for people to open, text cells through ``spreadsheet_cell``; and how many changed."""
    import polars as pl

    changed = 0
    for name in [name for name, kind in frame.schema.items() if kind == pl.String]:
        cell = pl.col(name)
        risky = cell.str.contains(FORMULA_PATTERN) & cell.cast(pl.Float64, strict=False).is_null()
        changed += frame.select(risky.sum()).item()
        frame = frame.with_columns(pl.when(risky).then("'" + cell).otherwise(cell).alias(name))
    return frame.write_csv(), changed


FORMULA_NOTE = (
    "{n} cell(s) began with = + - @, tab or CR; each was written with a leading ' so a spreadsheet "
    "shows it as text instead of running it as a formula."
)


# --- template lifecycle: template check/update, doctor ------------------------------------------


def template_status_text(status: Mapping[str, Any]) -> Text:
    """``template check``: its one sentence."""
    style = {"current": "green", "outdated": "yellow", "unknown": "bold red"}[status["state"]]
    return shown(status["sentence"], style)


def template_update_text(result: Mapping[str, Any]) -> Group:
    """``template update``: every changed file, every conflict with what to do, then the sentence."""
    parts: list[RenderableType] = []
    if result["linked"]:
        parts.append(shown("Linked the study to its template from .cookiecutter.json (wrote .cruft.json)."))
    if result["changed"]:
        parts.append(Text("Changed (not committed):", style="bold"))
        parts += [Text.assemble("  ", shown(path)) for path in result["changed"]]
    if result["conflicts"]:
        parts.append(Text("Conflicts to resolve before committing:", style="bold red"))
        for conflict in result["conflicts"]:
            parts.append(Text.assemble("  ", shown(conflict["file"], "bold"), " ", shown(conflict["fix"])))
    parts.append(shown(result["sentence"], "bold red" if result["conflicts"] else "green"))
    return Group(*parts)


def rule_text(rule: Mapping[str, Any]) -> Group:
    """``rule CODE``: the rule's title, what it means, what to do and what it waits for."""
    head = Text.assemble(shown(rule["code"], "bold"), " ", shown(rule["title"], "bold"))
    parts: list[RenderableType] = [
        head.append(f" ({rule['severity']}, {rule['layer']} layer)"),
        Text(),
        shown(rule["explanation"]),
        Text(),
        Text.assemble(("What to do: ", "bold"), shown(rule["fix"])),
    ]
    if rule["requires"]:
        parts.append(Text(f"Not checked on a row where {' or '.join(rule['requires'])} already failed."))
    where = f"defined in {rule['defined_in']}; " if rule.get("defined_in") else ""
    parts.append(Text(f"{where}an example finding: docs/rules.md#{rule['code'].lower()}", style="dim"))
    return Group(*parts)


def rules_text(rules: list[Mapping[str, Any]]) -> Table:
    """``rule``: every rule code, by layer."""
    table = Table(box=None, title="Validation rules (studykit rule CODE explains one)", header_style="bold",
                  title_justify="left")  # fmt: skip
    for column in ("code", "severity", "layer", "rule"):
        table.add_column(column)
    for rule in rules:
        table.add_row(shown(rule["code"]), rule["severity"], rule["layer"], shown(rule["title"]))
    return table


def doctor_text(report: Mapping[str, Any]) -> Group:
    """``doctor``: each problem with its fix, notes, then the verdict."""
    parts: list[RenderableType] = [
        Text.assemble(("problem: ", "bold red"), shown(p)) for p in report["problems"]
    ]
    parts += [Text.assemble(("note: ", "cyan"), shown(n)) for n in report["notes"]]
    verdict = "No problems found: studykit is as the template shipped it." if report["healthy"] else (
        f"{len(report['problems'])} problem(s) found.")
    parts.append(shown(verdict, "green" if report["healthy"] else "bold red"))
    return Group(*parts)


def erasure_manifest_text(result: Mapping[str, Any]) -> Group:
    """``consent erase`` (dry run): each place the participant's data live, and what blocks --apply."""
    title = Text.assemble(("Erasure manifest for ", "bold"), shown(result["participant_id"], "bold"))
    parts: list[RenderableType] = [title.append(" (dry run: nothing changed)")]
    for item in result["items"]:
        where = f" {item['path']}" if item["path"] else ""
        how = "automatic" if item["automatic"] else "by hand"
        heading = shown(f"{where}: {item['action']} ({how})")
        parts.append(Text.assemble(shown(item["kind"], "bold"), heading))
        what = [
            f"rows {', '.join(map(str, item['rows']))}" if item["rows"] else "",
            f"segments {', '.join(item['segments'])}" if item["segments"] else "",
            f"quotations {', '.join(item['quotes'])}" if item["quotes"] else "",
            f"cited in {', '.join(item['cited_in'])}" if item["cited_in"] and not item["commits"] else "",
            f"{len(item['commits'])} commit(s)" if item["commits"] else "",
            item["note"] or "",
        ]
        if any(what):
            parts.append(shown("    " + "; ".join(part for part in what if part)))
    parts += [Text.assemble(("--apply is refused: ", "bold red"), shown(b)) for b in result["blocking"]]
    parts += [Text.assemble(("note: ", "cyan"), shown(n)) for n in result["notes"]]
    return Group(*parts)


def erasure_text(result: Mapping[str, Any]) -> Group:
    """``consent erase --apply``: what was done (as logged) and the steps left for a person."""
    title = Text.assemble(("Erased ", "bold green"), shown(result["participant_id"], "bold"))
    parts: list[RenderableType] = [title.append(" (logged in governance/erasure-log.csv)")]
    for row in result["done"]:
        line = f"  {row['action']}: {row['kind']} {row['location']} {row['detail']}"
        parts.append(shown(line.rstrip()))
    if result["steps"]:
        parts.append(Text("Left for a person:", style="bold"))
        parts += [shown(f"  - {step}") for step in result["steps"]]
    parts += [Text.assemble(("note: ", "cyan"), shown(n)) for n in result["notes"]]
    return Group(*parts)


# --- which view shows which result (by the result's class name) ----------------------------------

def involvement_text(summary: Mapping[str, Any]) -> Group:
    """The involvement log for the team: contributors by id and role, activities, GRIPP2 items filled."""
    parts: list[RenderableType] = []
    people = Table(title=Text.assemble("Contributors in ", shown(summary["file"])), title_justify="left")
    for column in ("id", "role", "named", "also participant"):
        people.add_column(column)
    for c in summary["contributors"]:
        people.add_row(shown(c["id"]), shown(c["role"]), _yes(c["named"]), _yes(c["also_participant"]))
    parts.append(people)
    parts.append(Text("Activities", "italic"))
    for a in summary["activities"]:
        line = f"{a['id']} {a['date']} {a['stage']}, {a['nature']} ({', '.join(a['who'])}): {a['summary']}"
        parts.append(shown(line))
    impacts = summary["impacts"]
    parts.append(shown(f"Impacts: {impacts['positive']} positive, {impacts['negative']} negative, "
                       f"{impacts['mixed']} mixed. Reflections: {summary['reflections']}."))  # fmt: skip
    for item in summary["gripp2"]:
        state = Text("reported", "green") if item["reported"] else Text("not reported", "yellow")
        parts.append(Text.assemble(shown(f"GRIPP2 item {item['item']} ({item['topic']}): "), state))
    if summary["standards"] is not None:
        assessed = summary["standards"].items()
        parts.append(_facts([(name, status or "not recorded") for name, status in assessed]))
    return Group(*parts)


VIEWS: dict[str, Callable[[Any], RenderableType]] = {
    "Report": report_text,
    "Study": study_text,
    "ExchangeSummary": exchange_text,
    "DocxImport": docx_import_text,
    "ExportResult": export_text,
    "PseudonymiseResult": pseudonymise_text,
    "ParticipantConsent": consent_history_text,
    "SurveyImport": survey_import_text,
    "DictionaryWritten": survey_dictionary_text,
    "TemplateStatus": template_status_text,
    "UpdateResult": template_update_text,
    "DoctorReport": doctor_text,
    "Manifest": erasure_manifest_text,
    "Erasure": erasure_text,
    "InvolvementSummary": involvement_text,
    "Rule": rule_text,
}
LIST_VIEWS: dict[str, Callable[[Any], RenderableType]] = {
    "Rule": rules_text,
    "ParticipantConsent": consent_text,
    "ApprovalStatus": ethics_text,
    "Listed": instruments_text,
}
