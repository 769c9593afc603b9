"""The disclosure layer (DIS###): identifiers in transcripts and free text, QAMyData table checks."""

from __future__ import annotations

from studykit.checks.disclosure import age_band, check
from studykit.checks.run import Run

from tests.package.qual_study import (
    CODEBOOK,
    PARTICIPANTS,
    default_segments,
    front_matter,
    make_qual_study,
    transcript_text,
)

LEAKY_BODY = (
    "**INT:** Thanks for meeting on 5 February 2024.\n"
    "\n"
    "**P001:** No problem. Zelda Quorthwick here, email zq@example.org.\n"
    "My date of birth 03/04/1985, NHS number 943 476 5919.\n"
    "\n"
    "**P001:** Zelda again. Phone 07700 900123, postcode SW1A 1AA.\n"
)


def summary(findings):
    return sorted((f.code, f.file, f.row, f.column, f.severity, f.value) for f in findings)


def leaky_study(tmp_path, key_text="participant_id,name\nP001,Zelda Quorthwick\n", **changes):
    secure = tmp_path / "secure"
    secure.mkdir()
    key = secure / "identity-key.csv"
    if key_text is not None:
        key.write_text(key_text, encoding="utf-8")
    design = {"governance": {"identity_key": str(key)}}
    return make_qual_study(
        tmp_path,
        design=design,
        transcripts={"INT-P001-T1": transcript_text(front_matter("INT-P001-T1"), LEAKY_BODY)},
        **changes,
    )


def test_identifiers_in_a_transcript_are_found_with_line_and_mask(tmp_path):
    study = leaky_study(tmp_path)
    file = "data/qualitative/transcripts/INT-P001-T1.md"
    text_findings = [f for f in check(Run(study)) if f.file == file]
    # The front matter takes lines 1-10, so the body starts on line 11.
    assert summary(text_findings) == [
        ("DIS001", file, 13, None, "error", "z***@*** (email, 14 chars)"),
        ("DIS002", file, 16, None, "warning", "0*** (phone number, 12 chars)"),
        ("DIS003", file, 16, None, "warning", "S*** (postcode, 8 chars)"),
        ("DIS004", file, 14, None, "error", "9*** (NHS number, 12 chars)"),
        ("DIS005", file, 14, None, "error", "0*** (date of birth, 10 chars)"),
        ("DIS007", file, 13, None, "error", "Z*** (name, 16 chars)"),
        ("DIS007", file, 16, None, "warning", "Z*** (name, 5 chars)"),
    ]


def test_findings_never_echo_the_identifier(tmp_path):
    study = leaky_study(tmp_path)
    blob = " ".join(f"{f.message} {f.value} {f.fix}" for f in check(Run(study)))
    for secret in ("Quorthwick", "zq@example.org", "943 476 5919", "03/04/1985", "900123", "1AA"):
        assert secret not in blob


def test_clean_transcripts_have_no_text_findings(tmp_path):
    study = make_qual_study(tmp_path, codebook=CODEBOOK, segments=default_segments())
    assert [f for f in check(Run(study)) if f.code < "DIS020"] == []


def test_missing_identity_key_is_a_warning_not_a_crash(tmp_path):
    study = leaky_study(tmp_path, key_text=None)
    findings = list(check(Run(study)))
    key = [f for f in findings if f.code == "DIS010"]
    expected = [("warning", "study.yml", "governance.identity_key")]
    assert [(f.severity, f.file, f.column) for f in key] == expected
    assert "DIS001" in {f.code for f in findings}  # the other detectors still ran
    assert "DIS007" not in {f.code for f in findings}


def test_identity_key_inside_the_study_is_an_error(tmp_path):
    study = make_qual_study(
        tmp_path,
        design={"governance": {"identity_key": "governance/key.csv"}},
        extra_files={"governance/key.csv": "participant_id,name\nP001,Zelda Quorthwick\n"},
    )
    assert [f.code for f in check(Run(study)) if f.code.startswith("DIS01")] == ["DIS011"]


def test_free_text_columns_are_scanned(tmp_path):
    participants = PARTICIPANTS.replace("team lead", "team lead (call 020 7946 0018)")
    segments = default_segments().replace(",strong\n", ",ask zq@example.org\n")
    study = make_qual_study(tmp_path, participants=participants, codebook=CODEBOOK, segments=segments)
    found = [(f.code, f.file, f.row, f.column) for f in check(Run(study)) if f.code < "DIS010"]
    assert sorted(found) == [
        ("DIS001", "data/qualitative/segments.csv", 3, "memo"),
        ("DIS002", "data/participants.csv", 4, "role"),
    ]


def test_qamydata_checks_on_participants(tmp_path):
    participants = (
        "participant_id,group,role,site,enrolled_on,gender,age\n"
        "P001,peer worker,peer support worker,S1,2024-01-08,woman,34\n"
        "P002,peer worker,peer  support worker,S1,2024-01-08,woman,33\n"
        "P003,peer worker,,S1,2024-01-08,woman,30\n"
        "P003,peer worker,,S1,2024-01-08,woman,31\n"
        "P005,manager,,S1,2024-01-08,woman,36\n"
    )
    study = make_qual_study(tmp_path, participants=participants, transcripts={})
    file = "data/participants.csv"
    assert summary(check(Run(study))) == [
        ("DIS020", file, 5, "participant_id", "error", "P003"),
        ("DIS021", file, 3, "role", "warning", "'peer  support worker'"),
        ("DIS022", file, None, "role", "warning", "60%"),
        ("DIS023", file, 6, "age", "warning", "35-44"),
        ("DIS023", file, 6, "group", "warning", "manager"),
        ("DIS024", file, 6, "group, site, gender, age_band", "warning", "manager / S1 / woman / 35-44"),
    ]


def test_small_cells_and_rare_combinations(tmp_path):
    study = make_qual_study(tmp_path, transcripts={})
    found = summary(f for f in check(Run(study)) if f.code in {"DIS023", "DIS024"})
    file = "data/participants.csv"
    # Three participants: each is alone in their age band, P002 the only man, P003 the only manager at S2.
    assert found == [
        ("DIS023", file, 2, "age", "warning", "25-34"),
        ("DIS023", file, 3, "age", "warning", "35-44"),
        ("DIS023", file, 3, "gender", "warning", "man"),
        ("DIS023", file, 4, "age", "warning", "45-54"),
        ("DIS023", file, 4, "group", "warning", "manager"),
        ("DIS023", file, 4, "site", "warning", "S2"),
        ("DIS024", file, 2, "group, site, gender, age_band", "warning", "peer worker / S1 / woman / 25-34"),
        ("DIS024", file, 3, "group, site, gender, age_band", "warning", "peer worker / S1 / man / 35-44"),
        ("DIS024", file, 4, "group, site, gender, age_band", "warning", "manager / S2 / woman / 45-54"),
    ]


def test_missing_threshold_applies_to_measures(tmp_path):
    measures = "participant_id,wave,completed_on,item_01,item_02\n" + "".join(
        f"P00{i},T1,2024-01-10,3,{'' if i < 3 else 4}\n" for i in range(1, 6)
    )
    study = make_qual_study(tmp_path, transcripts={}, extra_files={"data/measures/wemwbs.csv": measures})
    found = [(f.file, f.column, f.value) for f in check(Run(study)) if f.code == "DIS022"]
    assert found == [("data/measures/wemwbs.csv", "item_02", "40%")]


def test_odd_column_names_and_control_characters(tmp_path):
    employment = (
        "participant_id,wave,recorded_on,employed_as_peer_worker,Role Title\n"
        "P001,T1,2024-01-10,true,peer\x07worker\n"
    )
    study = make_qual_study(tmp_path, transcripts={}, extra_files={"data/employment.csv": employment})
    found = [(f.row, f.column, f.message) for f in check(Run(study)) if f.code == "DIS021"]
    assert found == [
        (1, "Role Title", "column name 'Role Title' is not lower-case letters, digits and underscores"),
        (2, "Role Title", "value has a control character"),
    ]


def test_age_band():
    assert [age_band(a) for a in ("16", "24", "25", "64", "65", "99", "x", None, "15")] == [
        "16-24", "16-24", "25-34", "55-64", "65+", "65+", None, None, None,
    ]  # fmt: skip
