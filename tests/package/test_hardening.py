"""Issues 16 and 17, tried as an attacker and a new user: products never replace study files,
spreadsheet formulas in data are flagged, odd files are read or refused with a sentence."""

from __future__ import annotations

import pytest
from studykit.cli import app
from studykit.errors import UnsafePathError
from studykit.qual.exchange import export_target
from studykit.study import load_study
from typer.testing import CliRunner

from tests.package.test_validate import make_study, snapshot


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def said(result) -> str:
    return " ".join(result.stderr.split())


# --- every -o/--output that writes a product: never a study-owned path ------------------------------


@pytest.mark.parametrize(
    ("command", "target"),
    [
        (["codebook", "-o"], "study.yml"),
        (["codebook", "--format", "html", "-o"], "governance/consent.csv"),
        (["score", "-o"], "data/participants.csv"),
        (["score", "-o"], "datapackage.json"),
        (["export", "--to", "csv"], "data"),
        (["export", "--to", "csv"], "."),
        (["export", "--to", "spss"], "instruments"),
        (["survey", "dictionary", "--to", "redcap", "-o"], "data/dictionary.csv"),
    ],
)
def test_every_product_output_refuses_study_owned_paths_and_changes_nothing(tmp_path, command, target):
    root = make_study(tmp_path)
    before = snapshot(root)
    result = invoke(*command, str(root / target), "-C", str(root))
    assert result.exit_code == 2, result.output
    assert "is one of the study's own files" in said(result)
    assert "Choose another path" in said(result)
    assert snapshot(root) == before


def test_product_output_outside_the_study_folders_is_written(tmp_path):
    root = make_study(tmp_path)
    result = invoke("codebook", "-o", str(root / "codebook.md"), "-C", str(root))
    assert result.exit_code == 0, result.output
    assert (root / "codebook.md").read_text(encoding="utf-8").startswith("# Codebook")


def test_qual_export_refuses_a_study_owned_target(tmp_path):
    root = make_study(tmp_path)
    with pytest.raises(UnsafePathError, match="study's own files"):
        export_target(load_study(root), root / "governance" / "coding.qdpx", ".qdpx")
