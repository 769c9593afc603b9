"""datapackage.json from study.yml and the instrument definitions; the drift check.

The descriptor is a Frictionless Data Package (v2). Its head comes from study.yml,
its resources from docs/data-formats.md (participants, employment, the qualitative
files) and from each instrument definition (one measures table per instrument:
item types, ranges, labels and value labels). ``studykit package sync`` writes it;
``drift`` says in sentences how the file on disk differs from what sync would write,
so validation can fail when the two part. The template carries the same resources
as fragments (``tests/regenerate.py``), so a freshly baked study is already in sync.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from studykit.files import LINK_OUTSIDE_FIX, leads_out_of_study, link_outside_sentence, write_file
from studykit.files import study_relative as _relative
from studykit.instruments import Instrument, load_instruments
from studykit.instruments.model import Item
from studykit.study import PARTICIPANT_ID_PATTERN, Study

PROFILE = "https://datapackage.org/profiles/2.0/datapackage.json"
GROUPS = ["peer worker", "non-peer professional", "manager", "other"]
CONTRACTS = ["permanent", "fixed-term", "bank", "zero-hours", "volunteer", "none"]

__all__ = [
    "PROFILE",
    "access_property",
    "build_descriptor",
    "codebook_resource",
    "create_missing_tables",
    "drift",
    "dumps",
    "employment_resource",
    "header_row",
    "measures_resource",
    "package_head",
    "participants_resource",
    "segments_resource",
    "stored_scores",
    "write_descriptor",
]


def dumps(descriptor: dict[str, Any]) -> str:
    """The one serialisation of a descriptor or fragment: what sync writes and the template ships."""
    return json.dumps(descriptor, indent=2, ensure_ascii=False) + "\n"


def _field(
    name: str, kind: str, title: str = "", description: str = "", **constraints: Any
) -> dict[str, Any]:
    field: dict[str, Any] = {"name": name, "type": kind}
    if title:
        field["title"] = title
    if description:
        field["description"] = description
    if constraints:
        field["constraints"] = constraints
    return field


def _participant_id(*, unique: bool = False) -> dict[str, Any]:
    constraints: dict[str, Any] = {"required": True, "pattern": PARTICIPANT_ID_PATTERN}
    if unique:
        constraints["unique"] = True
    return _field("participant_id", "string", "Participant id", "Pseudonymous participant id.", **constraints)


def _wave() -> dict[str, Any]:
    # No enum: fragments must not depend on the answers. The measures layer checks wave
    # ids against study.yml.
    return _field("wave", "string", "Wave", "A wave id from study.yml (T1, T2, ...).", required=True)


def access_property(study: Study, name: str) -> dict[str, Any]:
    """The resource's ``access`` (tier, personal_data, consent_scope, conditions, embargo_until)."""
    access = study.access_for(name).model_dump(mode="json")
    if access["embargo_until"] is None:
        del access["embargo_until"]
    return access


def _table(
    study: Study,
    name: str,
    path: str,
    title: str,
    fields: list[dict[str, Any]],
    primary_key: list[str],
    foreign_keys: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    schema: dict[str, Any] = {"fields": fields, "missingValues": [""], "primaryKey": primary_key}
    if foreign_keys:
        schema["foreignKeys"] = list(foreign_keys)
    return {
        "name": name,
        "path": path,
        "type": "table",
        "title": title,
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "schema": schema,
        "access": access_property(study, name),
    }


def _to_participants(field: str = "participant_id") -> dict[str, Any]:
    return {"fields": [field], "reference": {"resource": "participants", "fields": ["participant_id"]}}


def participants_resource(study: Study) -> dict[str, Any]:
    """data/participants.csv: one row per participant."""
    fields = [
        _participant_id(unique=True),
        _field("group", "string", "Group", "Participant group.", required=True, enum=GROUPS),
        _field("role", "string", "Role", "Job title (optional)."),
        _field("site", "string", "Site", "Site or team code; not a real organisation name in deposits."),
        _field(
            "enrolled_on", "date", "Enrolled on", "Enrolment date; wave windows count from it.", required=True
        ),
        _field("gender", "string", "Gender", "Self-described (optional)."),
        _field("age", "integer", "Age", "Age in years (optional).", minimum=16, maximum=100),
    ]
    return _table(
        study,
        "participants",
        _relative(study, study.participants_path),
        "Participants",
        fields,
        ["participant_id"],
    )


def employment_resource(study: Study) -> dict[str, Any]:
    """data/employment.csv: one row per participant and wave."""
    fields = [
        _participant_id(),
        _wave(),
        _field(
            "recorded_on", "date", "Recorded on", "Date the employment status was recorded.", required=True
        ),
        _field(
            "employed_as_peer_worker",
            "boolean",
            "Employed as peer worker",
            "Whether the participant is employed as a peer worker at this wave.",
            required=True,
        ),
        _field("role", "string", "Role", "Job title at this wave (optional)."),
        _field("contract", "string", "Contract", "Contract type (optional).", enum=CONTRACTS),
        _field(
            "hours_per_week",
            "number",
            "Hours per week",
            "Contracted hours (optional).",
            minimum=0,
            maximum=80,
        ),
    ]
    return _table(
        study,
        "employment",
        _relative(study, study.employment_path),
        "Employment",
        fields,
        ["participant_id", "wave"],
        [_to_participants()],
    )


def _labels_text(labels: dict[int, str]) -> str:
    return "; ".join(f"{code} = {label}" for code, label in sorted(labels.items()))


def _item_field(instrument: Instrument, item: Item) -> dict[str, Any]:
    response = instrument.response_for(item)
    parts = [item.text or ""]
    if item.reverse:
        parts.append("Reverse-scored.")
    complete = set(response.labels) == set(range(response.min, response.max + 1))
    if response.labels and not complete:
        # Table Schema categories restrict values to those listed, so partial labels
        # (only some anchors verified) go in the description instead.
        parts.append(f"Labelled codes: {_labels_text(response.labels)}.")
    field = _field(
        item.id,
        "integer",
        item.label or item.id,
        " ".join(p for p in parts if p),
        minimum=response.min,
        maximum=response.max,
    )
    if complete:
        field["categories"] = [
            {"value": code, "label": response.labels[code]} for code in sorted(response.labels)
        ]
    return field


def measures_resource(study: Study, instrument: Instrument, scores: Iterable[str] = ()) -> dict[str, Any]:
    """data/measures/<id>.csv: one row per participant and wave; ``scores`` are stored score columns."""
    stored = set(scores)
    fields = [
        _participant_id(),
        _wave(),
        _field(
            "completed_on", "date", "Completed on", "Date the questionnaire was completed.", required=True
        ),
        *(_item_field(instrument, item) for item in instrument.items),
        *(
            _field(
                score.id,
                "number",
                score.name,
                f"Stored score, checked against the items. {score.note}".strip(),
                minimum=score.range[0],
                maximum=score.range[1],
            )
            for score in instrument.scores
            if score.id in stored
        ),
    ]
    return _table(
        study,
        f"measures-{instrument.id}",
        _relative(study, study.measures_path(instrument.id)),
        instrument.name,
        fields,
        ["participant_id", "wave"],
        [_to_participants()],
    )


def codebook_resource(study: Study) -> dict[str, Any]:
    """data/qualitative/codebook.csv: the codes of the qualitative analysis."""
    fields = [
        _field("code_id", "string", "Code id", "Stable code identifier.", required=True, unique=True),
        _field("name", "string", "Name", "Code name.", required=True),
        _field("parent", "string", "Parent", "The parent code's code_id, blank for a top-level code."),
        _field("definition", "string", "Definition", "What the code means and when to apply it."),
    ]
    parent = {"fields": ["parent"], "reference": {"resource": "codebook", "fields": ["code_id"]}}
    return _table(
        study, "codebook", _relative(study, study.codebook_path), "Codebook", fields, ["code_id"], [parent]
    )


def segments_resource(study: Study) -> dict[str, Any]:
    """data/qualitative/segments.csv: coded stretches of transcripts."""
    fields = [
        _field(
            "segment_id", "string", "Segment id", "Stable segment identifier.", required=True, unique=True
        ),
        _field(
            "transcript", "string", "Transcript", "Transcript id (its file name without .md).", required=True
        ),
        _field(
            "start",
            "integer",
            "Start",
            "First code point of the segment in the transcript body (0-based).",
            required=True,
            minimum=0,
        ),
        _field(
            "end",
            "integer",
            "End",
            "Code point after the segment's last (end exclusive).",
            required=True,
            minimum=0,
        ),
        _field("code", "string", "Code", "The code_id applied.", required=True),
        _field("coder", "string", "Coder", "Who applied the code (researcher id)."),
        _field("memo", "string", "Memo", "Coder's note (optional)."),
    ]
    code = {"fields": ["code"], "reference": {"resource": "codebook", "fields": ["code_id"]}}
    return _table(
        study,
        "segments",
        _relative(study, study.segments_path),
        "Coded segments",
        fields,
        ["segment_id"],
        [code],
    )


def package_head(study: Study) -> dict[str, Any]:
    """Everything before ``resources``: the same keys the template renders in .bake/package.json."""
    return {
        "$schema": PROFILE,
        "name": study.slug,
        "title": study.title,
        "description": study.description,
        "version": study.version,
        "licenses": [{"name": study.licences.data}],
        "contributors": [
            {
                "title": study.principal_investigator,
                "email": study.contact_email,
                "organization": study.institution,
                "roles": ["creator", "contact"],
            }
        ],
    }


def stored_scores(study: Study, instrument: Instrument) -> list[str]:
    """Score ids that the instrument's CSV stores as columns (read from its header only)."""
    path = study.measures_path(instrument.id)
    try:
        with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
            header = next(csv.reader(handle), [])
    except OSError:
        return []
    names = {name.strip() for name in header}
    return [score.id for score in instrument.scores if score.id in names]


def build_descriptor(study: Study) -> dict[str, Any]:
    """The data package sync would write for this study."""
    resources = [participants_resource(study), employment_resource(study)]
    for instrument in load_instruments(study):
        resources.append(measures_resource(study, instrument, stored_scores(study, instrument)))
    if study.strands.qualitative:
        resources += [codebook_resource(study), segments_resource(study)]
    return {**package_head(study), "resources": resources}


def header_row(resource: dict[str, Any]) -> str:
    """The CSV header line of a table resource: its field names, in order."""
    line = io.StringIO()
    csv.writer(line, lineterminator="\n").writerow(f["name"] for f in resource["schema"]["fields"])
    return line.getvalue()


def create_missing_tables(study: Study) -> list[Path]:
    """Create every table the data package describes that the study lacks, as its header row only.

    After an instrument or a strand is added to study.yml, ``studykit package sync`` calls this
    so nobody types a header by hand. A file that exists (or a link) is never touched.
    """
    created = []
    for resource in build_descriptor(study)["resources"]:
        path = study.root / resource["path"]
        if path.exists() or path.is_symlink():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8", newline="") as handle:  # "x": never overwrites
            handle.write(header_row(resource))
        created.append(path)
    return created


def write_descriptor(study: Study) -> Path:
    """Write datapackage.json (``studykit package sync``); return its path.

    Written atomically, and never through a link or outside the study.
    """
    return write_file(study.datapackage_path, dumps(build_descriptor(study)), within=study.root)


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _resource_drift(name: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    sentences = []
    for key in sorted((set(old) | set(new)) - {"schema"}):
        if old.get(key) != new.get(key):
            sentences.append(
                f"Resource {name!r}: {key} is {_show(old.get(key))}, sync would write {_show(new.get(key))}."
            )
    old_schema, new_schema = old.get("schema") or {}, new.get("schema") or {}
    if not isinstance(old_schema, dict):  # a schema given by path or URL instead of inline
        return [*sentences, f"Resource {name!r}: schema is {_show(old_schema)}, sync would write it inline."]
    old_fields = {f.get("name"): f for f in old_schema.get("fields", []) if isinstance(f, dict)}
    new_fields = {f["name"]: f for f in new_schema.get("fields", [])}
    added = [f for f in new_fields if f not in old_fields]
    removed = [f for f in old_fields if f not in new_fields]
    if added:
        sentences.append(f"Resource {name!r} lacks fields {', '.join(map(str, added))}.")
    if removed:
        sentences.append(f"Resource {name!r} has fields sync would remove: {', '.join(map(str, removed))}.")
    for field, definition in new_fields.items():
        if field in old_fields and old_fields[field] != definition:
            keys = sorted(
                k
                for k in set(definition) | set(old_fields[field])
                if definition.get(k) != old_fields[field].get(k)
            )
            sentences.append(f"Resource {name!r}, field {field!r}: {', '.join(keys)} differ.")
    if not added and not removed and list(old_fields) != list(new_fields):
        sentences.append(f"Resource {name!r}: fields are in a different order.")
    for key in sorted((set(old_schema) | set(new_schema)) - {"fields"}):
        if old_schema.get(key) != new_schema.get(key):
            sentences.append(
                f"Resource {name!r}: schema {key} is {_show(old_schema.get(key))}, "
                f"sync would write {_show(new_schema.get(key))}."
            )
    return sentences


def drift(study: Study) -> list[str]:
    """Sentences naming how datapackage.json differs from what sync would write ([] when in sync)."""
    path = study.datapackage_path
    if not path.is_file():
        return ["datapackage.json is missing; run `studykit package sync` to write it."]
    if (target := leads_out_of_study(path)) is not None:
        return [f"datapackage.json {link_outside_sentence(target)}. {LINK_OUTSIDE_FIX}"]
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return [f"datapackage.json is not valid JSON ({exc}); run `studykit package sync` to rewrite it."]
    if not isinstance(old, dict):
        return ["datapackage.json is not a JSON object; run `studykit package sync` to rewrite it."]
    new = build_descriptor(study)
    sentences = [
        f"The package's {key} is {_show(old.get(key))}, sync would write {_show(new.get(key))}."
        for key in sorted((set(old) | set(new)) - {"resources"})
        if old.get(key) != new.get(key)
    ]
    old_resources = {r.get("name"): r for r in old.get("resources", []) if isinstance(r, dict)}
    new_resources = {r["name"]: r for r in new["resources"]}
    missing = [n for n in new_resources if n not in old_resources]
    extra = [n for n in old_resources if n not in new_resources]
    if missing:
        sentences.append(f"Resources missing from datapackage.json: {', '.join(missing)}.")
    if extra:
        sentences.append(f"Resources sync would remove (not in study.yml): {', '.join(map(str, extra))}.")
    for name, resource in new_resources.items():
        if name in old_resources and old_resources[name] != resource:
            sentences.extend(_resource_drift(name, old_resources[name], resource))
    if not missing and not extra and list(old_resources) != list(new_resources):
        sentences.append("Resources are in a different order from study.yml.")
    if not sentences and old != new:
        sentences.append("datapackage.json differs from what sync would write.")
    return sentences
