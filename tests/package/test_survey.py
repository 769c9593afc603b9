"""Survey platforms: the REDCap dictionary and Qualtrics TXT read back against the definitions;
round trips through synthetic exports for every shipped instrument; every refusal.

Exports are written from the files ``studykit survey dictionary`` produced (tests/package/survey_study.py),
not from studykit's readers. All ids, names and addresses are invented.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from studykit.cli import app
from studykit.errors import StudykitError, UnsafePathError
from studykit.governance.audit import read_audit
from studykit.instruments import library_ids, load_library_instrument
from studykit.study import load_study
from studykit.survey import import_export, write_dictionary
from studykit.survey.redcap import COLUMNS, unique_event_names
from typer.testing import CliRunner

from tests.package.survey_study import (
    SECRET,
    parse_choices,
    parse_txt,
    qualtrics_export,
    read_csv,
    redcap_export,
    source_rows,
    survey_study,
)

BY = "Data Manager (synthetic)"
runner = CliRunner()


@pytest.fixture
def study(tmp_path):
    return load_study(survey_study(tmp_path))


def measure_rows(study, instrument_id):
    return read_csv(study.measures_path(instrument_id))


def files_bytes(study):
    return {p: p.read_bytes() for p in sorted((study.root / "data").rglob("*")) if p.is_file()} | {
        study.audit_log_path: study.audit_log_path.read_bytes() if study.audit_log_path.is_file() else b""
    }


def redcap_files(study, tmp_path):
    write_dictionary(study, "redcap", tmp_path / "dictionary.csv")
    return tmp_path / "dictionary.csv", tmp_path / "dictionary-events.csv"


def write_redcap(study, tmp_path, rows=None, *, labels=False, name="export.csv", **options):
    dictionary, events = redcap_files(study, tmp_path)
    rows = rows if rows is not None else {i: source_rows(i) for i in study.instruments}
    path = tmp_path / name
    path.write_text(redcap_export(dictionary, events, rows, labels=labels, **options), encoding="utf-8")
    return path


# --- out: the dictionary, events and mapping, the TXT -------------------------------------------


def test_redcap_dictionary_has_every_column_in_order_and_every_item_as_defined(study, tmp_path):
    dictionary, _ = redcap_files(study, tmp_path)
    header = dictionary.read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("Variable / Field Name,Form Name,Section Header,Field Type,Field Label,")
    fields = read_csv(dictionary)
    assert list(fields[0]) == list(COLUMNS)
    assert fields[0]["Variable / Field Name"] == "record_id"
    by_name = {f["Variable / Field Name"]: f for f in fields}
    assert len(by_name) == len(fields)
    for instrument_id in library_ids():
        instrument = load_library_instrument(instrument_id)
        form = [
            f for f in fields if f["Form Name"] == instrument_id and f["Variable / Field Name"] != "record_id"
        ]
        assert [f["Variable / Field Name"] for f in form] == [
            *(f"{instrument_id}_{i.id}" for i in instrument.items),
            f"{instrument_id}_completed_on",
        ]
        for item in instrument.items:
            field = by_name[f"{instrument_id}_{item.id}"]
            response = instrument.response_for(item)
            assert field["Field Type"] == "radio"
            assert parse_choices(field["Choices, Calculations, OR Slider Labels"]) == {
                str(code): response.labels.get(code, str(code))
                for code in range(response.min, response.max + 1)
            }
            if instrument.licence.item_text_allowed and item.text:
                assert field["Field Label"] == item.text
                assert field["Field Note"] == ""
            else:
                assert field["Field Label"].startswith(item.id)
                assert "licensed wording" in field["Field Note"]
            needs_all = any(
                item.id in s.items and s.min_items in (None, len(s.items)) for s in instrument.scores
            )
            assert field["Required Field?"] == ("y" if needs_all else "")
            assert field["Matrix Group Name"].startswith(instrument_id)
            assert field["Identifier?"] == ""
        date = by_name[f"{instrument_id}_completed_on"]
        assert (date["Field Type"], date["Text Validation Type OR Show Slider Number"]) == (
            "text",
            "date_ymd",
        )
    # A matrix group holds consecutive fields with the same choices (REDCap refuses anything else).
    groups: dict[str, set[str]] = {}
    for f in fields:
        if f["Matrix Group Name"]:
            groups.setdefault(f["Matrix Group Name"], set()).add(f["Choices, Calculations, OR Slider Labels"])
    assert all(len(choices) == 1 for choices in groups.values())
    assert {"cbi_1", "cbi_2", "cbi_3"} <= set(groups)


def test_redcap_required_flags_follow_the_scores(study, tmp_path):
    dictionary, _ = redcap_files(study, tmp_path)
    by_name = {f["Variable / Field Name"]: f for f in read_csv(dictionary)}
    assert by_name["wemwbs_item_01"]["Required Field?"] == "y"  # the WEMWBS total needs every item
    assert by_name["phq9_item_01"]["Required Field?"] == ""  # the PHQ-9 total is prorated from 7 of 9
    assert by_name["cbi_item_01"]["Required Field?"] == ""  # the CBI scales allow missing items


def test_redcap_events_one_per_wave_with_offset_and_window_and_every_instrument_mapped(study, tmp_path):
    _, events = redcap_files(study, tmp_path)
    rows = read_csv(events)
    assert [
        (r["event_name"], r["arm_num"], r["day_offset"], r["offset_min"], r["offset_max"]) for r in rows
    ] == [
        ("T1 baseline", "1", "0", "14", "60"),
        ("T2 6 months", "1", "183", "14", "60"),
    ]
    assert [r["unique_event_name"] for r in rows] == ["t1_baseline_arm_1", "t2_6_months_arm_1"]
    mapping = read_csv(tmp_path / "dictionary-instrument-events.csv")
    assert {(m["unique_event_name"], m["form"]) for m in mapping} == {
        (e, i) for e in ("t1_baseline_arm_1", "t2_6_months_arm_1") for i in library_ids()
    }


def test_unique_event_names_follow_redcaps_rule(tmp_path):
    waves = [
        {"id": "T1", "label": "Baseline (week 0)!", "offset_months": 0},
        {"id": "wave_one_long_name_a", "label": "x", "offset_months": 3},
        {"id": "wave_one_long_name_b", "label": "x", "offset_months": 6},
    ]
    study = load_study(survey_study(tmp_path, instruments=["phq9"], waves=waves))
    # Letters, digits, underscores, lower case; 18 characters; _arm_1; "b" added to a repeated name.
    assert unique_event_names(study) == {
        "T1": "t1_baseline_week_0_arm_1",
        "wave_one_long_name_a": "wave_one_long_name_arm_1",
        "wave_one_long_name_b": "wave_one_long_name_arm_1b",
    }


def test_dictionary_is_never_written_into_the_studys_own_files(study):
    target = study.root / "data" / "dictionary.csv"
    with pytest.raises(UnsafePathError, match="study's own files"):
        write_dictionary(study, "redcap", target)
    assert not target.exists()


def test_single_wave_study_gets_no_events_file(tmp_path):
    waves = [{"id": "T1", "label": "baseline", "offset_months": 0}]
    study = load_study(survey_study(tmp_path, instruments=["phq9"], waves=waves))
    result = write_dictionary(study, "redcap", tmp_path / "d.csv")
    assert list(result.files) == [str(tmp_path / "d.csv")]
    assert not (tmp_path / "d-events.csv").exists()


def test_qualtrics_txt_has_a_block_per_instrument_and_matrices_with_the_labels_as_scale_points(
    study, tmp_path
):
    write_dictionary(study, "qualtrics", tmp_path / "survey.txt")
    text = (tmp_path / "survey.txt").read_text(encoding="utf-8")
    assert text.startswith("[[AdvancedFormat]]\n")
    blocks = parse_txt(text)
    assert [b["block"] for b in blocks] == [load_library_instrument(i).name for i in library_ids()]
    for block, instrument_id in zip(blocks, library_ids(), strict=True):
        instrument = load_library_instrument(instrument_id)
        statements = [s for q in block["questions"] for s in q["choices"]]
        assert len(statements) == len(instrument.items)
        position = 0
        for question in block["questions"]:
            assert question["id"].startswith(instrument_id)
            for statement in question["choices"]:
                item = instrument.items[position]
                position += 1
                response = instrument.response_for(item)
                assert question["answers"] == {
                    str(c): response.labels.get(c, str(c)) for c in range(response.min, response.max + 1)
                }
                if instrument.licence.item_text_allowed and item.text:
                    assert statement == item.text
                else:
                    assert statement.startswith(item.id)
                    assert "licensed wording" in statement
    cbi = blocks[library_ids().index("cbi")]
    assert [q["id"] for q in cbi["questions"]] == ["cbi_m1", "cbi_m2", "cbi_m3", "cbi_m4", "cbi_m5"]


# --- in: round trips ----------------------------------------------------------------------------


@pytest.mark.parametrize("labels", [False, True], ids=["raw", "labels"])
def test_redcap_round_trip_gives_back_every_source_row(study, tmp_path, labels):
    source = {i: source_rows(i) for i in study.instruments}
    export = write_redcap(study, tmp_path, source, labels=labels)
    result = import_export(study, export, "redcap", by=BY)
    assert result.problems == []
    assert result.written
    for instrument_id in library_ids():
        assert measure_rows(study, instrument_id) == source[instrument_id], instrument_id
    assert result.findings == []
    assert result.to_dict()["counts"]["added"] == len(library_ids()) * 5


def test_redcap_data_entry_forms_use_the_completion_date_field(study, tmp_path):
    source = {"phq9": source_rows("phq9")}
    export = write_redcap(study, tmp_path, source, timestamps=False)
    import_export(study, export, "redcap", by=BY)
    assert measure_rows(study, "phq9") == source["phq9"]


@pytest.mark.parametrize("text", [False, True], ids=["numeric", "choice text"])
def test_qualtrics_round_trip_with_three_header_rows_and_metadata(study, tmp_path, text):
    write_dictionary(study, "qualtrics", tmp_path / "survey.txt")
    txt = (tmp_path / "survey.txt").read_text(encoding="utf-8")
    for wave in ("T1", "T2"):
        source = {i: [r for r in source_rows(i) if r["wave"] == wave] for i in study.instruments}
        export = tmp_path / f"qualtrics-{wave}.csv"
        export.write_text(qualtrics_export(txt, source, text=text), encoding="utf-8")
        result = import_export(study, export, "qualtrics", wave=wave, by=BY)
        assert result.problems == []
        assert result.written
        assert sorted(d.column for d in result.dropped) == sorted(SECRET)
        assert all(d.reason == "identifies people" for d in result.dropped)
    for instrument_id in library_ids():
        assert measure_rows(study, instrument_id) == source_rows(instrument_id), instrument_id
    written = b"".join(p.read_bytes() for p in (study.root / "data").rglob("*.csv"))
    for secret in SECRET.values():
        assert secret.encode() not in written


def test_qualtrics_preview_and_unfinished_responses_are_skipped(study, tmp_path):
    write_dictionary(study, "qualtrics", tmp_path / "survey.txt")
    txt = (tmp_path / "survey.txt").read_text(encoding="utf-8")
    source = {"phq9": [r for r in source_rows("phq9") if r["wave"] == "T1"]}
    extra = [
        {"Status": "Survey Preview", "ExternalReference": "P001", "phq9_1": "1", "EndDate": "2024-02-05"},
        {"Finished": "False", "ExternalReference": "P002", "phq9_1": "1", "EndDate": "2024-02-05"},
    ]
    (tmp_path / "q.csv").write_text(qualtrics_export(txt, source, text=False, extra=extra), encoding="utf-8")
    result = import_export(study, tmp_path / "q.csv", "qualtrics", wave="T1", by=BY)
    assert result.skipped == {"preview or test responses": 1, "unfinished responses": 1}
    assert measure_rows(study, "phq9") == source["phq9"]


def test_redcap_wave_from_a_chosen_column(study, tmp_path):
    dictionary, _ = redcap_files(study, tmp_path)
    source = source_rows("phq9")
    text = redcap_export(dictionary, None, {"phq9": source}, labels=False).splitlines()
    waves = [r["wave"] for r in source]
    lines = [text[0] + ",visit"] + [f"{line},{wave}" for line, wave in zip(text[1:], waves, strict=True)]
    (tmp_path / "plain.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(StudykitError, match="--wave-column"):
        import_export(study, tmp_path / "plain.csv", "redcap", by=BY)
    import_export(study, tmp_path / "plain.csv", "redcap", wave_column="visit", by=BY)
    assert measure_rows(study, "phq9") == source


def qualtrics_phq9(study, tmp_path, *, text=False):
    write_dictionary(study, "qualtrics", tmp_path / "survey.txt")
    txt = (tmp_path / "survey.txt").read_text(encoding="utf-8")
    source = {"phq9": [r for r in source_rows("phq9") if r["wave"] == "T1"]}
    return qualtrics_export(txt, source, text=text), source["phq9"]


def test_qualtrics_statements_reordered_in_the_platform_are_refused(study, tmp_path):
    export, _ = qualtrics_phq9(study, tmp_path)
    rows = list(csv.reader(io.StringIO(export)))
    one, two = rows[0].index("phq9_1"), rows[0].index("phq9_2")
    rows[1][one], rows[1][two] = rows[1][two], rows[1][one]
    with (tmp_path / "q.csv").open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    result = refused_with(study, tmp_path / "q.csv", "qualtrics", wave="T1")
    said = " ".join(p.sentence() for p in result.problems)
    assert "the question text of phq9_1 is the wording of phq9 item_02, not of item_01" in said
    assert "the question text of phq9_2 is the wording of phq9 item_01, not of item_02" in said


def test_qualtrics_participant_id_from_a_chosen_column(study, tmp_path):
    export, source = qualtrics_phq9(study, tmp_path)
    first, rest = export.split("\n", 1)
    (tmp_path / "q.csv").write_text(first.replace("ExternalReference", "pid") + "\n" + rest, encoding="utf-8")
    with pytest.raises(StudykitError, match="--id-column"):
        import_export(study, tmp_path / "q.csv", "qualtrics", wave="T1", by=BY)
    import_export(study, tmp_path / "q.csv", "qualtrics", wave="T1", id_column="pid", by=BY)
    assert measure_rows(study, "phq9") == source


def test_qualtrics_scale_numbered_from_one_is_caught_where_it_leaves_the_range(study, tmp_path):
    export, _ = qualtrics_phq9(study, tmp_path)
    lines = export.splitlines()
    header = lines[0].split(",")
    cells = lines[3].split(",")
    cells[header.index("phq9_1")] = "4"  # PHQ-9 codes run 0 to 3; Qualtrics' default recodes run 1 to 4
    lines[3] = ",".join(cells)
    (tmp_path / "q.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = refused_with(study, tmp_path / "q.csv", "qualtrics", wave="T1")
    said = " ".join(p.sentence() for p in result.problems)
    assert "'4' is neither a response label nor a code of phq9 item_01" in said


# --- the merge: added, unchanged, refused, replaced, dry run, audit -----------------------------


def test_import_again_leaves_identical_rows_unchanged(study, tmp_path):
    export = write_redcap(study, tmp_path, {"phq9": source_rows("phq9")})
    import_export(study, export, "redcap", by=BY)
    before = files_bytes(study)
    again = import_export(study, export, "redcap", by=BY)
    assert again.to_dict()["counts"] == {"added": 0, "unchanged": 5, "replaced": 0, "refused": 0}
    assert files_bytes(study) == before


def test_a_row_that_differs_is_refused_unless_replace(study, tmp_path):
    rows = source_rows("phq9")
    import_export(study, write_redcap(study, tmp_path, {"phq9": rows}), "redcap", by=BY)
    changed = [dict(r) for r in rows]
    changed[0]["item_01"] = "3" if changed[0]["item_01"] != "3" else "2"
    changed.append({**rows[0], "participant_id": "P003", "wave": "T2"})
    export = write_redcap(study, tmp_path, {"phq9": changed}, name="second.csv")
    refused = import_export(study, export, "redcap", by=BY)
    assert refused.to_dict()["tables"][0]["refused"] == ["P001 T1"]
    assert refused.to_dict()["tables"][0]["added"] == ["P003 T2"]
    assert not refused.clean
    assert measure_rows(study, "phq9")[0] == rows[0]
    replaced = import_export(study, export, "redcap", replace=True, by=BY)
    assert replaced.to_dict()["tables"][0]["replaced"] == ["P001 T1"]
    assert measure_rows(study, "phq9")[0] == changed[0]
    entries = read_audit(study.audit_log_path)
    last = entries[-1]
    assert (last["action"], last["participant_id"], last["by"]) == ("survey import: row replaced", "P001", BY)
    assert last["previous"]["item_01"] == rows[0]["item_01"]
    assert last["register"] == "data/measures/phq9.csv"
    assert sum(e["action"] == "survey import: row added" for e in entries) == 6


def test_dry_run_writes_nothing(study, tmp_path):
    export = write_redcap(study, tmp_path)
    before = files_bytes(study)
    result = import_export(study, export, "redcap", dry_run=True, by=BY)
    assert result.to_dict()["counts"]["added"] == 40
    assert not result.written
    assert files_bytes(study) == before


def test_validation_findings_for_the_rows_written_follow_the_import(study, tmp_path):
    rows = source_rows("phq9")
    rows[1] = {**rows[1], "completed_on": "2025-01-05"}  # far outside the T1 window
    result = import_export(study, write_redcap(study, tmp_path, {"phq9": rows}), "redcap", by=BY)
    assert result.written
    assert {(f["file"], f["row"]) for f in result.findings} >= {("data/measures/phq9.csv", 3)}
    assert all(f["file"] == "data/measures/phq9.csv" for f in result.findings)


# --- refusals -----------------------------------------------------------------------------------


def refused_with(study, export, platform="redcap", **options):
    before = files_bytes(study)
    result = import_export(study, export, platform, by=BY, **options)
    assert not result.written
    assert files_bytes(study) == before
    return result


def test_an_export_of_another_project_is_refused_with_a_sentence(study, tmp_path):
    (tmp_path / "other.csv").write_text("record_id,q1,q2\nP001,1,2\n", encoding="utf-8")
    with pytest.raises(StudykitError, match="another project"):
        import_export(study, tmp_path / "other.csv", "redcap", by=BY)


def test_a_field_of_another_version_of_an_instrument_is_refused(study, tmp_path):
    export = write_redcap(study, tmp_path, {"phq9": source_rows("phq9")})
    text = export.read_text().splitlines()
    text = [text[0] + ",phq9_item_10"] + [line + ",1" for line in text[1:]]
    export.write_text("\n".join(text) + "\n")
    with pytest.raises(StudykitError, match=r"phq9_item_10.*another version"):
        import_export(study, export, "redcap", by=BY)


def test_a_label_matching_no_response_label_is_refused_and_named(study, tmp_path):
    export = write_redcap(study, tmp_path, {"phq9": source_rows("phq9")}, labels=True)
    export.write_text(export.read_text().replace("Several days", "Sevral days", 1))
    result = refused_with(study, export)
    assert any(
        "'Sevral days' is neither a response label nor a code of phq9" in p.sentence()
        for p in result.problems
    )
    assert result.unknown_labels
    assert result.unknown_labels[0].endswith("Sevral days")


def test_an_unknown_label_that_looks_like_an_identifier_is_masked(study, tmp_path):
    export = write_redcap(study, tmp_path, {"phq9": source_rows("phq9")})
    lines = export.read_text().splitlines()
    cells = lines[1].split(",")
    cells[lines[0].split(",").index("phq9_item_02")] = "call jo.bloggs@example.org"
    lines[1] = ",".join(cells)
    export.write_text("\n".join(lines) + "\n")
    result = refused_with(study, export)
    shown = json.dumps(result.to_dict())
    assert "jo.bloggs@example.org" not in shown
    assert "(email, " in shown


def test_an_event_that_maps_to_no_wave_is_refused(study, tmp_path):
    export = write_redcap(study, tmp_path, {"phq9": source_rows("phq9")})
    export.write_text(export.read_text().replace("t2_6_months_arm_1", "t9_follow_up_arm_1"))
    result = refused_with(study, export)
    assert any("'t9_follow_up_arm_1' maps to no wave" in p.sentence() for p in result.problems)


def test_a_duplicated_record_and_event_is_refused(study, tmp_path):
    export = write_redcap(study, tmp_path, {"phq9": source_rows("phq9")})
    lines = export.read_text().splitlines()
    export.write_text("\n".join([*lines, lines[1]]) + "\n")
    result = refused_with(study, export)
    assert any(
        "P001 has a second phq9 response for wave T1 (the first is on row 2)" in p.sentence()
        for p in result.problems
    )


def test_records_that_are_not_participants_are_refused(study, tmp_path):
    rows = source_rows("phq9")
    rows[0] = {**rows[0], "participant_id": "P099"}
    rows[1] = {**rows[1], "participant_id": "jo@example.org"}
    result = refused_with(study, write_redcap(study, tmp_path, {"phq9": rows}))
    sentences = " ".join(p.sentence() for p in result.problems)
    assert "participant P099 is not in data/participants.csv" in sentences
    assert "is not a participant id" in sentences
    assert "jo@example.org" not in sentences


def test_repeating_instruments_are_refused_with_a_sentence(study, tmp_path):
    export = write_redcap(study, tmp_path, {"phq9": source_rows("phq9")})
    lines = export.read_text().splitlines()
    lines[0] = lines[0].replace(
        "redcap_event_name,", "redcap_event_name,redcap_repeat_instrument,redcap_repeat_instance,"
    )
    parts = [line.split(",", 2) for line in lines[1:]]
    lines[1:] = [f"{a},{b},phq9,2,{c}" for a, b, c in parts]
    export.write_text("\n".join(lines) + "\n")
    with pytest.raises(StudykitError, match="repeating instruments"):
        import_export(study, export, "redcap", by=BY)


def test_redcap_fields_flagged_as_identifiers_are_dropped_and_named(study, tmp_path):
    dictionary, _ = redcap_files(study, tmp_path)
    own = tmp_path / "project-dictionary.csv"
    text = dictionary.read_text()
    own.write_text(text + "email,phq9,,text,Email,,,email,,,y,,,,,,,\n")
    export = write_redcap(study, tmp_path, {"phq9": source_rows("phq9")})
    lines = export.read_text().splitlines()
    lines = [lines[0] + ",email"] + [line + ",jo@example.org" for line in lines[1:]]
    export.write_text("\n".join(lines) + "\n")
    result = import_export(study, export, "redcap", dictionary=own, by=BY)
    assert [(d.column, d.reason) for d in result.dropped] == [("email", "identifies people")]
    assert b"jo@example.org" not in study.measures_path("phq9").read_bytes()


def test_free_text_columns_are_dropped_and_screened_for_identifiers(study, tmp_path):
    export = write_redcap(study, tmp_path, {"phq9": source_rows("phq9")})
    lines = export.read_text().splitlines()
    notes = ["ring me on 07700 900123", "fine", "", "", ""]
    lines = [lines[0] + ",comments"] + [f"{line},{note}" for line, note in zip(lines[1:], notes, strict=True)]
    export.write_text("\n".join(lines) + "\n")
    result = import_export(study, export, "redcap", by=BY)
    assert result.written
    (dropped,) = result.dropped
    assert dropped.column == "comments"
    assert "phone number ×1" in dropped.reason
    assert "07700" not in json.dumps(result.to_dict())
    assert b"07700" not in b"".join(p.read_bytes() for p in (study.root / "data").rglob("*.csv"))


def test_redcap_export_with_field_labels_in_the_header_is_refused(study, tmp_path):
    (tmp_path / "labels.csv").write_text("Record ID,Event Name,Survey Timestamp\nP001,T1 baseline,\n")
    with pytest.raises(StudykitError, match="header holds labels, not variable names"):
        import_export(study, tmp_path / "labels.csv", "redcap", by=BY)


def test_qualtrics_without_its_header_rows_is_refused(study, tmp_path):
    (tmp_path / "q.csv").write_text("ExternalReference,phq9_1\nP001,1\n", encoding="utf-8")
    with pytest.raises(StudykitError, match="three header rows"):
        import_export(study, tmp_path / "q.csv", "qualtrics", wave="T1", by=BY)


def test_qualtrics_needs_a_wave_in_a_study_with_several(study, tmp_path):
    write_dictionary(study, "qualtrics", tmp_path / "survey.txt")
    txt = (tmp_path / "survey.txt").read_text(encoding="utf-8")
    source = {"phq9": [r for r in source_rows("phq9") if r["wave"] == "T1"]}
    (tmp_path / "q.csv").write_text(qualtrics_export(txt, source, text=True), encoding="utf-8")
    with pytest.raises(StudykitError, match="--wave T1"):
        import_export(study, tmp_path / "q.csv", "qualtrics", by=BY)


# --- the command line ---------------------------------------------------------------------------


def test_cli_dictionary_then_import_then_refusal_exit_codes(study, tmp_path):
    root = str(study.root)
    made = runner.invoke(
        app, ["survey", "dictionary", "--to", "redcap", "-o", str(tmp_path / "d.csv"), "-C", root]
    )
    assert made.exit_code == 0, made.output
    assert "Define My Events" in made.stdout
    export = write_redcap(study, tmp_path, {"phq9": source_rows("phq9")})
    done = runner.invoke(
        app, ["survey", "import", str(export), "--from", "redcap", "--by", BY, "-C", root, "--format", "json"]
    )
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["counts"]["added"] == 5
    (tmp_path / "other.csv").write_text("record_id,q1\nP001,1\n", encoding="utf-8")
    bad = runner.invoke(
        app, ["survey", "import", str(tmp_path / "other.csv"), "--from", "redcap", "-C", root]
    )
    assert bad.exit_code == 2
    assert "Could not run" in bad.stderr
    assert "Traceback" not in bad.output
    export.write_text(export.read_text().replace("t2_6_months_arm_1", "t9_arm_1"))
    problems = runner.invoke(
        app, ["survey", "import", str(export), "--from", "redcap", "--by", BY, "-C", root]
    )
    assert problems.exit_code == 1
    assert "maps to no wave" in problems.stdout
