"""The study's codebook: every variable, its type, range and labels, and how scores are made.

Built from the same sources as datapackage.json (``package.build_descriptor``) and the
instrument definitions, so the codebook a deposit carries cannot disagree with the
data package. Markdown is the primary form; HTML is the Markdown converted. Text from
study.yml and the definitions is text: `<` is escaped, and the HTML page never
carries raw HTML from them.
"""

from __future__ import annotations

from typing import Any

from studykit.instruments import Instrument, load_instruments
from studykit.package import build_descriptor
from studykit.study import Study

__all__ = ["codebook_html", "codebook_markdown", "instrument_section"]

ORIGIN = {"library": "shipped with studykit", "study": "this study's own (instruments/)"}
METHODS = {
    "sum": "sum of the item values",
    "mean": "mean of the answered item values",
    "conversion": "raw sum converted with the table below",
}


def _text(value: object) -> str:
    """Study text as Markdown text, never HTML: a label like ``<script>`` is shown, not run.

    Escaping ``<`` is enough: without it no tag can open, and ``->`` stays readable.
    """
    return str(value).replace("<", "&lt;")


def _cell(value: object) -> str:
    """Text safe inside a Markdown table cell."""
    return _text(" ".join(str(value).split()).replace("|", "\\|"))


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return [*lines, ""]


def _number(value: float) -> str:
    return f"{value:g}"


def _constraints(field: dict[str, Any]) -> str:
    constraints = field.get("constraints", {})
    parts = []
    if constraints.get("required"):
        parts.append("required")
    if constraints.get("unique"):
        parts.append("unique")
    if "minimum" in constraints or "maximum" in constraints:
        parts.append(
            f"{_number(constraints.get('minimum', float('-inf')))} to "
            f"{_number(constraints.get('maximum', float('inf')))}"
        )
    if "pattern" in constraints:
        parts.append(f"pattern `{constraints['pattern']}`")
    if "enum" in constraints:
        parts.append("one of: " + ", ".join(constraints["enum"]))
    return "; ".join(parts)


def _labels(field: dict[str, Any]) -> str:
    return "; ".join(f"{c['value']} = {c['label']}" for c in field.get("categories", []))


def _resource_section(resource: dict[str, Any], items: list[str]) -> list[str]:
    """One data file; the ``items`` of a measure table are only pointed to (see Instruments)."""
    schema = resource["schema"]
    lines = [f"### `{resource['path']}`", ""]
    keys = ", ".join(schema.get("primaryKey", []))
    title = _text(resource.get("title", resource["name"]))
    lines += [f"{title}. One row per {keys}. Blank cells mean missing.", ""]
    rows = [
        [
            f"`{f['name']}`",
            f.get("title", ""),
            f["type"],
            _constraints(f),
            _labels(f),
            f.get("description", ""),
        ]
        for f in schema["fields"]
        if f["name"] not in items
    ]
    if items:
        rows.insert(3, [f"`{items[0]}` ... `{items[-1]}`", "items", "integer", "", "", "See Instruments."])
    lines += _table(["variable", "label", "type", "rules", "value labels", "description"], rows)
    for key in schema.get("foreignKeys", []):
        ref = key["reference"]
        lines.append(
            f"- `{', '.join(key['fields'])}` refers to `{ref['resource']}.{', '.join(ref['fields'])}`."
        )
    if schema.get("foreignKeys"):
        lines.append("")
    return lines


def _score_rule(instrument: Instrument, score_id: str) -> str:
    score = instrument.score(score_id)
    needed = score.required_items
    rule = f"{METHODS[score.method]}; needs {needed} of {len(score.items)} items"
    if score.prorate and needed < len(score.items):
        rule += ", prorated (sum x items / answered) when some are missing"
    reversed_items = [i for i in score.items if instrument.item(i).reverse]
    if reversed_items:
        rule += f"; reverse-scored: {', '.join(reversed_items)}"
    return rule + f"; rounded to {score.decimals} decimals"


def instrument_section(instrument: Instrument) -> list[str]:
    """Markdown lines describing one instrument: items, scores, norms, licence."""
    lines = [f"### {_cell(instrument.name)} (`{instrument.id}`)", ""]
    lines += [
        f"- Construct: {_cell(instrument.construct_name)}",
        f"- Version: {_cell(instrument.version)}",
        f"- Definition: {ORIGIN[instrument.source]}",
        f"- Citation: {_cell(instrument.citation)}",
        f"- Licence: {_cell(instrument.licence.note)}"
        + ("" if instrument.licence.item_text_allowed else " Item wording is not reproduced here."),
        "",
    ]
    rows = []
    for item in instrument.items:
        response = instrument.response_for(item)
        labels = "; ".join(f"{code} = {label}" for code, label in sorted(response.labels.items()))
        values = "; ".join(f"{code} -> {_number(v)}" for code, v in sorted(response.values.items()))
        rows.append(
            [
                f"`{item.id}`",
                item.label,
                item.text or "",
                f"{response.min} to {response.max}",
                labels,
                values,
                "yes" if item.reverse else "",
            ]
        )
    lines += ["Items (integer codes; blank = not answered):", ""]
    lines += _table(["variable", "label", "text", "range", "value labels", "scored as", "reverse"], rows)
    rows = []
    for score in instrument.scores:
        bands = "; ".join(f"{b.label} {_number(b.min)}-{_number(b.max)}" for b in score.bands)
        rows.append(
            [
                f"`{score.id}`",
                score.name,
                f"{_number(score.range[0])} to {_number(score.range[1])}",
                _score_rule(instrument, score.id),
                bands,
                score.note,
            ]
        )
    lines += ["Scores (`studykit score`):", ""]
    lines += _table(["score", "name", "range", "rule", "bands", "note"], rows)
    for score in instrument.scores:
        if score.conversion:
            lines += [f"Conversion table for `{score.id}` (raw sum -> score):", ""]
            lines += _table(["raw", "score"], [[k, f"{v:.2f}"] for k, v in sorted(score.conversion.items())])
    if instrument.norms:
        rows = [
            [
                f"`{n.score}`",
                n.population,
                _number(n.mean),
                _number(n.sd),
                "" if n.n is None else n.n,
                n.unit,
                "yes" if n.verified else "no",
                n.source,
                n.note,
            ]
            for n in instrument.norms
        ]
        lines += ["Norms (check unverified ones before citing):", ""]
        lines += _table(
            ["score", "population", "mean", "SD", "n", "unit", "verified", "source", "note"], rows
        )
    if instrument.notes:
        lines += ["Notes:", "", *(f"- {_cell(note)}" for note in instrument.notes), ""]
    return lines


def codebook_markdown(study: Study) -> str:
    """The codebook of the study as Markdown."""
    descriptor = build_descriptor(study)
    instruments = load_instruments(study)
    lines = [f"# Codebook: {_cell(study.title)}", ""]
    if study.description:
        lines += [_text(study.description), ""]
    lines += [
        f"Version {study.version}. Data licence {study.licences.data}. Generated by studykit from study.yml "
        "and the instrument definitions; the same definitions produce datapackage.json.",
        "",
        "Waves:",
        "",
    ]
    lines += _table(
        ["wave", "label", "months after enrolment", "window (days before, after)"],
        [
            [f"`{w.id}`", w.label, w.offset_months, f"{w.window_days.before}, {w.window_days.after}"]
            for w in study.waves
        ],
    )
    lines += ["## Data files", ""]
    items = {f"measures-{i.id}": i.item_ids for i in instruments}
    for resource in descriptor["resources"]:
        lines += _resource_section(resource, items.get(resource["name"], []))
    lines += _export_names(study)
    if instruments:
        lines += ["## Instruments", ""]
        for instrument in instruments:
            lines += instrument_section(instrument)
    return "\n".join(lines).rstrip() + "\n"


def _export_names(study: Study) -> list[str]:
    """Variables whose name in SPSS or Stata exports differs (``studykit export`` writes variables.csv)."""
    from studykit.export import renamed_variables

    renamed = renamed_variables(study)
    if not renamed:
        return []
    rows = [[r["table"], f"`{r['variable']}`", f"`{r['spss']}`", f"`{r['stata']}`"] for r in renamed]
    lines = ["## Names in SPSS and Stata exports", "", "These columns cannot keep their names in SPSS or "
             "Stata; `studykit export` writes them as below (every name: variables.csv).", ""]  # fmt: skip
    return lines + _table(["table", "variable", "SPSS", "Stata"], rows)


def codebook_html(study: Study) -> str:
    """The codebook as a standalone HTML page (the Markdown, converted)."""
    from html import escape

    from markdown_it import MarkdownIt

    # html=False: any HTML left in the Markdown is shown as text, never passed into the page.
    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(codebook_markdown(study))
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>Codebook: {escape(study.title)}</title>\n"
        "<style>body{font-family:sans-serif;max-width:75rem;margin:2rem auto;padding:0 1rem}"
        "table{border-collapse:collapse;margin-bottom:1rem}th,td{border:1px solid #ccc;padding:.25rem .5rem;"
        "vertical-align:top;text-align:left}</style>\n</head>\n<body>\n"
        f"{body}</body>\n</html>\n"
    )
