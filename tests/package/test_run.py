"""checks/run.py: what one validation run keeps, and what it does not."""

from __future__ import annotations

import pytest
from studykit.checks.run import BlankCounts, Run
from studykit.errors import DataReadError
from studykit.study import load_study

from tests.package.test_validate import make_study

CSV = "participant_id,enrolled_on,site\nP001,2024-01-10,A\nP002,2024-01-15,B\n"


@pytest.fixture
def run(tmp_path) -> Run:
    return Run(study=load_study(make_study(tmp_path)))


def test_a_small_table_is_read_once_within_a_run(tmp_path, run):
    path = tmp_path / "participants.csv"
    path.write_text(CSV, encoding="utf-8")
    first = run.read_table(path)
    path.write_text("participant_id\nP999\n", encoding="utf-8")  # a run sees one state
    again = run.read_table(path)
    some = run.read_table(path, columns=["participant_id", "site"])
    assert again is first
    assert some.header == ["participant_id", "site"]
    assert some.frame.get_column("participant_id").to_list() == ["P001", "P002"]


def test_each_run_reads_for_itself(tmp_path, run):
    path = tmp_path / "participants.csv"
    path.write_text(CSV, encoding="utf-8")
    first = run.read_table(path)
    path.write_text("participant_id\nP999\n", encoding="utf-8")
    fresh = Run(study=run.study)
    assert fresh.read_table(path).frame.get_column("participant_id").to_list() == ["P999"]
    assert first.header == ["participant_id", "enrolled_on", "site"]
    run.record_blanks(path, BlankCounts(1, {}))
    assert run.blank_counts(path) == (1, {})
    assert fresh.blank_counts(path) is None
    assert fresh.dated(path) is None


def test_large_files_are_not_kept(tmp_path, run):
    path = tmp_path / "big.csv"
    path.write_text(CSV, encoding="utf-8")
    small = Run(study=run.study, keep_bytes=10)
    assert small.read_table(path) is not small.read_table(path)


def test_a_missing_column_is_the_same_error_as_reading_it(tmp_path, run):
    path = tmp_path / "participants.csv"
    path.write_text(CSV, encoding="utf-8")
    with pytest.raises(DataReadError) as caught:
        run.read_table(path, file_label="data/participants.csv", columns=["participant_id", "age"])
    assert "lacks a column it needs (age)" in caught.value.message
    assert "data/participants.csv" in str(caught.value)


def test_unreadable_files_are_not_kept(tmp_path, run):
    path = tmp_path / "missing.csv"
    for _ in range(2):
        with pytest.raises(DataReadError):
            run.read_table(path)
    path.write_text(CSV, encoding="utf-8")
    assert run.read_table(path).frame.height == 2


def test_progress_goes_to_the_reporter_only_when_there_is_one(run):
    heard: list[str] = []
    run.note("quiet")  # no reporter: nothing happens
    run.progress = heard.append
    run.note("reading data/measures/mood.csv")
    assert heard == ["reading data/measures/mood.csv"]
