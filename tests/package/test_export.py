"""Labelled exports: every file read back with pyreadstat and compared with the instrument definitions."""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl
import pyreadstat
import pytest
import yaml
from studykit import load_study
from studykit.cli import app
from studykit.codebook import codebook_markdown
from studykit.errors import DataErrorsFound, StudyConfigError
from studykit.export import LIMITS, export_names, export_study, item_label, short_name
from studykit.instruments import library_ids, load_instrument, load_library_instrument
from studykit.instruments.scoring import score_frame
from studykit.package import write_descriptor
from typer.testing import CliRunner

from tests.conftest import bake
from tests.package import designs

READ = {"spss": pyreadstat.read_sav, "stata": pyreadstat.read_dta}
SUFFIX = {"spss": ".sav", "stata": ".dta"}
CONSENT_HEADER = (
    "participant_id,form_version,consented_on,participate,audio_recording,direct_quotation,archiving,"
    "future_contact\n"
)
PARTICIPANTS = (
    "participant_id,group,role,site,enrolled_on,gender,age\n"
    "P001,peer worker,=HYPERLINK(\"x\"),S1,2024-01-01,,30\n"
    "P002,manager,,S2,2024-01-01,,41\n"
    "P003,peer worker,,S1,2024-01-01,,52\n"
)
EMPLOYMENT = (
    "participant_id,wave,recorded_on,employed_as_peer_worker,role,contract,hours_per_week\n"
    "P001,T1,2024-01-05,true,,fixed-term,15\n"
    "P002,T1,2024-01-06,false,,permanent,37.5\n"
    "P003,T1,2024-01-06,true,,bank,20\n"
)
# P003 asks to remove all data long after collection: the policy keeps the row for analysis
# (outside the 14-day window), but no export may carry it.
REMOVAL = "P003,2024-12-01,Asked for all data to be removed,remove all data\n"


def _codes(instrument_id: str, row: int) -> list[int | None]:
    """Every response code of every item over the rows; one blank on the last row."""
    instrument = load_library_instrument(instrument_id)
    codes: list[int | None] = []
    for index, item in enumerate(instrument.items):
        response = instrument.response_for(item)
        span = response.max - response.min + 1
        codes.append(response.min + (row + index) % span)
    return codes


def make_study(
    tmp_path: Path,
    instruments: list[str],
    *,
    rows: dict[str, list[str]] | None = None,
    own: dict[str, dict] | None = None,
) -> Path:
    """A small study with these instruments, two waves of data each, and a removal request."""
    root = tmp_path / "study"
    design = designs.design(instruments=instruments, strands={}, archive={"target": "Zenodo"})
    files = {
        "study.yml": yaml.safe_dump(design),
        "data/participants.csv": PARTICIPANTS,
        "data/employment.csv": EMPLOYMENT,
        "governance/consent.csv": CONSENT_HEADER
        + "".join(f"P00{i},1.0,2024-01-01,yes,yes,yes,yes,yes\n" for i in (1, 2, 3)),
        "governance/withdrawals.csv": "participant_id,withdrawn_on,reason,scope\n" + REMOVAL,
        "governance/ethics.yml": "approvals: []\n",
    }
    for instrument_id, definition in (own or {}).items():
        files[f"instruments/{instrument_id}.yml"] = yaml.safe_dump(definition, sort_keys=False)
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    study = load_study(root)
    for instrument_id in instruments:
        items = load_instrument(study, instrument_id).item_ids
        header = ",".join(["participant_id", "wave", "completed_on", *items])
        if rows and instrument_id in rows:
            body = rows[instrument_id]
        else:
            body = []
            for n, (pid, wave, day) in enumerate(
                [("P001", "T1", "2024-01-05"), ("P002", "T1", "2024-01-06"), ("P003", "T1", "2024-01-06"),
                 ("P001", "T2", "2024-05-03")]
            ):  # fmt: skip
                codes = _codes(instrument_id, n)
                if n == 3:
                    codes[-1] = None
                body.append(",".join([pid, wave, day, *("" if c is None else str(c) for c in codes)]))
        path = root / "data" / "measures" / f"{instrument_id}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header + "\n" + "\n".join(body) + "\n", encoding="utf-8")
    write_descriptor(study)
    return root


def fits(text: str, to: str) -> str:
    limits = LIMITS[to]
    if limits.unit == "characters":
        return text[: limits.variable_label]
    return text.encode("utf-8")[: limits.variable_label].decode("utf-8", errors="ignore")


# --- a round trip of every shipped instrument ---------------------------------------------------


@pytest.fixture(scope="module")
def library_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_study(tmp_path_factory.mktemp("library"), library_ids())


@pytest.mark.parametrize("to", ["spss", "stata"])
@pytest.mark.parametrize("instrument_id", library_ids())
def test_every_shipped_instrument_round_trips_values_and_labels(library_study, tmp_path, to, instrument_id):
    study = load_study(library_study)
    export_study(study, to, tmp_path)
    instrument = load_library_instrument(instrument_id)
    frame, meta = READ[to](tmp_path / f"measures-{instrument_id}{SUFFIX[to]}", output_format="polars")

    source = pl.read_csv(study.measures_path(instrument_id), infer_schema_length=0)
    kept = source.filter(pl.col("participant_id") != "P003")  # removal requested: never exported
    assert frame.get_column("participant_id").to_list() == kept.get_column("participant_id").to_list()
    for item in instrument.items:
        expected = [None if v is None else float(v) for v in kept.get_column(item.id).to_list()]
        assert frame.get_column(item.id).cast(pl.Float64).to_list() == expected
        label = meta.column_names_to_labels[item.id]
        if instrument.licence.item_text_allowed and item.text:
            assert label == fits(item.text, to)
        else:
            assert label.startswith(f"{short_name(instrument)} {item.id}")
            assert item.text is None or item.text not in label
        assert label == fits(item_label(instrument, item), to)
        labels = {int(k): v for k, v in meta.variable_value_labels[item.id].items()}
        assert labels == dict(instrument.response_for(item).labels)
    assert frame.schema["completed_on"] == pl.Date

    typed = kept.with_columns(pl.col(i).cast(pl.Int64) for i in instrument.item_ids)
    scores = score_frame(instrument, typed)
    for score in instrument.scores:
        assert frame.get_column(score.id).to_list() == scores.get_column(score.id).to_list()
        assert meta.column_names_to_labels[score.id] == fits(f"{short_name(instrument)}: {score.name}", to)
    if to == "spss":
        assert {meta.variable_measure[i] for i in instrument.item_ids} == {"ordinal"}
        assert {meta.variable_measure[s.id] for s in instrument.scores} == {"scale"}
        assert meta.variable_measure["participant_id"] == "nominal"


def test_wemwbs_labels_are_scale_id_and_short_label_and_phq9_labels_are_item_text():
    wemwbs, phq9 = load_library_instrument("wemwbs"), load_library_instrument("phq9")
    assert item_label(wemwbs, wemwbs.item("item_01")) == "WEMWBS item_01: optimistic"
    assert item_label(phq9, phq9.item("item_01")) == "Little interest or pleasure in doing things"


def test_participants_and_employment_keep_dates_booleans_and_labels(library_study, tmp_path):
    export_study(load_study(library_study), "spss", tmp_path)
    frame, meta = pyreadstat.read_sav(tmp_path / "employment.sav", output_format="polars")
    assert frame.schema["recorded_on"] == pl.Date
    assert frame.get_column("employed_as_peer_worker").to_list() == [1, 0]
    assert meta.variable_value_labels["employed_as_peer_worker"] == {0: "no", 1: "yes"}
    assert meta.column_names_to_labels["hours_per_week"] == "Hours per week"
    people, _ = pyreadstat.read_sav(tmp_path / "participants.sav", output_format="polars")
    assert people.get_column("participant_id").to_list() == ["P001", "P002"]
    assert people.schema["enrolled_on"] == pl.Date


# --- consent ------------------------------------------------------------------------------------


@pytest.mark.parametrize("to", ["spss", "stata", "csv"])
def test_remove_all_data_never_appears_even_when_the_policy_keeps_it_for_analysis(tmp_path, to):
    study = load_study(make_study(tmp_path, ["gad7"]))
    result = export_study(study, to, tmp_path / "out")
    for path in result.files:
        assert b"P003" not in path.read_bytes(), path.name
    rules = {(e["rule"], e["resource"]) for e in result.exclusions}
    assert ("removal_requested", "measures-gad7") in rules
    assert ("removal_requested", "participants") in rules


def test_deposit_scope_also_needs_archiving_consent(tmp_path):
    root = make_study(tmp_path, ["gad7"])
    consent = root / "governance" / "consent.csv"
    consent.write_text(consent.read_text().replace("P002,1.0,2024-01-01,yes,yes,yes,yes,yes",
                                                   "P002,1.0,2024-01-01,yes,yes,yes,no,yes"))  # fmt: skip
    result = export_study(load_study(root), "csv", tmp_path / "out", scope="deposit")
    table = pl.read_csv(tmp_path / "out" / "measures-gad7.csv")
    assert table.get_column("participant_id").unique().to_list() == ["P001"]
    assert result.scope == "deposit"


# --- scoring refuses data errors as `studykit score` does ---------------------------------------


def test_export_refuses_data_errors_where_scoring_looks(tmp_path):
    bad = {"gad7": ["P001,T1,2024-01-05,1,1,1,9,1,1,1", "P002,T1,2024-01-06,0,0,0,0,0,0,0"]}
    study = load_study(make_study(tmp_path, ["gad7"], rows=bad))
    with pytest.raises(DataErrorsFound, match="Scoring stopped"):
        export_study(study, "spss", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    export_study(study, "spss", tmp_path / "out", allow_errors=True)
    frame, _ = pyreadstat.read_sav(tmp_path / "out" / "measures-gad7.sav", output_format="polars")
    # The out-of-range item counts as unanswered: GAD-7 prorates one missing item (6 x 7/6).
    assert frame.get_column("total").to_list() == [7.0, 0.0]
    assert frame.get_column("item_04").to_list() == [9, 0]
    assert "item_04" in frame.get_column("left_out").to_list()[0]


def test_cli_export_exits_1_on_data_errors(tmp_path):
    bad = {"gad7": ["P001,T1,2024-01-05,1,1,1,9,1,1,1"]}
    root = make_study(tmp_path, ["gad7"], rows=bad)
    result = CliRunner().invoke(app, ["export", "--to", "stata", "-C", str(root)])
    assert result.exit_code == 1
    assert not (root / "exports").exists()


# --- names and labels the formats cannot hold ---------------------------------------------------

LONG_A = "wellbeing_at_work_item_about_feeling_valued_by_team"
LONG_B = "wellbeing_at_work_item_about_feeling_valued_by_manager"
AWKWARD = {
    "id": "awkward",
    "name": "Awkward names scale",
    "version": "1",
    "construct": "awkwardness",
    "citation": "Invented for a test.",
    "licence": {"item_text_allowed": True, "note": "Invented."},
    "response": {"min": 1, "max": 3, "labels": {1: "no", 2: "partly " + "x" * 130, 3: "yes"}},
    "items": [
        {"id": "with", "text": "An item whose id is an SPSS and Stata reserved word"},
        {"id": "if", "text": "An item whose id is a Stata reserved word"},
        {"id": LONG_A, "text": "A long id"},
        {"id": LONG_B, "text": "Another long id with the same first 32 characters"},
        {"id": "str12", "text": "Looks like a Stata string type " + "and a label longer than eighty " * 9},
    ],
    "scores": [
        {"id": "all", "name": "Total", "items": ["with", "if", LONG_A, LONG_B, "str12"], "method": "sum",
         "range": [5, 15]},
    ],
}  # fmt: skip


def test_export_names_are_legal_and_deterministic():
    names = export_names(["with", "if", "Ünïcode name", "2nd", "_n", "Item", "item", LONG_A, LONG_B], "stata")
    assert names == {
        "with": "v_with",
        "if": "v_if",
        "Ünïcode name": "Unicode_name",
        "2nd": "v_2nd",
        "_n": "v_n",
        "Item": "Item",
        "item": "item_2",
        LONG_A: LONG_A[:31],
        LONG_B: LONG_B[:29] + "_2",
    }
    spss = export_names(["with", "if", LONG_A, LONG_B], "spss")
    assert spss == {"with": "v_with", "if": "if", LONG_A: LONG_A, LONG_B: LONG_B}
    assert export_names(["with"], "csv") == {"with": "with"}


@pytest.mark.parametrize("to", ["spss", "stata"])
def test_awkward_names_are_mapped_and_written_to_variables_csv_and_the_codebook(tmp_path, to):
    study = load_study(make_study(tmp_path, ["awkward"], own={"awkward": AWKWARD},
                                  rows={"awkward": ["P001,T1,2024-01-05,1,2,3,1,2"]}))  # fmt: skip
    result = export_study(study, to, tmp_path / "out")
    frame, meta = READ[to](tmp_path / "out" / f"measures-awkward{SUFFIX[to]}", output_format="polars")
    names = export_names(["participant_id", "wave", "completed_on", *AWKWARD_IDS, "all", "all_items"], to)
    assert frame.columns == list(names.values())
    assert frame.row(0)[3:9] == (1, 2, 3, 1, 2, 9)
    assert meta.column_names_to_labels[names["with"]] == "An item whose id is an SPSS and Stata reserved word"

    mapping = pl.read_csv(tmp_path / "out" / "variables.csv")
    row = mapping.filter(pl.col("variable") == LONG_B).row(0, named=True)
    assert (row["spss"], row["stata"]) == (LONG_B, LONG_B[:29] + "_2")
    assert mapping.filter(pl.col("variable") == "with").get_column(to).item() == "v_with"
    book = codebook_markdown(study)
    assert "## Names in SPSS and Stata exports" in book
    assert f"| measures-awkward | `{LONG_B}` | `{LONG_B}` | `{LONG_B[:29]}_2` |" in book

    warnings = result.warnings
    if to == "stata":
        assert "measures-awkward.dta: the variable label of str12 was cut to 80 characters." in warnings
        assert len(meta.column_names_to_labels[names["str12"]]) == 80
    else:
        assert "measures-awkward.sav: the variable label of str12 was cut to 256 bytes." in warnings
        assert "measures-awkward.sav: the value label of 2 of with was cut to 120 bytes." in warnings
        assert len(meta.variable_value_labels[names["with"]][2].encode()) == 120


AWKWARD_IDS = ["with", "if", LONG_A, LONG_B, "str12"]


# --- CSV for R ----------------------------------------------------------------------------------


def test_csv_export_is_a_valid_data_package_with_formula_cells_neutralised(library_study, tmp_path):
    from frictionless import Package

    result = export_study(load_study(library_study), "csv", tmp_path)
    descriptor = json.loads((tmp_path / "datapackage.json").read_text())
    assert [r["path"] for r in descriptor["resources"]][:3] == [
        "participants.csv", "employment.csv", "measures-cbi.csv"
    ]  # fmt: skip
    report = Package(str(tmp_path / "datapackage.json")).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    people = pl.read_csv(tmp_path / "participants.csv")
    assert people.get_column("role").to_list()[0] == "'=HYPERLINK(\"x\")"
    assert result.neutralised == 1
    fields = {f["name"]: f for f in descriptor["resources"][-1]["schema"]["fields"]}
    assert fields["total"]["title"] == "WEMWBS: Mental wellbeing (total)"
    assert fields["item_01"]["categories"][0] == {"value": 1, "label": "None of the time"}


# --- the example study: the same per-wave means as `studykit score` -----------------------------


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bake(tmp_path_factory.mktemp("example"))


def test_example_wemwbs_export_gives_the_per_wave_means_of_studykit_score(example):
    scored = CliRunner().invoke(app, ["score", "-C", str(example), "-i", "wemwbs"])
    assert scored.exit_code == 0, scored.output
    expected = (
        pl.read_csv(io.StringIO(scored.stdout)).group_by("wave").agg(pl.col("total").mean()).sort("wave")
    )
    exported = CliRunner().invoke(app, ["export", "--to", "spss", "-C", str(example), "--format", "json"])
    assert exported.exit_code == 0, exported.output
    assert json.loads(exported.stdout)["folder"] == (example / "exports").as_posix()
    assert "exports/" in (example / ".gitignore").read_text().splitlines()
    for reader, suffix in ((pyreadstat.read_sav, ".sav"), (pyreadstat.read_dta, ".dta")):
        if suffix == ".dta":
            assert CliRunner().invoke(app, ["export", "--to", "stata", "-C", str(example)]).exit_code == 0
        frame, _ = reader(example / "exports" / f"measures-wemwbs{suffix}", output_format="polars")
        means = frame.group_by("wave").agg(pl.col("total").mean()).sort("wave")
        assert means.get_column("wave").to_list() == expected.get_column("wave").to_list()
        assert means.get_column("total").to_list() == pytest.approx(expected.get_column("total").to_list())


# --- study.yml ----------------------------------------------------------------------------------


def test_study_yml_archive_labelled_exports(tmp_path):
    design = designs.design(archive={"target": "Zenodo", "labelled_exports": ["spss", "stata"]})
    (tmp_path / "study.yml").write_text(yaml.safe_dump(design))
    assert load_study(tmp_path).archive.labelled_exports == ["spss", "stata"]
    design["archive"]["labelled_exports"] = ["sas"]
    (tmp_path / "study.yml").write_text(yaml.safe_dump(design))
    with pytest.raises(StudyConfigError, match="labelled_exports"):
        load_study(tmp_path)
