"""`validate --accept` records checksums only of data that pass validation."""

from __future__ import annotations

import pytest
from studykit.checks.integrity import accept
from studykit.cli import app
from studykit.errors import DataErrorsFound
from studykit.study import load_study
from typer.testing import CliRunner

from tests.package.test_validate import MEASURES_FILE, make_study, with_row

OUT_OF_RANGE = with_row("P003,T1,2024-02-03,5,9,5,4", replace=4)  # item_02 = 9 on a 1-5 scale


def test_accept_refuses_while_the_data_have_errors(tmp_path):
    study = load_study(make_study(tmp_path, measures=OUT_OF_RANGE))
    with pytest.raises(DataErrorsFound, match=r"checksums stopped: validation found 1 error") as caught:
        accept(study)
    assert [(f.code, f.row, f.column) for f in caught.value.findings] == [("STR009", 4, "item_02")]
    assert not study.manifest_path.exists()


def test_validate_accept_exit_1_and_no_manifest_when_the_data_have_errors(tmp_path):
    root = make_study(tmp_path, measures=OUT_OF_RANGE)
    result = CliRunner().invoke(app, ["validate", "-C", str(root), "--accept"])
    assert result.exit_code == 1
    message = " ".join(result.stderr.split())
    assert f"STR009 value out of range ({MEASURES_FILE}, row 4, item_02)" in message
    assert "then run `studykit validate --accept`" in message
    assert not (root / "governance" / "manifest.sha256").exists()


def test_accept_goes_ahead_when_only_integrity_findings_are_open(tmp_path):
    root = make_study(tmp_path)
    study = load_study(root)
    accept(study)
    changed = (root / MEASURES_FILE).read_text(encoding="utf-8").replace("2024-01-12", "2024-01-13")
    (root / MEASURES_FILE).write_text(changed, encoding="utf-8")
    assert accept(study) == study.manifest_path
