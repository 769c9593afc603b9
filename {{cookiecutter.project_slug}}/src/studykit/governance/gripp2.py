"""The report's public involvement tables: the GRIPP2 short form and the UK Standards self-assessment.

``write_involvement_tables(study, folder)`` writes, from ``governance/involvement.yml``:

- ``tbl-gripp2.md``/``.csv``: the five items of the GRIPP2 short form (Staniszewska et
  al., BMJ 2017;358:j3453, Table 2 of the Research Involvement and Engagement version),
  with their published wording, what this study reports for each, and where in the report;
- ``tbl-ukstandards.md``/``.csv``: the self-assessment against the six UK Standards for
  Public Involvement, when the log holds one;
- ``involvement.md``: the sections the GRIPP2 table points to (aim, methods with the
  contributors and activities, outcomes, influence, reflections).

Every file is always written (a sentence when there is nothing to show), so the report's
includes always exist. Contributors appear by name only when they agreed, otherwise by
role and pseudonym; whether a contributor was also a participant is never shown. Text
from the log is data: Markdown punctuation in it is escaped, so it cannot become markup,
an include or a cross-reference.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

from studykit.errors import RegisterError
from studykit.files import write_files
from studykit.governance.involvement import (
    NATURES,
    ROLES,
    STAGES,
    STANDARDS,
    Involvement,
    InvolvementLog,
    read_involvement,
)
from studykit.report import MARKDOWN_PUNCTUATION
from studykit.study import Study

GRIPP2_CITATION = "Staniszewska et al., BMJ 2017;358:j3453"
# (number, section and topic, item as published, anchor of the section that answers it)
ITEMS: tuple[tuple[int, str, str, str, str], ...] = (
    (1, "Aim", "Report the aim of PPI in the study", "ppi-aim", "Aim of involvement"),
    (2, "Methods", "Provide a clear description of the methods used for PPI in the study", "ppi-methods",
     "Methods of involvement"),
    (3, "Study results", "Outcomes—Report the results of PPI in the study, including both positive and "
     "negative outcomes", "ppi-outcomes", "Outcomes of involvement"),
    (4, "Discussion and conclusions", "Outcomes—Comment on the extent to which PPI influenced the study "
     "overall. Describe positive and negative effects", "ppi-influence", "Influence on the study"),
    (5, "Reflections/critical perspective", "Comment critically on the study, reflecting on the things that "
     "went well and those that did not, so others can learn from this experience", "ppi-reflections",
     "Reflections"),
)  # fmt: skip
# What the log must hold for each item (the key a warning names).
ITEM_KEYS = {1: "aim", 2: "activities", 3: "impacts", 4: "influence", 5: "reflections"}
GRIPP2_HEADER = ["No.", "Section and topic", "Item (GRIPP2 short form)", "What this study reports",
                 "Reported in"]  # fmt: skip
STANDARDS_HEADER = ["Standard", "Self-assessment", "Notes"]
NO_STANDARDS = (
    "This study has not recorded a self-assessment against the UK Standards for Public Involvement "
    "(standards in governance/involvement.yml)."
)
NO_LOG = (
    "This study keeps no public involvement log (governance/involvement.yml), so it reports no public "
    "involvement and no GRIPP2 short form."
)


def _filled(text: str | None) -> bool:
    return bool(text and text.strip())


def item_status(log: InvolvementLog) -> list[tuple[int, str, bool]]:
    """(item number, section and topic, whether the log holds something to report for it)."""
    held = {1: _filled(log.aim), 2: bool(log.activities), 3: bool(log.impacts), 4: _filled(log.influence),
            5: bool(log.reflections)}  # fmt: skip
    return [(number, topic, held[number]) for number, topic, *_ in ITEMS]


def one_sided_outcomes(log: InvolvementLog) -> bool:
    """Impacts are recorded but none is negative or mixed (items 3 and 4 ask for both kinds)."""
    return bool(log.impacts) and all(i.valence == "positive" for i in log.impacts)


# --- Markdown ------------------------------------------------------------------------------------


def md(value: object) -> str:
    """Data as literal Markdown: punctuation escaped, lines joined (never markup, include or reference)."""
    return MARKDOWN_PUNCTUATION.sub(r"\\\1", " ".join(str(value).split()))


def pipe_table(header: list[str], rows: list[list[str]], caption: str, label: str) -> str:
    """A pipe table with its caption line ``: Caption {#tbl-label}``; cells are already Markdown."""
    lines = ["| " + " | ".join(md(h) for h in header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + f"\n\n: {md(caption)} {{#tbl-{label}}}\n"


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _counted(counts: Counter[str], order: tuple[str, ...] = ()) -> str:
    """``key (n)`` for each key, in ``order`` (a vocabulary's order), else most common first."""
    keys = [k for k in order if counts[k]] if order else [k for k, _ in counts.most_common()]
    return ", ".join(f"{key} ({counts[key]})" for key in keys)


# --- what the study reports for each item ---------------------------------------------------------


def methods_sentence(log: InvolvementLog) -> str:
    """Item 2 in one sentence: who, how many activities, at which stages, of which nature."""
    roles = Counter(c.role for c in log.contributors)  # in the vocabulary's order
    first, last = min(a.date for a in log.activities), max(a.date for a in log.activities)
    stages = _counted(Counter(a.stage for a in log.activities), STAGES)
    natures = _counted(Counter(a.nature for a in log.activities), NATURES)
    return (
        f"{len(log.contributors)} contributor(s): {_counted(roles, ROLES)}. {len(log.activities)} activities "
        f"from {first.isoformat()} to {last.isoformat()}; stages: {stages}; nature: {natures}."
    )


def outcomes_sentence(log: InvolvementLog) -> str:
    counts = Counter(i.valence for i in log.impacts)
    kinds = ", ".join(f"{counts[v]} {v}" for v in ("positive", "negative", "mixed"))
    return f"{len(log.impacts)} recorded change(s) to the study: {kinds}."


def _voice(log: InvolvementLog, by: str | None) -> str:
    """Who wrote a reflection, as a group: the research team, or the contributor's role."""
    contributor = log.contributor(by) if by is not None else None
    return "the research team" if contributor is None else contributor.role


def reflections_sentence(log: InvolvementLog) -> str:
    voices = Counter(_voice(log, r.by) for r in log.reflections)
    return f"{len(log.reflections)} reflection(s), by {_counted(voices)}."


def gripp2_rows(log: InvolvementLog) -> list[list[str]]:
    """The five items as plain text cells: number, topic, item, what is reported, where."""
    held = {n: ok for n, _, ok in item_status(log)}
    reported = {
        1: lambda: " ".join(log.aim.split()),  # type: ignore[union-attr]
        2: lambda: methods_sentence(log),
        3: lambda: outcomes_sentence(log),
        4: lambda: " ".join(log.influence.split()),  # type: ignore[union-attr]
        5: lambda: reflections_sentence(log),
    }
    rows = []
    for number, topic, item, _, heading in ITEMS:
        if held[number]:
            rows.append([str(number), topic, item, reported[number](), heading])
        else:
            missing = f"Not reported: governance/involvement.yml has no {ITEM_KEYS[number]}."
            rows.append([str(number), topic, item, missing, "not reported"])
    return rows


def gripp2_markdown(log: InvolvementLog) -> str:
    rows = []
    for (*_, anchor, _heading), cells in zip(ITEMS, gripp2_rows(log), strict=True):
        where = f"[{md(cells[4])}](#{anchor})" if cells[4] != "not reported" else "not reported"
        rows.append([*(md(c) for c in cells[:4]), where])
    caption = f"GRIPP2 short form: reporting of public involvement ({GRIPP2_CITATION})"
    return pipe_table(GRIPP2_HEADER, rows, caption, "gripp2")


def standards_rows(log: InvolvementLog) -> list[list[str]]:
    assert log.standards is not None
    rows = []
    for key, name in STANDARDS.items():
        assessment = getattr(log.standards, key)
        status = assessment.status if assessment is not None else "not recorded"
        notes = " ".join((assessment.notes or "").split()) if assessment is not None else ""
        rows.append([name, status, notes])
    return rows


# --- the sections the GRIPP2 table points to ------------------------------------------------------


def sections_markdown(log: InvolvementLog) -> str:
    """Aim, methods (contributors, activities), outcomes, influence and reflections, each with its anchor."""
    headings = {anchor: heading for *_, anchor, heading in ITEMS}
    not_recorded = "Not recorded in governance/involvement.yml."
    parts = [f"## {headings['ppi-aim']} {{#ppi-aim}}\n", md(log.aim) if _filled(log.aim) else not_recorded]
    parts.append(f"\n## {headings['ppi-methods']} {{#ppi-methods}}\n")
    if log.activities:
        parts.append(md(methods_sentence(log)))
    if log.contributors:
        rows = [[md(c.label), md(c.role)] for c in log.contributors]
        parts.append("\n" + pipe_table(["Contributor", "Role"], rows, "Public contributors (named only with "
                                       "their agreement)", "ppi-contributors"))  # fmt: skip
        if any(c.also_participant for c in log.contributors):
            parts.append("Some contributors also took part in the study as participants; the report does not "
                         "say who.\n")
    if log.activities:
        rows = [
            [a.date.isoformat(), md(a.stage), md(a.nature), md("; ".join(log.shown(w) for w in a.who)),
             md(a.summary)]
            for a in sorted(log.activities, key=lambda a: (a.date, a.id))
        ]
        parts.append("\n" + pipe_table(["Date", "Stage", "Nature", "Who", "What happened"], rows,
                                       "Involvement activities by stage of the research", "ppi-activities"))
    elif not log.contributors:
        parts.append(not_recorded)
    parts.append(f"\n## {headings['ppi-outcomes']} {{#ppi-outcomes}}\n")
    if log.impacts:
        parts.append(md(outcomes_sentence(log)))
        rows = [[md(i.activity or ""), md(i.what_changed), md(i.evidence or ""), md(i.valence)]
                for i in log.impacts]  # fmt: skip
        parts.append("\n" + pipe_table(["Activity", "What changed", "Evidence", "Effect"], rows,
                                       "What involvement changed", "ppi-impacts"))  # fmt: skip
    else:
        parts.append(not_recorded)
    parts.append(f"\n## {headings['ppi-influence']} {{#ppi-influence}}\n")
    parts.append(md(log.influence) if _filled(log.influence) else not_recorded)
    parts.append(f"\n## {headings['ppi-reflections']} {{#ppi-reflections}}\n")
    if log.reflections:
        for reflection in log.reflections:
            who = log.shown(reflection.by) if log.contributor(reflection.by or "") else "the research team"
            parts.append(f"- {md(reflection.text)} ({md(who)})")
    else:
        parts.append(not_recorded)
    return "\n".join(parts) + "\n"


# --- writing ---------------------------------------------------------------------------------------


def involvement_files(found: Involvement, folder: Path) -> dict[Path, str]:
    """Every file ``write_involvement_tables`` writes, path -> text."""
    log = found.log
    if log is None:
        return {
            folder / "tbl-gripp2.md": NO_LOG + "\n",
            folder / "tbl-gripp2.csv": csv_text(GRIPP2_HEADER, []),
            folder / "tbl-ukstandards.md": NO_STANDARDS + "\n",
            folder / "tbl-ukstandards.csv": csv_text(STANDARDS_HEADER, []),
            folder / "involvement.md": "",
        }
    files = {
        folder / "tbl-gripp2.md": gripp2_markdown(log),
        folder / "tbl-gripp2.csv": csv_text(GRIPP2_HEADER, gripp2_rows(log)),
        folder / "involvement.md": sections_markdown(log),
    }
    if log.standards is None:
        files[folder / "tbl-ukstandards.md"] = NO_STANDARDS + "\n"
        files[folder / "tbl-ukstandards.csv"] = csv_text(STANDARDS_HEADER, [])
    else:
        rows = standards_rows(log)
        caption = "Self-assessment against the UK Standards for Public Involvement"
        cells = [[md(c) for c in row] for row in rows]
        files[folder / "tbl-ukstandards.md"] = pipe_table(STANDARDS_HEADER, cells, caption, "ukstandards")
        files[folder / "tbl-ukstandards.csv"] = csv_text(STANDARDS_HEADER, rows)
    return files


def involvement_tables(study: Study, folder: Path) -> dict[Path, str]:
    """The files of ``write_involvement_tables``, path -> text, from the study's log.

    A log with problems is a ``RegisterError`` naming the first (``studykit validate`` lists them all).
    """
    found = read_involvement(study)
    if found.problems:
        first = found.problems[0]
        msg = f"has {len(found.problems)} problem(s), the first {first.sentence()}"
        fix = "Run studykit validate and correct them; docs/involvement.md describes the log."
        raise RegisterError(msg, path=found.label, row=first.line, field=first.where, fix=fix)
    return involvement_files(found, folder)


def write_involvement_tables(study: Study, folder: Path) -> list[Path]:
    """Write the GRIPP2 and UK Standards tables (and the sections they point to) into ``folder``.

    Always writes every file, with a sentence when the study has no involvement log.
    ``studykit results`` writes them with the other results (``involvement_tables``).
    """
    files = involvement_tables(study, folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_files(files, within=folder)
    return sorted(files)
