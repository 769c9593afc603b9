"""checks/memo.py: what one validation run keeps, and what it does not."""

from __future__ import annotations

import pytest
from studykit.checks import memo
from studykit.errors import DataReadError

CSV = "participant_id,enrolled_on,site\nP001,2024-01-10,A\nP002,2024-01-15,B\n"


def test_a_small_table_is_read_once_within_a_run(tmp_path):
    path = tmp_path / "participants.csv"
    path.write_text(CSV, encoding="utf-8")
    with memo.shared():
        first = memo.read_table(path)
        path.write_text("participant_id\nP999\n", encoding="utf-8")  # a run sees one state
        again = memo.read_table(path)
        some = memo.read_table(path, columns=["participant_id", "site"])
    assert again is first
    assert some.header == ["participant_id", "site"]
    assert some.frame.get_column("participant_id").to_list() == ["P001", "P002"]


def test_outside_a_run_nothing_is_kept(tmp_path):
    path = tmp_path / "participants.csv"
    path.write_text(CSV, encoding="utf-8")
    first = memo.read_table(path)
    path.write_text("participant_id\nP999\n", encoding="utf-8")
    assert memo.read_table(path).frame.get_column("participant_id").to_list() == ["P999"]
    assert first.header == ["participant_id", "enrolled_on", "site"]
    memo.remember(memo.BLANKS, path, (1, {}))
    assert memo.recall(memo.BLANKS, path) is None


def test_large_files_are_not_kept(tmp_path, monkeypatch):
    path = tmp_path / "big.csv"
    path.write_text(CSV, encoding="utf-8")
    monkeypatch.setattr(memo, "KEEP_BYTES", 10)
    with memo.shared():
        assert memo.read_table(path) is not memo.read_table(path)


def test_a_missing_column_is_the_same_error_as_reading_it(tmp_path):
    path = tmp_path / "participants.csv"
    path.write_text(CSV, encoding="utf-8")
    with memo.shared(), pytest.raises(DataReadError) as caught:
        memo.read_table(path, file_label="data/participants.csv", columns=["participant_id", "age"])
    assert "lacks a column it needs (age)" in caught.value.message
    assert "data/participants.csv" in str(caught.value)


def test_unreadable_files_are_not_kept(tmp_path):
    path = tmp_path / "missing.csv"
    with memo.shared():
        for _ in range(2):
            with pytest.raises(DataReadError):
                memo.read_table(path)
        path.write_text(CSV, encoding="utf-8")
        assert memo.read_table(path).frame.height == 2
