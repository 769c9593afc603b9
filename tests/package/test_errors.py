"""studykit.errors: one sentence per error, with the path exactly as the user gave it."""

from __future__ import annotations

from pathlib import Path

import pytest
from studykit.errors import RegisterError, StudykitError


@pytest.mark.parametrize("path", ["../../etc/passwd", "./data/x.csv", "a..b/c.csv"])
def test_sentence_shows_the_path_as_given(path):
    assert StudykitError("cannot be read", path=path).sentence() == f"{path}: cannot be read."


def test_sentence_keeps_dots_inside_the_message_and_ends_once():
    error = StudykitError("scores range 1..5.", path=Path("study.yml"), key="scores", fix="Use 1 to 5.")
    assert error.sentence() == "study.yml, scores: scores range 1..5. Use 1 to 5."
    assert str(error) == error.sentence()
    assert error.path == Path("study.yml")


def test_register_error_names_row_and_field():
    error = RegisterError("is not a date", path="governance/consent.csv", row=3, field="consented_on")
    assert error.sentence() == "governance/consent.csv, row 3, consented_on: is not a date."
