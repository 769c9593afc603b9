"""study.yml loading: one loader, typed models, one clear sentence per broken file."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from studykit import load_study
from studykit.cli import app
from studykit.errors import StudyConfigError
from studykit.study import Wave
from typer.testing import CliRunner

from tests.package.designs import design

PACKAGE_SRC = Path(__file__).resolve().parents[2] / "{{cookiecutter.project_slug}}" / "src"
DESIGN = design(synthetic=False)


def make_study(tmp_path: Path, **overrides: object) -> Path:
    (tmp_path / "study.yml").write_text(yaml.safe_dump({**DESIGN, **overrides}), encoding="utf-8")
    return tmp_path


def test_load_study_reads_the_design(tmp_path):
    study = load_study(make_study(tmp_path))
    assert study.wave_ids == ["T1", "T2"]
    assert study.instruments == ["wemwbs"]
    assert study.measures_path("wemwbs") == tmp_path / "data" / "measures" / "wemwbs.csv"
    assert study.governance.withdrawal.policy == "retain_collected"


def test_missing_study_yml_names_the_file_and_what_to_do(tmp_path):
    with pytest.raises(StudyConfigError, match=r"study\.yml: not found\. Run studykit inside a study folder"):
        load_study(tmp_path)


def test_unknown_key_is_named(tmp_path):
    with pytest.raises(StudyConfigError, match=r"wavess is not a key studykit knows"):
        load_study(make_study(tmp_path, wavess=[]))


def test_wrong_value_names_the_key_and_the_value(tmp_path):
    bad = [{"id": "T1", "label": "a", "offset_months": -1}]
    with pytest.raises(StudyConfigError) as info:
        load_study(make_study(tmp_path, waves=bad))
    assert "waves[0].offset_months" in str(info.value)
    assert "-1" in str(info.value)


def test_repeated_wave_ids_are_refused(tmp_path):
    waves = [{"id": "T1", "label": "a", "offset_months": 0}, {"id": "T1", "label": "b", "offset_months": 4}]
    with pytest.raises(StudyConfigError, match="wave ids must be distinct"):
        load_study(make_study(tmp_path, waves=waves))


def test_broken_yaml_gives_line_and_column(tmp_path):
    (tmp_path / "study.yml").write_text("title: [unclosed\nslug: x\n", encoding="utf-8")
    with pytest.raises(StudyConfigError, match=r"line \d+, column \d+: is not valid YAML"):
        load_study(tmp_path)


@pytest.mark.parametrize(
    ("enrolled", "offset", "expected"),
    [
        (dt.date(2024, 1, 31), 1, (dt.date(2024, 2, 15), dt.date(2024, 4, 29))),
        (dt.date(2024, 3, 10), 12, (dt.date(2025, 2, 24), dt.date(2025, 5, 9))),
    ],
)
def test_wave_window_counts_calendar_months(enrolled, offset, expected):
    wave = Wave(id="T2", label="x", offset_months=offset)
    assert wave.window(enrolled) == expected


def test_info_prints_the_design(tmp_path):
    result = CliRunner().invoke(app, ["info", "--study-dir", str(make_study(tmp_path))])
    assert result.exit_code == 0
    assert "after training" in result.output
    assert "wemwbs" in result.output


def test_info_json_is_parseable(tmp_path):
    import json

    result = CliRunner().invoke(app, ["info", "-C", str(make_study(tmp_path)), "--format", "json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["slug"] == "test-study"


def test_module_entry_point_reports_could_not_run_with_exit_2(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(PACKAGE_SRC)}
    result = subprocess.run(
        [sys.executable, "-m", "studykit", "info", "--study-dir", str(tmp_path)],
        capture_output=True, text=True, env=env, check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert "study.yml: not found" in result.stderr
