"""A synthetic study with every shipped instrument, and synthetic platform exports written from
the files ``studykit survey dictionary`` produced (not from studykit's readers).

All ids, names, addresses and dates are invented.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import yaml
from studykit.instruments import library_ids, load_library_instrument
from studykit.package import create_missing_tables, write_descriptor
from studykit.study import load_study

from tests.package.governance_study import STUDY, make_study

DATES = {"T1": "2024-02-05", "T2": "2024-08-06"}
KEYS = [("P001", "T1"), ("P002", "T1"), ("P003", "T1"), ("P001", "T2"), ("P002", "T2")]


def survey_study(tmp_path: Path, *, instruments: list[str] | None = None, waves: list | None = None) -> Path:
    """A clean study (consent, ethics, participants) using ``instruments`` (default: every shipped one)."""
    root = make_study(tmp_path, measures={})
    design = {**STUDY, "instruments": instruments if instruments is not None else library_ids()}
    if waves is not None:
        design["waves"] = waves
    (root / "study.yml").write_text(yaml.safe_dump(design), encoding="utf-8")
    (root / "data/measures/wemwbs.csv").unlink()
    study = load_study(root)
    create_missing_tables(study)
    write_descriptor(study)
    return root


def source_rows(instrument_id: str, keys=KEYS) -> list[dict[str, str]]:
    """Deterministic answers covering every code of every item, with a blank now and then."""
    instrument = load_library_instrument(instrument_id)
    rows = []
    for n, (pid, wave) in enumerate(keys):
        row = {"participant_id": pid, "wave": wave, "completed_on": DATES[wave]}
        for i, item in enumerate(instrument.items):
            response = instrument.response_for(item)
            span = response.max - response.min + 1
            row[item.id] = "" if (n + i) % 11 == 10 else str(response.min + (n * 3 + i) % span)
        rows.append(row)
    return rows


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def parse_choices(text: str) -> dict[str, str]:
    """REDCap choices ``1, Label | 2, Label`` as {code: label}."""
    pairs = [part.split(",", 1) for part in text.split(" | ")] if text else []
    return {code.strip(): label.strip() for code, label in pairs}


def redcap_export(
    dictionary: Path,
    events: Path | None,
    rows: dict[str, list[dict[str, str]]],
    *,
    labels: bool,
    timestamps: bool = True,
) -> str:
    """A REDCap CSV export (raw or labels) of ``rows`` ({form: measure rows}) laid out by the dictionary."""
    fields = read_csv(dictionary)
    forms = list(dict.fromkeys(f["Form Name"] for f in fields))
    event_of = {}
    if events is not None:
        for e in read_csv(events):
            wave = e["event_name"].split(" ")[0]
            event_of[wave] = e["event_name"] if labels else e["unique_event_name"]
    header = ["record_id"] + (["redcap_event_name"] if events else [])
    for form in forms:
        if timestamps:
            header.append(f"{form}_timestamp")
        header += [
            f["Variable / Field Name"]
            for f in fields
            if f["Form Name"] == form and f["Variable / Field Name"] != "record_id"
        ]
        header.append(f"{form}_complete")
    keys = list(
        dict.fromkeys((r["participant_id"], r["wave"]) for form_rows in rows.values() for r in form_rows)
    )
    lines = []
    for pid, wave in keys:
        line = dict.fromkeys(header, "")
        line["record_id"] = pid
        if events:
            line["redcap_event_name"] = event_of[wave]
        for form in forms:
            row = next(
                (r for r in rows.get(form, []) if (r["participant_id"], r["wave"]) == (pid, wave)), None
            )
            if row is None:
                continue
            line[f"{form}_complete"] = "Complete" if labels else "2"
            if timestamps:
                line[f"{form}_timestamp"] = f"{row['completed_on']} 10:15:00"
            else:
                line[f"{form}_completed_on"] = row["completed_on"]
            for f in fields:
                name = f["Variable / Field Name"]
                if f["Form Name"] != form or not name.startswith(f"{form}_item"):
                    continue
                code = row[name.removeprefix(f"{form}_")]
                options = parse_choices(f["Choices, Calculations, OR Slider Labels"])
                line[name] = options[code] if labels and code else code
        lines.append(line)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(lines)
    return buffer.getvalue()


def parse_txt(text: str) -> list[dict]:
    """The Advanced Format TXT as blocks: {block, questions: [{id, text, choices, answers}]}."""
    blocks: list[dict] = []
    question: dict | None = None
    part = None
    for line in text.splitlines():
        if m := re.fullmatch(r"\[\[Block:(.*)\]\]", line):
            blocks.append({"block": m[1], "questions": []})
        elif line == "[[Question:Matrix]]":
            question = {"id": None, "text": [], "choices": [], "answers": {}}
            blocks[-1]["questions"].append(question)
            part = "text"
        elif m := re.fullmatch(r"\[\[ID:(.*)\]\]", line):
            question["id"] = m[1]
        elif line == "[[Choices]]":
            part = "choices"
        elif line == "[[AdvancedAnswers]]":
            part = "answers"
        elif m := re.fullmatch(r"\[\[Answer:(-?\d+)\]\]", line):
            code = m[1]
        elif line in ("[[AdvancedFormat]]", "[[PageBreak]]") or not line:
            continue
        elif part == "text":
            question["text"].append(line)
        elif part == "choices":
            question["choices"].append(line)
        elif part == "answers":
            question["answers"][code] = line
    return blocks


METADATA = [
    "StartDate",
    "EndDate",
    "Status",
    "IPAddress",
    "Progress",
    "Duration (in seconds)",
    "Finished",
    "RecordedDate",
    "ResponseId",
    "RecipientLastName",
    "RecipientFirstName",
    "RecipientEmail",
    "ExternalReference",
    "LocationLatitude",
    "LocationLongitude",
    "DistributionChannel",
    "UserLanguage",
]
SECRET = {
    "IPAddress": "192.0.2.44",
    "RecipientEmail": "jo.bloggs@example.org",
    "RecipientFirstName": "Jo",
    "RecipientLastName": "Bloggs",
    "LocationLatitude": "51.5072",
    "LocationLongitude": "-0.1276",
}


def qualtrics_export(
    txt: str, rows: dict[str, list[dict[str, str]]], *, text: bool, extra: list[dict[str, str]] = ()
) -> str:
    """A Qualtrics CSV export (three header rows) of ``rows`` ({instrument: rows of a wave})."""
    blocks = parse_txt(txt)
    columns: list[tuple[str, str, str, str, dict]] = []  # (column, block, question text, item id, answers)
    for block in blocks:
        instrument = next((i for i in rows if load_library_instrument(i).name == block["block"]), None)
        if instrument is None:
            continue
        item_ids = [i.id for i in load_library_instrument(instrument).items]
        position = 0
        for q in block["questions"]:
            for n, statement in enumerate(q["choices"], start=1):
                columns.append(
                    (
                        f"{q['id']}_{n}",
                        instrument,
                        f"{q['text'][0]} - {statement}",
                        item_ids[position],
                        q["answers"],
                    )
                )
                position += 1
    header = METADATA + [c[0] for c in columns]
    texts = METADATA + [c[2] for c in columns]
    imports = [json.dumps({"ImportId": m.lower()}) for m in METADATA] + [
        json.dumps({"ImportId": f"QID{n}"}) for n, _ in enumerate(columns, start=1)
    ]
    keys = list(dict.fromkeys(r["participant_id"] for form_rows in rows.values() for r in form_rows))
    lines = [header, texts, imports]
    for n, pid in enumerate(keys):
        meta = {
            "StartDate": "",
            "EndDate": "",
            "Status": "IP Address",
            "Progress": "100",
            "Duration (in seconds)": "312",
            "Finished": "True",
            "ResponseId": f"R_synthetic{n}",
            "ExternalReference": pid,
            "DistributionChannel": "anonymous",
            "UserLanguage": "EN",
            **SECRET,
        }
        line = []
        values = {}
        for column, instrument, _, item_id, answers in columns:
            row = next((r for r in rows[instrument] if r["participant_id"] == pid), None)
            if row is None:
                continue
            meta["EndDate"] = meta["RecordedDate"] = f"{row['completed_on']} 10:15:32"
            meta["StartDate"] = f"{row['completed_on']} 10:10:20"
            code = row[item_id]
            values[column] = answers[code] if text and code else code
        line = [meta.get(m, "") for m in METADATA] + [values.get(c[0], "") for c in columns]
        lines.append(line)
    for row in extra:
        lines.append([row.get(h, "") for h in header])
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(lines)
    return buffer.getvalue()
