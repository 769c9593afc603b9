"""This study's own tests: contracts its data and design must keep. Add your own here."""

import json
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


def validation_summary(stdout: str, stderr: str) -> str:
    """One line for a failed validation: how many errors, which codes in which files."""
    try:
        report = json.loads(stdout)
    except json.JSONDecodeError:  # validation could not run (exit 2): its last sentence says why
        return (stderr.strip().splitlines() or ["studykit validate could not run."])[-1]
    errors = sorted({f"{f['code']} in {f['file']}" for f in report["findings"] if f["severity"] == "error"})
    shown = ", ".join(errors[:5]) + (f" and {len(errors) - 5} more" if len(errors) > 5 else "")
    return (
        f"studykit validate found {report['counts']['error']} error(s) ({shown}); "
        "run `nox -s validate` to see each one with what to do."
    )


def test_studykit_validate_passes():
    """Every problem in the data, at once: this study's data must validate without errors."""
    result = subprocess.run(
        [sys.executable, "-m", "studykit", "validate", "--study-dir", str(ROOT), "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    exit_code = result.returncode  # compared alone, so a failure shows the summary, not the report
    assert exit_code == 0, validation_summary(result.stdout, result.stderr)
