"""Fix texts and configuration errors name the expected form and the value found (issue 17 item 9)."""

from __future__ import annotations

import pytest
import yaml
from studykit import load_study
from studykit.checks import validate
from studykit.errors import RegisterError, StudyConfigError
from studykit.governance.registers import read_ethics

from tests.package import test_study
from tests.package.test_validate import MEASURES, PARTICIPANTS, make_study


def fixes(report, code):
    return [(f.file, f.row, f.column, f.fix) for f in report if f.code == code]


def test_a_date_cell_in_another_form_is_told_yyyy_mm_dd_with_its_value(tmp_path):
    participants = PARTICIPANTS.replace("P002,manager,,A,2024-01-15", "P002,manager,,A,15/01/2024")
    report = validate(load_study(make_study(tmp_path, participants=participants)))
    assert fixes(report, "STR007") == [
        (
            "data/participants.csv", 3, "enrolled_on",
            "Write the date as YYYY-MM-DD (for example 2024-02-05) instead of '15/01/2024', "
            "or leave the cell blank if the value is missing.",
        )
    ]  # fmt: skip


def test_a_boolean_cell_is_told_true_or_false(tmp_path):
    root = make_study(tmp_path)
    (root / "data/employment.csv").write_text(
        "participant_id,wave,recorded_on,employed_as_peer_worker,role,contract,hours_per_week\n"
        "P001,T1,2024-01-12,yes,peer worker,permanent,20\n",
        encoding="utf-8",
    )
    report = validate(load_study(root))
    assert [fix for *_, fix in fixes(report, "STR007")] == [
        "Write true or false instead of 'yes', or leave the cell blank if the value is missing."
    ]


def test_a_blank_required_cell_is_told_it_cannot_be_left_blank(tmp_path):
    measures = MEASURES.replace("P002,T1,2024-01-20", ",T1,2024-01-20")
    report = validate(load_study(make_study(tmp_path, measures=measures)))
    assert fixes(report, "STR008") == [
        ("data/measures/mood.csv", 3, "participant_id", "Fill in the cell: this column cannot be left blank.")
    ]


def _ethics(tmp_path, approval):
    path = tmp_path / "ethics.yml"
    base = {"committee": "Synthetic REC", "reference": "SYN/1", "approved_on": "2024-01-01"}
    path.write_text(yaml.safe_dump({"approvals": [{**base, **approval}]}), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("approval", "sentence"),
    [
        ({"approved_on": "05/02/2024"},
         "governance/ethics.yml, approvals[0].approved_on: should be a date written as YYYY-MM-DD, such as "
         "2024-02-05, not '05/02/2024'."),
        ({"expires_on": "next year"},
         "approvals[0].expires_on: should be a date written as YYYY-MM-DD, such as 2024-02-05, "
         "not 'next year'."),
        ({"consent_forms": [{"version": "1.0"}]},
         "approvals[0].consent_forms[0]: should be text (in quotes if it looks like a number or a date, such "
         "as '1.0'), not {'version': '1.0'}."),
        ({"committee": ""}, "approvals[0].committee: should be filled in (it cannot be left blank), not ''."),
    ],
)  # fmt: skip
def test_ethics_yml_errors_are_sentences_with_file_key_and_form(tmp_path, approval, sentence):
    with pytest.raises(RegisterError) as caught:
        read_ethics(_ethics(tmp_path, approval), "governance/ethics.yml")
    assert sentence in str(caught.value)
    assert "Input should be" not in str(caught.value)


@pytest.mark.parametrize(
    ("overrides", "sentence"),
    [
        ({"waves": [{"id": "T1", "label": "a", "offset_months": "four"}]},
         "waves[0].offset_months should be a whole number, such as 3, not 'four'"),
        ({"waves": [{"id": "T1", "label": "a", "offset_months": -1}]},
         "waves[0].offset_months should be a number at least 0, not -1"),
        ({"waves": {"id": "T1"}}, "waves should be a list (one '- ' line per entry), not {'id': 'T1'}"),
        ({"archive": {"target": "Dropbox"}},
         "archive.target should be one of 'UK Data Service', 'Zenodo', 'OSF' or 'institutional', "
         "not 'Dropbox'"),
    ],
)  # fmt: skip
def test_study_yml_errors_name_the_expected_form(tmp_path, overrides, sentence):
    with pytest.raises(StudyConfigError) as caught:
        load_study(test_study.make_study(tmp_path, **overrides))
    assert "study.yml" in str(caught.value)
    assert sentence in str(caught.value)
    assert "Input should be" not in str(caught.value)
