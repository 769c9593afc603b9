"""This study's own tests: contracts its data and design must keep. Add your own here."""

import subprocess
import sys
from pathlib import Path

from studykit import load_study

ROOT = Path(__file__).resolve().parents[1]


def test_study_yml_describes_a_design():
    study = load_study(ROOT)
    assert study.waves, "study.yml must list at least one wave"


def test_studykit_info_runs():
    result = subprocess.run(
        [sys.executable, "-m", "studykit", "info", "--study-dir", str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert load_study(ROOT).title.split()[0] in result.stdout


def test_studykit_validate_passes():
    """Every problem in the data, at once: this study's data must validate without errors."""
    result = subprocess.run(
        [sys.executable, "-m", "studykit", "validate", "--study-dir", str(ROOT), "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
