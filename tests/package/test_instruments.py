"""The instrument library and the definition format: what ships, what is refused, and how it is listed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from studykit import load_study
from studykit.cli import app
from studykit.errors import InstrumentDefinitionError
from studykit.instruments import LIBRARY, catalogue, library_ids, load_instruments, load_library_instrument
from studykit.instruments.model import load_definition
from typer.testing import CliRunner

TEMPLATE = Path(__file__).resolve().parents[2]
COOKIECUTTER = json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))
ITEM_COUNTS = {
    "wemwbs": 14, "swemwbs": 7, "cbi": 19, "mbi_hss": 22, "warr_cook_wall": 15,
    "phq9": 9, "phq8": 8, "gad7": 7,
}  # fmt: skip
NO_TEXT = {"wemwbs", "swemwbs", "cbi", "mbi_hss", "warr_cook_wall"}
MINIMAL = {
    "id": "demo",
    "name": "Demo scale",
    "version": "1",
    "construct": "demo",
    "citation": "Invented for a test.",
    "licence": {"item_text_allowed": True, "note": "Invented."},
    "response": {"min": 1, "max": 4},
    "items": [{"id": "item_01"}, {"id": "item_02"}],
    "scores": [
        {"id": "total", "name": "Total", "items": ["item_01", "item_02"], "method": "sum", "range": [2, 8]}
    ],
}


def write_definition(folder: Path, data: dict, name: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name or data['id']}.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


# --- the library ---------------------------------------------------------------------------------


def test_library_ids_match_the_template_prompt():
    assert library_ids() == sorted(COOKIECUTTER["__instrument_library"].split())
    assert set(library_ids()) == set(ITEM_COUNTS)


@pytest.mark.parametrize("instrument_id", sorted(ITEM_COUNTS))
def test_library_definition_loads_with_numbered_items(instrument_id):
    instrument = load_library_instrument(instrument_id)
    assert instrument.id == instrument_id
    assert instrument.source == "library"
    assert instrument.item_ids == [f"item_{n:02d}" for n in range(1, ITEM_COUNTS[instrument_id] + 1)]
    assert instrument.citation
    assert instrument.licence.note


@pytest.mark.parametrize("instrument_id", sorted(NO_TEXT))
def test_licensed_wording_is_not_shipped(instrument_id):
    instrument = load_library_instrument(instrument_id)
    assert instrument.licence.item_text_allowed is False
    assert all(item.text is None for item in instrument.items)


def test_mbi_ships_no_item_labels_and_flags_its_membership_unverified():
    mbi = load_library_instrument("mbi_hss")
    assert all(item.label == "" for item in mbi.items)
    assert set(mbi.response.labels) == {0, 6}
    assert any("unverified" in note and "membership" in note.lower() for note in mbi.notes)
    assert [s.id for s in mbi.scores] == [
        "emotional_exhaustion",
        "depersonalisation",
        "personal_accomplishment",
    ]
    assert [len(s.items) for s in mbi.scores] == [9, 5, 8]
    assert sorted(i for s in mbi.scores for i in s.items) == mbi.item_ids


@pytest.mark.parametrize("instrument_id", ["phq9", "phq8", "gad7"])
def test_phq_and_gad_ship_text_with_the_attribution(instrument_id):
    instrument = load_library_instrument(instrument_id)
    assert instrument.licence.item_text_allowed is True
    assert all(item.text for item in instrument.items)
    assert any("Pfizer" in note for note in instrument.notes)
    assert instrument.response.labels == {0: "Not at all", 1: "Several days", 2: "More than half the days",
                                          3: "Nearly every day"}  # fmt: skip


def test_phq8_is_phq9_without_item_9():
    phq9, phq8 = load_library_instrument("phq9"), load_library_instrument("phq8")
    assert [i.text for i in phq8.items] == [i.text for i in phq9.items[:8]]
    assert phq8.score("total").range == (0, 24)


def test_every_unverified_norm_is_flagged_and_explained():
    for instrument_id in library_ids():
        for norm in load_library_instrument(instrument_id).norms:
            assert norm.verified is False, (instrument_id, norm.population)
            assert norm.note, (instrument_id, norm.population)


def test_wemwbs_norms_are_gillard_and_tennant():
    norms = [(n.mean, n.sd) for n in load_library_instrument("wemwbs").norms]
    assert norms == [(51.6, 8.71), (50.7, 8.79)]
    gillard = load_library_instrument("wemwbs").norms[0]
    assert "not retrieved" in gillard.note


def test_swemwbs_conversion_is_the_published_table_and_needs_complete_data():
    metric = load_library_instrument("swemwbs").score("metric")
    assert sorted(metric.conversion) == list(range(7, 36))
    assert (metric.conversion[7], metric.conversion[21], metric.conversion[35]) == (7.0, 19.25, 35.0)
    assert metric.required_items == 7
    assert metric.prorate is False


def test_cbi_structure():
    cbi = load_library_instrument("cbi")
    assert [(s.id, s.method, s.min_items, len(s.items)) for s in cbi.scores] == [
        ("personal", "mean", 3, 6), ("work", "mean", 4, 7), ("client", "mean", 3, 6)]  # fmt: skip
    assert [i.id for i in cbi.items if i.reverse] == ["item_13"]
    for item in cbi.items:
        response = cbi.response_for(item)
        assert (response.min, response.max) == (1, 5)
        assert response.values == {1: 100, 2: 75, 3: 50, 4: 25, 5: 0}
    assert "unverified" in cbi.score("client").note


def test_scores_with_bands_stay_inside_their_range():
    phq9 = load_library_instrument("phq9").score("total")
    assert [(b.label, b.min, b.max) for b in phq9.bands][-1] == ("severe", 20, 27)


# --- the format refuses bad definitions ------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"items": [{"id": "item_01"}, {"id": "item_01"}]}, r"item ids repeat: \['item_01'\]"),
        ({"scores": [{"id": "total", "name": "T", "items": ["item_09"], "method": "sum", "range": [1, 4]}]},
         r"score 'total' names unknown items \['item_09'\]"),
        ({"licence": {"item_text_allowed": False, "note": "x"},
          "items": [{"id": "item_01", "text": "Words"}, {"id": "item_02"}]},
         r"items carry text but licence\.item_text_allowed is false"),
        ({"scores": [{"id": "total", "name": "T", "items": ["item_01", "item_02"], "method": "conversion",
                      "range": [2, 8], "conversion": {2: 2, 3: 3}}]},
         r"conversion table lacks raw sums \[4, 5, 6, 7, 8\]"),
        ({"scores": [{"id": "total", "name": "T", "items": ["item_01", "item_02"], "method": "sum",
                      "range": [2, 8], "bands": [{"label": "high", "min": 5, "max": 12}]}]},
         r"band 'high' \(5 to 12\) is out of range"),
        ({"scores": [{"id": "total", "name": "T", "items": ["item_01", "item_02"], "method": "sum",
                      "range": [2, 8], "min_items": 1}]},
         r"score 'total' adds its items \(sum\) but may be computed from 1 of its 2 items without "
         r"prorating.*set prorate: true, or remove min_items"),
        ({"scores": [{"id": "total", "name": "T", "items": ["item_01", "item_02"], "method": "conversion",
                      "range": [2, 8], "min_items": 1, "conversion": {n: n for n in range(2, 9)}}]},
         r"score 'total' adds its items \(conversion\) but may be computed from 1 of its 2"),
        ({"response": {"min": 4, "max": 1}}, r"response min \(4\) must be below max \(1\)"),
        ({"colour": "blue"}, r"colour: Extra inputs are not permitted"),
    ],
)  # fmt: skip
def test_bad_definition_is_refused_with_file_and_reason(tmp_path, change, message):
    path = write_definition(tmp_path, {**MINIMAL, **change})
    with pytest.raises(InstrumentDefinitionError, match=message) as caught:
        load_definition(path)
    assert "demo.yml" in str(caught.value)
    assert "docs/instruments.md" in str(caught.value)


@pytest.mark.parametrize(
    "changes", [{"min_items": 1, "prorate": True}, {"min_items": 2}, {"min_items": 1, "method": "mean"}]
)
def test_partial_scores_are_allowed_when_prorated_complete_or_a_mean(tmp_path, changes):
    score = {**MINIMAL["scores"][0], **changes}
    instrument = load_definition(write_definition(tmp_path, {**MINIMAL, "scores": [score]}))
    assert instrument.scores[0].required_items == score["min_items"]


def test_definition_whose_id_differs_from_its_file_name_is_refused(tmp_path):
    path = write_definition(tmp_path, MINIMAL, name="other")
    with pytest.raises(
        InstrumentDefinitionError, match=r"declares id 'demo' but the file is named 'other\.yml'"
    ):
        load_definition(path)


def test_definition_that_is_not_yaml_is_refused(tmp_path):
    path = tmp_path / "demo.yml"
    path.write_text("id: [unclosed\n", encoding="utf-8")
    with pytest.raises(InstrumentDefinitionError, match=r"demo\.yml: is not valid YAML"):
        load_definition(path)


# --- a study's own instruments ---------------------------------------------------------------------


def make_study(tmp_path: Path, instruments: list[str]) -> Path:
    design = {
        "title": "Instrument study",
        "slug": "instrument-study",
        "principal_investigator": "Study Team",
        "institution": "Test Institution",
        "contact_email": "team@example.org",
        "licences": {"data": "CC-BY-4.0", "code": "MIT"},
        "waves": [{"id": "T1", "label": "a", "offset_months": 0}],
        "instruments": instruments,
        "archive": {"target": "Zenodo"},
    }
    (tmp_path / "study.yml").write_text(yaml.safe_dump(design), encoding="utf-8")
    return tmp_path


def test_study_definitions_come_first_then_the_library(tmp_path):
    root = make_study(tmp_path, ["demo", "gad7"])
    write_definition(root / "instruments", MINIMAL)
    found = load_instruments(load_study(root))
    assert [(i.id, i.source) for i in found] == [("demo", "study"), ("gad7", "library")]


def test_unknown_instrument_names_the_library(tmp_path):
    with pytest.raises(InstrumentDefinitionError, match=r"names instrument 'nope'.*use one of: cbi, gad7"):
        load_instruments(load_study(make_study(tmp_path, ["nope"])))


def test_catalogue_lists_library_then_study_definitions(tmp_path):
    root = make_study(tmp_path, ["demo"])
    write_definition(root / "instruments", MINIMAL)
    assert [i.id for i in catalogue(load_study(root))] == [*library_ids(), "demo"]
    assert [i.id for i in catalogue()] == library_ids()


def test_instruments_command_lists_library_and_study(tmp_path):
    root = make_study(tmp_path, ["demo", "gad7"])
    write_definition(root / "instruments", MINIMAL)
    result = CliRunner().invoke(app, ["instruments", "--format", "json", "--study-dir", str(root)])
    assert result.exit_code == 0, result.output
    rows = {row["id"]: row for row in json.loads(result.stdout)}
    assert set(rows) == {*library_ids(), "demo"}
    assert (rows["demo"]["source"], rows["demo"]["in_study"]) == ("study", True)
    assert (rows["gad7"]["in_study"], rows["phq9"]["in_study"]) == (True, False)


def test_instruments_command_without_a_study_lists_the_library(tmp_path):
    result = CliRunner().invoke(app, ["instruments", "--study-dir", str(tmp_path)], terminal_width=200)
    assert result.exit_code == 0, result.output
    for instrument_id in library_ids():
        assert instrument_id in result.stdout


def test_instruments_command_exit_2_on_a_bad_study_definition(tmp_path):
    root = make_study(tmp_path, ["demo"])
    write_definition(root / "instruments", {**MINIMAL, "items": []})
    result = CliRunner().invoke(app, ["instruments", "--study-dir", str(root)])
    assert result.exit_code == 2
    assert "demo.yml" in result.stderr


def test_library_folder_holds_only_definitions():
    assert sorted(p.name for p in LIBRARY.iterdir() if p.name != "__pycache__") == [
        f"{i}.yml" for i in library_ids()
    ]
