"""datapackage.json: built from study.yml and the instruments, valid, and in step with the template."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from frictionless import Package
from studykit import load_study
from studykit.cli import app
from studykit.instruments import library_ids, load_library_instrument
from studykit.package import PROFILE, build_descriptor, drift, write_descriptor
from typer.testing import CliRunner

from tests.conftest import TEMPLATE, bake
from tests.package.designs import design
from tests.regenerate import fragments

TEMPLATE_STUDY = TEMPLATE / "{{cookiecutter.project_slug}}"
DESIGN = design(
    title='Étude test: "quotes" & ünïcode',
    description="A test study.",
    synthetic=False,
    instruments=["wemwbs", "cbi"],
)
HEADERS = {
    "participants.csv": "participant_id,group,role,site,enrolled_on,gender,age",
    "employment.csv": "participant_id,wave,recorded_on,employed_as_peer_worker,role,contract,hours_per_week",
    "qualitative/codebook.csv": "code_id,name,parent,definition",
    "qualitative/segments.csv": "segment_id,transcript,start,end,code,coder,memo",
}


def make_study(tmp_path: Path, **overrides: object) -> Path:
    """A study folder with study.yml and header-only data files for its instruments."""
    design = {**DESIGN, **overrides}
    (tmp_path / "study.yml").write_text(yaml.safe_dump(design, allow_unicode=True), encoding="utf-8")
    for name, header in HEADERS.items():
        path = tmp_path / "data" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header + "\n", encoding="utf-8")
    (tmp_path / "data" / "measures").mkdir(exist_ok=True)
    for instrument_id in design["instruments"]:  # type: ignore[union-attr]
        if instrument_id in library_ids():
            items = load_library_instrument(instrument_id).item_ids
            header = ",".join(["participant_id", "wave", "completed_on", *items])
            (tmp_path / "data" / "measures" / f"{instrument_id}.csv").write_text(
                header + "\n", encoding="utf-8"
            )
    return tmp_path


def frictionless_errors(descriptor_path: Path) -> list[str]:
    report = Package(str(descriptor_path)).validate()
    return [f"{task.name}: {e.type}: {e.note}" for task in report.tasks for e in task.errors] + [
        f"{e.type}: {e.note}" for e in report.errors
    ]


# --- the descriptor --------------------------------------------------------------------------


def test_head_comes_from_study_yml(tmp_path):
    descriptor = build_descriptor(load_study(make_study(tmp_path)))
    assert descriptor["$schema"] == PROFILE
    assert descriptor["name"] == "test-study"
    assert descriptor["title"] == DESIGN["title"]
    assert descriptor["licenses"] == [{"name": "CC-BY-4.0"}]
    assert descriptor["contributors"] == [
        {
            "title": "Study Team",
            "email": "team@example.org",
            "organization": "Test Institution",
            "roles": ["creator", "contact"],
        }
    ]


def test_resources_follow_study_yml_order(tmp_path):
    study = load_study(make_study(tmp_path, instruments=["phq9", "wemwbs", "gad7"]))
    names = [r["name"] for r in build_descriptor(study)["resources"]]
    assert names == [
        "participants",
        "employment",
        "measures-phq9",
        "measures-wemwbs",
        "measures-gad7",
        "codebook",
        "segments",
    ]


def test_no_qualitative_resources_without_a_qualitative_strand(tmp_path):
    study = load_study(make_study(tmp_path, strands={"qualitative": []}))
    names = [r["name"] for r in build_descriptor(study)["resources"]]
    assert names == ["participants", "employment", "measures-wemwbs", "measures-cbi"]


def test_item_fields_carry_range_labels_and_categories(tmp_path):
    study = load_study(make_study(tmp_path))
    cbi = next(r for r in build_descriptor(study)["resources"] if r["name"] == "measures-cbi")
    fields = {f["name"]: f for f in cbi["schema"]["fields"]}
    assert cbi["path"] == "data/measures/cbi.csv"
    assert list(fields)[:4] == ["participant_id", "wave", "completed_on", "item_01"]
    item = fields["item_07"]
    assert item["type"] == "integer"
    assert item["constraints"] == {"minimum": 1, "maximum": 5}
    assert item["categories"][0] == {"value": 1, "label": "To a very high degree"}
    assert "Reverse-scored" in fields["item_13"]["description"]
    assert cbi["schema"]["primaryKey"] == ["participant_id", "wave"]
    assert cbi["schema"]["foreignKeys"] == [
        {
            "fields": ["participant_id"],
            "reference": {"resource": "participants", "fields": ["participant_id"]},
        }
    ]


def test_partial_labels_go_to_the_description_not_categories(tmp_path):
    study = load_study(make_study(tmp_path, instruments=["mbi_hss"]))
    mbi = next(r for r in build_descriptor(study)["resources"] if r["name"] == "measures-mbi_hss")
    item = next(f for f in mbi["schema"]["fields"] if f["name"] == "item_01")
    assert "categories" not in item
    assert "0 = Never; 6 = Every day" in item["description"]


def test_wave_has_no_enum_and_every_key_field_is_required(tmp_path):
    descriptor = build_descriptor(load_study(make_study(tmp_path)))
    for resource in descriptor["resources"]:
        fields = {f["name"]: f for f in resource["schema"]["fields"]}
        for key in resource["schema"]["primaryKey"]:
            assert fields[key]["constraints"]["required"] is True, (resource["name"], key)
        if "wave" in fields:
            assert "enum" not in fields["wave"].get("constraints", {})
        assert resource["schema"]["missingValues"] == [""]
        assert (resource["type"], resource["format"], resource["mediatype"], resource["encoding"]) == (
            "table",
            "csv",
            "text/csv",
            "utf-8",
        )


def test_stored_score_columns_become_optional_number_fields(tmp_path):
    root = make_study(tmp_path, instruments=["swemwbs"])
    items = load_library_instrument("swemwbs").item_ids
    (root / "data" / "measures" / "swemwbs.csv").write_text(
        ",".join(["participant_id", "wave", "completed_on", *items, "metric"])
        + "\n"
        + "P001,T1,2024-01-10,3,3,3,3,3,3,3,20.73\n",
        encoding="utf-8",
    )
    (root / "data" / "participants.csv").write_text(
        HEADERS["participants.csv"] + "\nP001,peer worker,,,2024-01-01,,\n", encoding="utf-8"
    )
    study = load_study(root)
    resource = next(r for r in build_descriptor(study)["resources"] if r["name"] == "measures-swemwbs")
    last = resource["schema"]["fields"][-1]
    assert (last["name"], last["type"], last["constraints"]) == (
        "metric",
        "number",
        {"minimum": 7, "maximum": 35},
    )
    write_descriptor(study)
    assert frictionless_errors(study.datapackage_path) == []


def test_frictionless_accepts_an_empty_study_with_every_instrument(tmp_path):
    study = load_study(make_study(tmp_path, instruments=library_ids()))
    path = write_descriptor(study)
    assert path.read_text(encoding="utf-8").endswith("}\n")
    assert frictionless_errors(path) == []


def test_frictionless_accepts_data_that_follow_the_formats_and_flags_what_does_not(tmp_path):
    root = make_study(tmp_path, instruments=["phq9"])
    (root / "data" / "participants.csv").write_text(
        HEADERS["participants.csv"] + "\nP001,peer worker,Peer support worker,S1,2024-01-10,woman,34\n"
        "P002,manager,,,2024-01-12,,\n",
        encoding="utf-8",
    )
    (root / "data" / "employment.csv").write_text(
        HEADERS["employment.csv"]
        + "\nP001,T1,2024-01-10,true,,permanent,37.5\nP002,T1,2024-01-12,false,,,\n",
        encoding="utf-8",
    )
    phq9 = root / "data" / "measures" / "phq9.csv"
    phq9.write_text(
        phq9.read_text(encoding="utf-8") + "P001,T1,2024-01-11,0,1,2,3,,0,1,2,3\n", encoding="utf-8"
    )
    (root / "data" / "qualitative" / "codebook.csv").write_text(
        HEADERS["qualitative/codebook.csv"]
        + "\nC01,Belonging,,Feeling part of the team\nC02,Being seen,C01,\n",
        encoding="utf-8",
    )
    (root / "data" / "qualitative" / "segments.csv").write_text(
        HEADERS["qualitative/segments.csv"] + "\nS0001,INT-P001-T1,0,10,C02,R1,\n", encoding="utf-8"
    )
    path = write_descriptor(load_study(root))
    assert frictionless_errors(path) == []

    phq9.write_text(
        phq9.read_text(encoding="utf-8") + "P009,T1,2024-01-11,0,1,2,3,4,0,1,2,3\n", encoding="utf-8"
    )
    errors = frictionless_errors(path)
    assert any("constraint-error" in e and "maximum" in e for e in errors)
    assert any("foreign-key" in e for e in errors)


# --- drift ------------------------------------------------------------------------------------


def test_drift_is_empty_after_sync(tmp_path):
    study = load_study(make_study(tmp_path))
    write_descriptor(study)
    assert drift(study) == []


def test_drift_names_a_missing_file(tmp_path):
    assert drift(load_study(make_study(tmp_path))) == [
        "datapackage.json is missing; run `studykit package sync` to write it."
    ]


def test_drift_names_added_instruments_and_changed_titles(tmp_path):
    root = make_study(tmp_path)
    write_descriptor(load_study(root))
    changed = load_study(make_study(root, instruments=["wemwbs", "gad7"], title="New title"))
    sentences = drift(changed)
    assert "Resources missing from datapackage.json: measures-gad7." in sentences
    assert "Resources sync would remove (not in study.yml): measures-cbi." in sentences
    assert any(s.startswith("The package's title is") and '"New title"' in s for s in sentences)


def test_drift_names_a_changed_field(tmp_path):
    study = load_study(make_study(tmp_path))
    path = write_descriptor(study)
    descriptor = json.loads(path.read_text(encoding="utf-8"))
    descriptor["resources"][2]["schema"]["fields"][3]["constraints"]["maximum"] = 7
    path.write_text(json.dumps(descriptor), encoding="utf-8")
    assert drift(study) == ["Resource 'measures-wemwbs', field 'item_01': constraints differ."]


# --- the command ------------------------------------------------------------------------------


def test_package_sync_writes_and_check_passes(tmp_path):
    root = make_study(tmp_path)
    runner = CliRunner()
    result = runner.invoke(app, ["package", "sync", "--study-dir", str(root)])
    assert result.exit_code == 0, result.output
    assert json.loads((root / "datapackage.json").read_text(encoding="utf-8")) == build_descriptor(
        load_study(root)
    )
    result = runner.invoke(app, ["package", "sync", "--check", "--study-dir", str(root)])
    assert result.exit_code == 0, result.output


def test_package_sync_check_exits_1_and_writes_nothing(tmp_path):
    root = make_study(tmp_path)
    result = CliRunner().invoke(app, ["package", "sync", "--check", "--study-dir", str(root)])
    assert result.exit_code == 1
    assert "datapackage.json is missing" in result.output
    assert not (root / "datapackage.json").exists()


# --- the template's fragments and the bake ------------------------------------------------------


def test_template_fragments_are_up_to_date():
    stale = [
        path
        for path, text in fragments().items()
        if not (TEMPLATE / path).is_file() or (TEMPLATE / path).read_text(encoding="utf-8") != text
    ]
    assert stale == [], "generated template files are out of date: run `nox -s fragments`"
    extra = sorted(
        p.name
        for p in (TEMPLATE_STUDY / ".bake" / "resources").glob("*.json")
        if (p.relative_to(TEMPLATE).as_posix()) not in fragments()
    )
    assert extra == [], "stale fragments in .bake/resources: run `nox -s fragments`"


BAKES = {
    "defaults": {},
    "no-example": {"include_example_data": "no"},
    "phq9-gad7": {"instruments": "phq9, gad7", "include_example_data": "no"},
    "no-qualitative": {"qualitative": "none", "include_example_data": "no"},
    "every-instrument": {
        "instruments": ", ".join(library_ids()),
        "include_example_data": "no",
        "study_title": 'Étude "ünïcode" d\'été',
    },
}


@pytest.mark.parametrize("name", list(BAKES))
def test_baked_datapackage_equals_what_sync_would_write(tmp_path, name):
    study_dir = bake(tmp_path, **BAKES[name])
    on_disk = json.loads((study_dir / "datapackage.json").read_text(encoding="utf-8"))
    study = load_study(study_dir)
    assert build_descriptor(study) == on_disk
    assert drift(study) == []
    assert frictionless_errors(study_dir / "datapackage.json") == []
