"""``studykit results``: every number, table and figure the report shows, computed and written.

``compute_results(study)`` reads the validated data through the one consent filter
(analysis for scores, participants, employment and coded segments; quotation for the
exemplar quotes) and runs each step of ``studykit.analysis``. ``write_results`` writes,
through ``studykit.files.write_files``:

- ``reports/_results/tbl-<id>.md`` (a pipe table and its caption line
  ``: Caption {#tbl-<id>}``) and ``tbl-<id>.csv`` for each table in ``TABLES``;
- ``reports/_results/fig-<id>.svg`` / ``.png`` and ``fig-<id>.md`` (the figure line with
  its alt text) for each figure in ``FIGURES``;
- ``reports/_results/results.json`` (every number a page cites; keys in docs/report.md);
- ``reports/_variables.yml`` (the numbers quoted in prose, as Quarto project variables).

A table or figure with nothing to show is still written, as one sentence saying why, so
the report's includes never break. Same data, same bytes: nothing depends on the clock
except ``provenance.generated``, which follows ``SOURCE_DATE_EPOCH`` when it is set.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import platform
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from studykit import __version__
from studykit.analysis.change import adjust, paired_change
from studykit.analysis.checklists import parse_checklists
from studykit.analysis.descriptives import sample_characteristics, summarise
from studykit.analysis.flow import Withdrawn, participant_flow
from studykit.analysis.integration import joint_display, parse_propositions
from studykit.analysis.norms import compare_with_norm, norm_for
from studykit.files import git_output
from studykit.governance.consent_filter import ConsentFilter
from studykit.study import Study

RESULTS_FORMAT = "studykit-results/1"
TABLES = (
    "flow",
    "sample",
    "scores",
    "change",
    "employment",
    "codebook",
    "themes",
    "code-frequencies",
    "focus-groups",
    "joint-display",
    "coreq",
    "gramms",
    "provenance",
    "published",
)
FIGURES = ("flow", "trajectories", "employment")
PACKAGES = ("polars", "scipy", "matplotlib", "pydantic", "pyyaml")


# --- tables as data ------------------------------------------------------------------------------


@dataclass
class Table:
    """A table the report includes: header, rows of text, caption; ``empty`` says why it has no rows."""

    id: str
    caption: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    empty: str = ""
    notes: str = ""
    references: bool = False  # keep @tbl-/@fig- cross-references in cells (the researchers' own text)
    # label -> the page that shows it, for references to another page (a Quarto website numbers
    # tables and figures per page, so those become links to the page and label)
    pages: dict[str, str] = field(default_factory=dict)

    def markdown(self) -> str:
        if not self.rows:
            return f"{self.empty or 'Nothing to show.'}\n"
        lines = [
            "| " + " | ".join(_cell(h) for h in self.header) + " |",
            "|" + "|".join("---" for _ in self.header) + "|",
            *("| " + " | ".join(self._text(c) for c in row) + " |" for row in self.rows),
        ]
        notes = f"\n{_cell(self.notes)}\n" if self.notes else ""
        return "\n".join(lines) + f"\n\n: {_cell(self.caption)} {{#tbl-{self.id}}}\n{notes}"

    def _text(self, cell: str) -> str:
        text = _cell(cell, references=self.references)
        if not self.references or not self.pages:
            return text
        return _CROSS_PAGE.sub(
            lambda m: f"[{m[1]}]({self.pages[m[1]]}#{m[1]})" if m[1] in self.pages else m[0], text
        )

    def csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self.header)
        writer.writerows(self.rows)
        return buffer.getvalue()


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|#$@~^])")


_REFERENCE = re.compile(r"\\@((?:tbl|fig)-[A-Za-z0-9-]+)")
_CROSS_PAGE = re.compile(r"(?<![\\\w])@((?:tbl|fig)-[A-Za-z0-9-]*[A-Za-z0-9])")
_INCLUDED = re.compile(r"\{\{<\s*include\s+_results/((?:tbl|fig)-[A-Za-z0-9-]+)\.md\s*>\}\}")


def labels_by_page(reports: Path, showing: str) -> dict[str, str]:
    """Which page of ``reports/`` includes each result (label -> page file), leaving out ``showing``."""
    found: dict[str, str] = {}
    for page in sorted(reports.glob("*.qmd")):
        if page.name == showing:
            continue
        for label in _INCLUDED.findall(page.read_text(encoding="utf-8", errors="replace")):
            found.setdefault(label, page.name)
    return found


def _cell(text: object, *, references: bool = False) -> str:
    """Data as literal Markdown text: punctuation that means something is escaped, lines joined.

    ``references`` keeps ``@tbl-x`` and ``@fig-x`` as cross-references.
    """
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))
    return _REFERENCE.sub(r"@\1", escaped) if references else escaped


def _num(value: float | None, decimals: int = 2) -> str:
    return "-" if value is None else f"{value:.{decimals}f}"


def _p(value: float | None) -> str:
    if value is None:
        return "-"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _round(value: float | None, decimals: int = 6) -> float | None:
    """Numbers in results.json: rounded so that the bytes do not depend on float noise."""
    return None if value is None else round(float(value), decimals)


# --- reading the data through the consent filter -------------------------------------------------


def _read(path: Path) -> pl.DataFrame | None:
    from studykit.tables import read_text_table

    return read_text_table(path).frame if path.is_file() else None


@dataclass
class Inputs:
    """What the results are computed from, already consent-filtered."""

    study: Study
    consent: ConsentFilter
    enrolled: pl.DataFrame  # participants.csv as it is (for the flow's first box)
    participants: pl.DataFrame  # for analysis
    scores: dict[str, pl.DataFrame]  # instrument -> scored rows for analysis
    employment: pl.DataFrame | None
    transcripts: list[Any]
    segments: list[tuple[Any, Any, str | None]]  # (segment, transcript, participant) allowed for analysis


def read_inputs(study: Study, consent: ConsentFilter) -> Inputs:
    from studykit.instruments.scoring import score_study

    enrolled = _read(study.participants_path)
    if enrolled is None:
        enrolled = pl.DataFrame(schema={"participant_id": pl.String})
    participants = consent.filter(enrolled, resource="participants", purpose="analysis")
    scores = score_study(study, consent=consent)
    employment = _read(study.employment_path)
    if employment is not None:
        employment = consent.filter(
            employment, resource="employment", purpose="analysis", date_column="recorded_on"
        )
    transcripts, segments = _qualitative(study, consent)
    return Inputs(study, consent, enrolled, participants, scores, employment, transcripts, segments)


def _qualitative(study: Study, consent: ConsentFilter) -> tuple[list[Any], list[tuple[Any, Any, str | None]]]:
    """Transcripts and coded segments whose speaker (or, for a researcher's words, whose transcript's
    participants) consent allows for analysis on the transcript's date."""
    if not study.strands.qualitative or not study.transcripts_dir.is_dir():
        return [], []
    from studykit.qual.coding import load_segments
    from studykit.qual.transcripts import PARTICIPANT_ID, load_transcripts, speaker_at

    transcripts = load_transcripts(study)
    present = pl.DataFrame(
        [(p, t.id, t.date) for t in transcripts for p in t.participants],
        schema={"participant_id": pl.String, "transcript": pl.String, "date": pl.Date},
        orient="row",
    )
    allowed = consent.filter(present, resource="transcripts", purpose="analysis", date_column="date")
    kept = {(p, t) for p, t in allowed.select("participant_id", "transcript").iter_rows()}
    transcripts = [t for t in transcripts if any((p, t.id) in kept for p in t.participants)]
    by_id = {t.id: t for t in transcripts}
    segments: list[tuple[Any, Any, str | None]] = []
    if study.segments_path.is_file():
        for segment in load_segments(study):
            transcript = by_id.get(segment.transcript)
            if transcript is None or segment.end > len(transcript):
                continue
            speaker = speaker_at(transcript, segment.start, segment.end)
            speaker = speaker if speaker and PARTICIPANT_ID.match(speaker) else None
            if speaker is not None and (speaker, transcript.id) not in kept:
                continue
            segments.append((segment, transcript, speaker))
    return transcripts, segments


# --- the results ---------------------------------------------------------------------------------


@dataclass
class Results:
    """Every table, figure and number of the report."""

    tables: dict[str, Table]
    figures: dict[str, dict[str, Any]]  # id -> caption, alt, data for the drawing
    numbers: dict[str, Any]  # results.json
    variables: dict[str, Any]  # _variables.yml

    def to_dict(self) -> dict:
        return {"tables": list(self.tables), "figures": list(self.figures), "variables": self.variables}


def compute_results(study: Study, *, check: bool = True) -> Results:
    """Everything ``write_results`` writes, from validated, consent-filtered data.

    Refuses (``DataErrorsFound``, exit code 1) when validation finds errors, unless ``check`` is off
    (for tests that build on data they validated themselves).
    """
    if check:
        from studykit.checks.gate import data_errors, refusal

        errors = data_errors(study)
        if errors:
            raise refusal(errors, action="Results", fix="Run `studykit validate` and correct them first.")
    consent = ConsentFilter.from_study(study)
    inputs = read_inputs(study, consent)
    numbers: dict[str, Any] = {"format": RESULTS_FORMAT}
    tables: dict[str, Table] = {}
    figures: dict[str, dict[str, Any]] = {}
    _flow(inputs, tables, figures, numbers)
    _sample(inputs, tables, numbers)
    cells = _scores(inputs, tables, numbers)
    _change(inputs, tables, numbers)
    _employment(inputs, tables, figures, numbers)
    _trajectories(inputs, cells, figures)
    _qualitative_tables(inputs, tables, numbers)
    _integration(inputs, tables, numbers)
    _checklists(inputs, tables, numbers)
    _published(inputs, tables, numbers)
    numbers["consent_exclusions"] = consent.summary()
    _provenance(study, tables, numbers)
    variables = _variables(study, numbers)
    return Results(tables, figures, numbers, variables)


def _flow(inputs: Inputs, tables: dict, figures: dict, numbers: dict) -> None:
    study = inputs.study
    enrolled = {}
    dates = inputs.enrolled.get_column("enrolled_on") if "enrolled_on" in inputs.enrolled.columns else None
    for index, pid in enumerate(inputs.enrolled.get_column("participant_id").to_list()):
        text = dates[index] if dates is not None else None
        try:
            enrolled[pid] = dt.date.fromisoformat(text) if text else None
        except ValueError:
            enrolled[pid] = None
    seen: dict[str, set[str]] = {}
    for frame in inputs.scores.values():
        for pid, wave in frame.select("participant_id", "wave").iter_rows():
            seen.setdefault(wave, set()).add(pid)
    kinds: dict[str, Counter] = {}
    for t in inputs.transcripts:
        kinds.setdefault(t.wave, Counter())[t.kind] += 1
    employed: dict[str, int] = {}
    if inputs.employment is not None and "employed_as_peer_worker" in inputs.employment.columns:
        for wave, value in inputs.employment.select("wave", "employed_as_peer_worker").iter_rows():
            if (value or "").strip().lower() in ("true", "yes", "1"):
                employed[wave] = employed.get(wave, 0) + 1
    withdrawals = [
        Withdrawn(w.participant_id, w.withdrawn_on, w.scope) for w in inputs.consent.registers.withdrawals
    ]
    analysed = inputs.participants.get_column("participant_id").to_list()
    flow = participant_flow(
        study,
        enrolled=enrolled,
        analysed=analysed,
        seen=seen,
        transcripts=kinds,
        employed=employed,
        withdrawals=withdrawals,
    )
    numbers["flow"] = flow.to_dict()
    table = Table(
        "flow",
        "Participant flow per wave (STROBE item 13): questionnaires, interviews and withdrawals by scope",
        [
            "Wave",
            "Questionnaires (n)",
            "Not seen (n)",
            "Withdrawn before: no further data",
            "Withdrawn before: remove all data",
            "Interviews",
            "Focus groups",
            "Employed as peer worker",
        ],
        notes=f"Enrolled {flow.enrolled}; removed from analysis at their request {flow.removed}; "
        f"analysed {flow.analysed}.",
    )
    for w in flow.waves:
        table.rows.append(
            [
                f"{w.wave} ({w.label})",
                str(w.questionnaires),
                str(w.not_seen),
                str(w.withdrawn_before["no further data"]),
                str(w.withdrawn_before["remove all data"]),
                str(w.interviews),
                str(w.focus_groups),
                str(w.employed),
            ]
        )
    if not flow.enrolled:
        table.rows, table.empty = [], "No participants are enrolled yet (data/participants.csv is empty)."
    tables["flow"] = table
    boxes = [f"Enrolled\nn = {flow.enrolled}", f"Analysed\nn = {flow.analysed}"]
    side = [f"Removed at own request\nn = {flow.removed}"]
    for w in flow.waves:
        boxes.append(f"{w.wave} ({w.label})\nquestionnaires n = {w.questionnaires}")
        side.append(
            f"Withdrawn before {w.wave}:\n{w.withdrawn_before['no further data']} no further data, "
            f"{w.withdrawn_before['remove all data']} removal\nnot seen at {w.wave}: {w.not_seen}"
        )
    alt = (
        f"Flow diagram: {flow.enrolled} enrolled, {flow.removed} removed at their request, "
        f"{flow.analysed} analysed; "
        + "; ".join(f"{w.wave} {w.questionnaires} with questionnaires" for w in flow.waves)
        + "."
    )
    figures["flow"] = {
        "caption": "Participant flow through the waves (adapted CONSORT diagram)",
        "alt": alt,
        "boxes": boxes,
        "side": side,
        "empty": "" if flow.enrolled else "No participants are enrolled yet.",
    }


def _sample(inputs: Inputs, tables: dict, numbers: dict) -> None:
    groups, rows = sample_characteristics(inputs.participants)
    table = Table(
        "sample",
        "Sample characteristics by group (participants analysed)",
        ["Characteristic", "Level", *groups],
    )
    for row in rows:
        table.rows.append([row.characteristic, row.level, *(row.cells.get(g, "-") for g in groups)])
    if inputs.participants.height == 0:
        table.rows, table.empty = [], "No participants may be analysed yet."
    tables["sample"] = table
    numbers["sample"] = [asdict(r) for r in rows]


def _constructs(study: Study) -> list[tuple[str, Any, Any]]:
    """(instrument.score, instrument, score) for every score of every instrument of the study."""
    from studykit.instruments import load_instrument

    found = []
    for instrument_id in study.instruments:
        instrument = load_instrument(study, instrument_id)
        found += [(f"{instrument_id}.{s.id}", instrument, s) for s in instrument.scores]
    return found


def _values(frame: pl.DataFrame, score_id: str, wave: str) -> pl.DataFrame:
    return frame.filter(pl.col("wave") == wave).select("participant_id", score_id).drop_nulls()


def _scores(inputs: Inputs, tables: dict, numbers: dict) -> list[dict]:
    study = inputs.study
    table = Table(
        "scores",
        "Scores per wave with n per cell, against the instrument's norm (one-sample t; "
        "d = (mean - norm mean) / norm SD)",
        ["Score", "Wave", "n", "Mean", "SD", "Range", "Norm mean (SD)", "Norm source", "t", "df", "p", "d"],
    )
    cells = []
    for construct, instrument, score in _constructs(study):
        frame = inputs.scores.get(instrument.id)
        norm = norm_for(instrument, score.id)
        for wave in study.wave_ids:
            values = [] if frame is None else _values(frame, score.id, wave).get_column(score.id).to_list()
            summary = summarise(values)
            comparison = compare_with_norm(values, norm) if norm is not None and values else None
            cells.append(
                {
                    "construct": construct,
                    "name": score.name,
                    "wave": wave,
                    **summary.to_dict(),
                    "norm": None if comparison is None else comparison.to_dict(),
                }
            )
            if summary.n == 0:
                continue
            table.rows.append(
                [
                    f"{instrument.name}: {score.name}",
                    wave,
                    str(summary.n),
                    _num(summary.mean),
                    _num(summary.sd),
                    f"{_num(summary.low, score.decimals)}-{_num(summary.high, score.decimals)}",
                    "-" if norm is None else f"{_num(norm.mean)} ({_num(norm.sd)})",
                    "-" if norm is None else f"{norm.population}: {norm.source}",
                    _num(comparison.t if comparison else None),
                    str(comparison.df) if comparison and comparison.df else "-",
                    _p(comparison.p if comparison else None),
                    _num(comparison.d if comparison else None),
                ]
            )
    if not table.rows:
        table.empty = "No questionnaire scores yet: the measure tables hold no rows that may be analysed."
    tables["scores"] = table
    numbers["scores"] = [_rounded(c) for c in cells]
    return cells


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return _round(value)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _change(inputs: Inputs, tables: dict, numbers: dict) -> None:
    study = inputs.study
    method = study.analysis.adjustment
    label = "Holm" if method == "holm" else "Benjamini-Hochberg"
    rows = []
    first = study.wave_ids[0]
    for construct, instrument, score in _constructs(study):
        frame = inputs.scores.get(instrument.id)
        if frame is None:
            continue
        before = _values(frame, score.id, first)
        for later in study.wave_ids[1:]:
            after = _values(frame, score.id, later)
            pairs = before.join(after, on="participant_id", how="inner", suffix="_after").sort(
                "participant_id"
            )
            change = paired_change(
                pairs.get_column(score.id).to_list(), pairs.get_column(f"{score.id}_after").to_list()
            )
            rows.append(
                {
                    "construct": construct,
                    "name": f"{instrument.name}: {score.name}",
                    "from": first,
                    "to": later,
                    **change.to_dict(),
                }
            )
    for row, adjusted in zip(rows, adjust([r["p"] for r in rows], method), strict=True):
        row["p_adjusted"] = adjusted
    exploratory = (
        " Exploratory analysis: read the effect sizes and CIs first." if study.analysis.exploratory else ""
    )
    table = Table(
        "change",
        f"Paired change between waves (available pairs): mean difference (later - earlier) with 95% CI, "
        f"paired t, p adjusted ({label}), d_z = mean difference / SD of differences, d_av = mean difference "
        f"/ mean of the two SDs.{exploratory}",
        [
            "Score",
            "Waves",
            "n pairs",
            "Mean difference",
            "95% CI",
            "t",
            "df",
            "p",
            f"p ({label})",
            "d_z",
            "d_av",
        ],
    )
    for r in rows:
        if r["n"] < 2:
            continue
        table.rows.append(
            [
                r["name"],
                f"{r['from']} to {r['to']}",
                str(r["n"]),
                _num(r["mean_difference"]),
                f"{_num(r['ci_low'])} to {_num(r['ci_high'])}",
                _num(r["t"]),
                str(r["df"] or "-"),
                _p(r["p"]),
                _p(r["p_adjusted"]),
                _num(r["d_z"]),
                _num(r["d_av"]),
            ]
        )
    if not table.rows:
        table.empty = "No paired change yet: it needs at least two participants with a score at two waves."
    tables["change"] = table
    numbers["change"] = {
        "adjustment": method,
        "exploratory": study.analysis.exploratory,
        "tests": _rounded(rows),
    }


def _employment(inputs: Inputs, tables: dict, figures: dict, numbers: dict) -> None:
    frame = inputs.employment
    table = Table(
        "employment",
        "Employment per wave: employed as a peer worker, contract and hours (participants recorded)",
        ["Wave", "Recorded (n)", "Employed as peer worker", "Contracts", "Hours per week, mean (SD)"],
    )
    per_wave = []
    if frame is not None and frame.height:
        for wave in inputs.study.wave_ids:
            rows = frame.filter(pl.col("wave") == wave)
            if not rows.height:
                continue
            employed = rows.filter(
                pl.col("employed_as_peer_worker").str.to_lowercase().is_in(["true", "yes", "1"])
            )
            contracts = (
                Counter(v for v in employed.get_column("contract").to_list() if v)
                if "contract" in rows.columns
                else Counter()
            )
            hours = (
                employed.get_column("hours_per_week").cast(pl.Float64, strict=False).to_list()
                if "hours_per_week" in rows.columns
                else []
            )
            summary = summarise(hours)
            per_wave.append(
                {
                    "wave": wave,
                    "recorded": rows.height,
                    "employed": employed.height,
                    "contracts": dict(sorted(contracts.items())),
                    "hours": _rounded(summary.to_dict()),
                }
            )
            table.rows.append(
                [
                    wave,
                    str(rows.height),
                    f"{employed.height} ({100 * employed.height / rows.height:.0f}%)",
                    ", ".join(f"{k} {v}" for k, v in sorted(contracts.items())) or "-",
                    f"{_num(summary.mean, 1)} ({_num(summary.sd, 1)})",
                ]
            )
    if not table.rows:
        table.empty = "No employment records yet (data/employment.csv)."
    tables["employment"] = table
    numbers["employment"] = per_wave
    contracts = sorted({c for w in per_wave for c in w["contracts"]})
    figures["employment"] = {
        "caption": "Peer workers employed in the role at each wave, by contract",
        "alt": "Stacked bars per wave: "
        + "; ".join(
            f"{w['wave']} {w['employed']} of {w['recorded']} employed ("
            + ", ".join(f"{c} {w['contracts'].get(c, 0)}" for c in contracts)
            + ")"
            for w in per_wave
        )
        + ".",
        "waves": [w["wave"] for w in per_wave],
        "series": {c: [w["contracts"].get(c, 0) for w in per_wave] for c in contracts},
        "empty": "" if per_wave else "No employment records yet.",
    }


def _trajectories(inputs: Inputs, cells: list[dict], figures: dict) -> None:
    by_instrument: dict[str, list[dict]] = {}
    for cell in cells:
        if cell["n"]:
            by_instrument.setdefault(cell["construct"].split(".")[0], []).append(cell)
    parts = []
    for mine in by_instrument.values():
        scores = dict.fromkeys(c["construct"] for c in mine)
        for construct in scores:
            points = ", ".join(
                f"{c['wave']} {c['mean']:.2f} (n = {c['n']})" for c in mine if c["construct"] == construct
            )
            parts.append(f"{construct}: {points}")
    figures["trajectories"] = {
        "caption": "Mean score per wave for each instrument (bars: 95% CI of the mean)",
        "alt": "Line charts, one panel per instrument, mean score per wave: " + "; ".join(parts) + ".",
        "panels": {i: list(m) for i, m in by_instrument.items()},
        "waves": inputs.study.wave_ids,
        "empty": "" if by_instrument else "No questionnaire scores yet.",
    }


def _qualitative_tables(inputs: Inputs, tables: dict, numbers: dict) -> None:
    study = inputs.study
    strand = bool(study.strands.qualitative)
    why = "This study has no qualitative strand." if not strand else "No qualitative data yet."
    codebook = Table(
        "codebook",
        "Codebook: codes, their parents and definitions, with coded segments (n)",
        ["Code", "Name", "Parent", "Definition", "Segments (n)"],
    )
    themes_table = Table(
        "themes",
        "Themes with descriptions and exemplar quotations (participants who consented to quotation)",
        ["Theme", "Description", "Exemplar quotations"],
    )
    frequencies = Table("code-frequencies", "Coded segments per code, by wave and group", ["Code"])
    focus = Table(
        "focus-groups",
        "Focus groups: wave, date, duration, participants present and their groups",
        ["Focus group", "Wave", "Date", "Duration (minutes)", "Participants (n)", "Groups"],
    )
    numbers.update({"codebook": [], "themes": [], "code_frequencies": [], "focus_groups": []})
    for t in (codebook, themes_table, frequencies, focus):
        t.empty = why
        tables[t.id] = t
    if not strand or not study.codebook_path.is_file():
        return
    from studykit.qual.coding import load_codebook, load_themes, theme_codes
    from studykit.qual.quotes import exemplar_quotes

    book = load_codebook(study)
    counts = Counter(s.code for s, _, _ in inputs.segments)
    for code in book.codes.values():
        codebook.rows.append(
            [code.code_id, code.name, code.parent or "-", code.definition, str(counts[code.code_id])]
        )
        numbers["codebook"].append(
            {"code": code.code_id, "name": code.name, "parent": code.parent, "segments": counts[code.code_id]}
        )
    groups = _groups(inputs.participants)
    columns = [(w, g) for w in study.wave_ids for g in sorted(set(groups.values()))]
    freq: Counter = Counter()
    for segment, transcript, speaker in inputs.segments:
        freq[(segment.code, transcript.wave, groups.get(speaker or "", "researcher or unattributed"))] += 1
    if any(g == "researcher or unattributed" for _, _, g in freq):
        columns += [(w, "researcher or unattributed") for w in study.wave_ids]
    columns = sorted(
        ((w, g) for w, g in columns if any(freq[(c, w, g)] for c in book.codes)),
        key=lambda column: study.wave_ids.index(column[0]),
    )
    frequencies.header = ["Code", *(f"{w}: {g}" for w, g in columns)]
    for code in book.codes:
        if counts[code]:
            frequencies.rows.append([code, *(str(freq[(code, w, g)]) for w, g in columns)])
    numbers["code_frequencies"] = [
        {"code": c, "wave": w, "group": g, "segments": n} for (c, w, g), n in sorted(freq.items())
    ]
    quoted = 0
    for theme in load_themes(study) if study.themes_path.is_file() else []:
        quotes = exemplar_quotes(study, theme.id)
        quoted += len(quotes)
        text = (
            " ".join(f'"{q.text}" ({q.speaker}, {q.wave}, {q.transcript})' for q in quotes)
            or "No quotable segment."
        )
        themes_table.rows.append([theme.name, theme.description, text])
        theme_segments = [s for s in inputs.segments if s[0].code in set(theme_codes(theme, book))]
        numbers["themes"].append(
            {
                "id": theme.id,
                "name": theme.name,
                "codes": list(theme.codes),
                "constructs": list(theme.constructs),
                "segments": len(theme_segments),
                "participants": len({p for _, _, p in theme_segments if p}),
                "by_wave": {w: sum(1 for _, t, _ in theme_segments if t.wave == w) for w in study.wave_ids},
                "quotes": [
                    {
                        "reference": q.reference,
                        "segment_id": q.segment_id,
                        "speaker": q.speaker,
                        "wave": q.wave,
                        "text": q.text,
                    }
                    for q in quotes
                ],
            }
        )
    numbers["quotes"] = quoted
    for t in inputs.transcripts:
        if t.kind != "focus group":
            continue
        present = [p for p in t.participants if p in groups]
        mix = Counter(groups[p] for p in present)
        focus.rows.append(
            [
                t.id,
                t.wave,
                t.date.isoformat(),
                str(t.duration_minutes or "-"),
                str(len(present)),
                ", ".join(f"{g} {n}" for g, n in sorted(mix.items())),
            ]
        )
        numbers["focus_groups"].append(
            {
                "id": t.id,
                "wave": t.wave,
                "date": t.date.isoformat(),
                "duration_minutes": t.duration_minutes,
                "participants": len(present),
                "groups": dict(sorted(mix.items())),
            }
        )
    for t in (codebook, themes_table, frequencies, focus):
        t.empty = "No coded data yet." if t.id != "focus-groups" else "No focus groups in this study's data."


def _groups(participants: pl.DataFrame) -> dict[str, str]:
    if "group" not in participants.columns:
        return dict.fromkeys(participants.get_column("participant_id").to_list(), "participant")
    return dict(participants.select("participant_id", pl.col("group").fill_null("(none)")).iter_rows())


def _integration(inputs: Inputs, tables: dict, numbers: dict) -> None:
    propositions, problems = parse_propositions(inputs.study.propositions_path)
    scores = {}
    for cell in numbers["scores"]:
        scores.setdefault(cell["construct"], []).append(cell)
    changes = {}
    for test in numbers["change"]["tests"]:
        changes.setdefault(test["construct"], []).append(test)
    themes = {t["id"]: t for t in numbers.get("themes", [])}

    def quantitative(construct: str) -> str:
        cells = [c for c in scores.get(construct, []) if c["n"]]
        if not cells:
            return f"{construct}: no scores yet."
        name = cells[0]["name"]
        parts = [f"{c['wave']} {c['mean']:.2f} (SD {_num(c['sd'])}, n = {c['n']})" for c in cells]
        norm = next((c["norm"] for c in cells if c["norm"]), None)
        said = f"{name}: " + ", ".join(parts)
        if norm:
            said += f"; norm {norm['norm_mean']:.2f}, d at {cells[0]['wave']} {_num(norm['d'])}"
        for t in changes.get(construct, []):
            if t["n"] >= 2 and t["mean_difference"] is not None:
                said += f"; {t['from']} to {t['to']} {t['mean_difference']:+.2f} (d_av {_num(t['d_av'])})"
        return said + "."

    def qualitative(theme: str) -> str:
        found = themes.get(theme)
        if found is None:
            return f"{theme}: not a theme of themes.yml."
        waves = ", ".join(f"{w} {n}" for w, n in found["by_wave"].items())
        return (
            f"{found['name']}: {found['segments']} coded segments from {found['participants']} participants "
            f"({waves})."
        )

    rows = joint_display(propositions, quantitative, qualitative)
    table = Table(
        "joint-display",
        "Joint display: each proposition with its quantitative and qualitative findings, their fit and the "
        "meta-inference",
        ["Proposition", "Quantitative finding", "Qualitative finding", "Fit", "Meta-inference"],
    )
    for r in rows:
        table.rows.append(
            [f"{r.proposition}. {r.statement}", r.quantitative, r.qualitative, r.fit, r.meta_inference]
        )
    table.empty = (
        f"reports/propositions.yml cannot be read ({problems[0].message}); run `studykit validate`."
        if problems
        else "No propositions yet: add them to reports/propositions.yml (see docs/report.md)."
    )
    tables["joint-display"] = table
    numbers["propositions"] = [asdict(r) for r in rows]


CHECKLISTS_PAGE = "checklists.qmd"  # the page that includes the checklist tables


def _checklists(inputs: Inputs, tables: dict, numbers: dict) -> None:
    items, problems = parse_checklists(inputs.study.checklists_path)
    # A reference to a table or figure on another page becomes a link to that page.
    pages = labels_by_page(inputs.study.checklists_path.parent, CHECKLISTS_PAGE)
    numbers["checklists"] = []
    for checklist, title in (
        (
            "COREQ",
            "COREQ: consolidated criteria for reporting qualitative research "
            "(Tong, Sainsbury & Craig 2007), 32 items",
        ),
        (
            "GRAMMS",
            "GRAMMS: good reporting of a mixed methods study (O'Cathain, Murphy & Nicholl 2008), 6 items",
        ),
    ):
        header = ["Item", "Topic", "Where the report answers it"]
        table = Table(checklist.lower(), title, header, references=True, pages=pages)
        mine = sorted((i for i in items if i.checklist == checklist), key=lambda i: i.number)
        for item in mine:
            table.rows.append([str(item.number), item.text, item.answer])
            numbers["checklists"].append({"id": item.id, "answered": item.answered, "answer": item.answer})
        table.empty = (
            f"reports/checklists.yml cannot be read ({problems[0].message}); run `studykit validate`."
            if problems
            else f"No {checklist} items in reports/checklists.yml."
        )
        tables[table.id] = table


def _decimals(text: str) -> int:
    return max(0, -int(Decimal(text).as_tuple().exponent))


def _published(inputs: Inputs, tables: dict, numbers: dict) -> None:
    path = inputs.study.published_path
    table = Table(
        "published",
        "",
        [
            "Score",
            "Wave",
            "Published n",
            "Published mean (SD)",
            "This study n",
            "This study mean (SD)",
            "Same as printed",
        ],
    )
    table.empty = "This study sets no published numbers beside its own (reports/published.yml is absent)."
    numbers["published"] = []
    tables["published"] = table
    if not path.is_file():
        return
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    table.caption = f"Published numbers beside this study's: {data.get('source', 'published source')}"
    if data.get("doi"):
        table.caption += f" (doi:{data['doi']})"
    cells = {(c["construct"], c["wave"]): c for c in numbers["scores"]}
    for construct, row in (data.get("scores") or {}).items():
        for wave in inputs.study.wave_ids:
            printed = row.get(wave)
            if not printed:
                continue
            mine = cells.get((construct, wave), {"n": 0, "mean": None, "sd": None})
            md = _decimals(str(printed["mean"]))
            sd = _decimals(str(printed["sd"])) if printed.get("sd") is not None else 2
            ours_mean = _half_up(mine["mean"], md)
            ours_sd = _half_up(mine["sd"], sd)
            same = (
                mine["n"] == printed["n"]
                and ours_mean == str(printed["mean"])
                and (printed.get("sd") is None or ours_sd == str(printed["sd"]))
            )
            shown_sd = f" ({printed['sd']})" if printed.get("sd") is not None else ""
            table.rows.append(
                [
                    row.get("name", construct),
                    wave,
                    str(printed["n"]),
                    f"{printed['mean']}{shown_sd}",
                    str(mine["n"]),
                    f"{ours_mean} ({ours_sd})",
                    "yes" if same else "no",
                ]
            )
            numbers["published"].append(
                {
                    "construct": construct,
                    "wave": wave,
                    "published": {k: printed.get(k) for k in ("n", "mean", "sd")},
                    "study": {"n": mine["n"], "mean": ours_mean, "sd": ours_sd},
                    "same": same,
                }
            )


def _half_up(value: float | None, decimals: int) -> str:
    from decimal import ROUND_HALF_UP

    if value is None:
        return "-"
    return str(Decimal(repr(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))


# --- provenance ----------------------------------------------------------------------------------


def data_checksum(study: Study) -> str:
    """SHA-256 over datapackage.json and every file under data/ (relative path and bytes, in path order)."""
    digest = hashlib.sha256()
    files = [study.datapackage_path] if study.datapackage_path.is_file() else []
    data = study.root / "data"
    files += (
        sorted((p for p in data.rglob("*") if p.is_file()), key=lambda p: p.relative_to(data).as_posix())
        if data.is_dir()
        else []
    )
    for path in files:
        digest.update(path.relative_to(study.root).as_posix().encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _git(study: Study, *args: str) -> str | None:
    return git_output(study.root, *args, timeout=30)


def _generated() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = (
        dt.datetime.fromtimestamp(int(epoch), dt.UTC)
        if epoch and epoch.isdigit()
        else dt.datetime.now(dt.UTC)
    )
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _provenance(study: Study, tables: dict, numbers: dict) -> None:
    commit = _git(study, "rev-parse", "HEAD")
    status = _git(
        study,
        "status",
        "--porcelain",
        "--untracked-files=no",
        "--",
        ".",
        ":!reports/_results",
        ":!reports/_variables.yml",
    )
    provenance = {
        "checksum": data_checksum(study),
        "commit": commit.strip() if commit else None,
        "dirty": None if status is None else bool(status.strip()),
        "generated": _generated(),
        "studykit": __version__,
        "python": platform.python_version(),
        "packages": {name: _version(name) for name in PACKAGES},
    }
    numbers["provenance"] = provenance
    table = Table(
        "provenance",
        "Provenance: the data, code and software these results were computed from",
        ["Item", "Value"],
    )
    table.rows = [
        ["Data package checksum (SHA-256 of datapackage.json and data/)", provenance["checksum"]],
        ["Git commit", provenance["commit"] or "not a git repository"],
        ["Uncommitted changes", {True: "yes", False: "no", None: "unknown"}[provenance["dirty"]]],
        ["Generated (UTC)", provenance["generated"]],
        ["studykit", provenance["studykit"]],
        ["Python", provenance["python"]],
        *([name, version] for name, version in provenance["packages"].items()),
    ]
    tables["provenance"] = table


def _variables(study: Study, numbers: dict) -> dict:
    flow = numbers["flow"]
    provenance = numbers["provenance"]
    return {
        "study": {"title": study.title, "synthetic": study.synthetic},
        "n": {
            "enrolled": flow["enrolled"],
            "analysed": flow["analysed"],
            "withdrawn": sum(flow["withdrawals"].values()),
            "waves": len(study.waves),
            "instruments": len(study.instruments),
            "themes": len(numbers.get("themes", [])),
            "quotes": numbers.get("quotes", 0),
            "propositions": len(numbers.get("propositions", [])),
        },
        "provenance": {
            "commit": provenance["commit"] or "none",
            "dirty": provenance["dirty"] if provenance["dirty"] is not None else "unknown",
            "checksum": provenance["checksum"],
            "generated": provenance["generated"],
            "studykit": provenance["studykit"],
        },
    }


# --- writing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Written:
    """What ``write_results`` wrote: the files (study-relative) and the headline numbers."""

    folder: str
    files: list[str]
    variables: dict

    def to_dict(self) -> dict:
        return asdict(self)


def result_files(study: Study, results: Results) -> dict[Path, bytes | str]:
    """Every file ``write_results`` writes, path -> content (tables, figures, JSON, variables)."""
    from studykit.figures import draw

    folder = study.results_dir
    files: dict[Path, bytes | str] = {}
    for table in results.tables.values():
        files[folder / f"tbl-{table.id}.md"] = table.markdown()
        files[folder / f"tbl-{table.id}.csv"] = table.csv()
    for figure_id, spec in results.figures.items():
        svg, png = draw(figure_id, spec)
        files[folder / f"fig-{figure_id}.svg"] = svg
        files[folder / f"fig-{figure_id}.png"] = png
        if spec.get("empty"):
            files[folder / f"fig-{figure_id}.md"] = f"{spec['empty']}\n"
        else:
            alt = f"{spec['caption']}. {spec['alt']}".replace('"', "'")
            image = f"![{_cell(spec['caption'])}](_results/fig-{figure_id}.svg)"
            files[folder / f"fig-{figure_id}.md"] = f'{image}{{#fig-{figure_id} fig-alt="{alt}"}}\n'

    # Public involvement: the GRIPP2 and UK Standards tables from governance/involvement.yml.
    from studykit.governance.gripp2 import involvement_tables

    files.update(involvement_tables(study, folder))
    files[folder / "results.json"] = (
        json.dumps(results.numbers, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    )
    files[study.variables_path] = yaml.safe_dump(
        results.variables, sort_keys=False, allow_unicode=True, width=100
    )
    return files


def write_results(study: Study, *, check: bool = True) -> Written:
    """Compute the results and write them (all files staged first, then moved into place)."""
    from studykit.files import study_relative, write_files

    results = compute_results(study, check=check)
    files = result_files(study, results)
    write_files(files, within=study.reports_dir)
    return Written(
        study_relative(study, study.results_dir), [study_relative(study, p) for p in files], results.variables
    )
