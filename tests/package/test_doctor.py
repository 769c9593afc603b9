"""studykit doctor: the vendored package against the manifest the template ships."""

from __future__ import annotations

import json
import shutil

from studykit.cli import app
from studykit.doctor import MANIFEST, build_manifest, diagnose, vendored_changes
from typer.testing import CliRunner

from tests.conftest import PACKAGE_SRC

PACKAGE = PACKAGE_SRC / "studykit"
runner = CliRunner()


def test_manifest_matches_the_package():
    """Drift: regenerate with `nox -s fragments` (tests/regenerate.py) after changing studykit."""
    assert (PACKAGE / MANIFEST).read_text(encoding="utf-8") == build_manifest(PACKAGE), (
        "src/studykit changed: run `nox -s fragments` to regenerate the manifest"
    )


def vendored_study(tmp_path):
    study = tmp_path / "study"
    shutil.copytree(PACKAGE, study / "src" / "studykit", ignore=shutil.ignore_patterns("__pycache__"))
    (study / ".cookiecutter.json").write_text(json.dumps({"_template_version": "0.1.0"}))
    return study


def test_doctor_finds_nothing_in_a_fresh_copy_even_with_crlf(tmp_path):
    study = vendored_study(tmp_path)
    init = study / "src" / "studykit" / "__init__.py"
    init.write_bytes(init.read_bytes().replace(b"\n", b"\r\n"))  # a Windows checkout
    assert vendored_changes(study) == []
    result = runner.invoke(app, ["doctor", "-C", str(study)])
    assert result.exit_code == 0, result.output
    assert "No problems found" in result.stdout


def test_doctor_names_edited_deleted_and_added_files(tmp_path):
    study = vendored_study(tmp_path)
    package = study / "src" / "studykit"
    (package / "render.py").write_text("# patched locally\n", encoding="utf-8")
    (package / "instruments" / "library" / "cbi.yml").unlink()
    (package / "local_helper.py").write_text("x = 1\n", encoding="utf-8")
    changes = [(c.path, c.change) for c in vendored_changes(study)]
    assert changes == [
        ("src/studykit/instruments/library/cbi.yml", "deleted"),
        ("src/studykit/render.py", "edited"),
        ("src/studykit/local_helper.py", "added"),
    ]
    report = diagnose(study)
    assert report.exit_code == 1
    assert len(report.problems) == 2, "an added file is a note, not a problem"
    assert "never receives template updates again" in report.problems[0]
    result = runner.invoke(app, ["doctor", "-C", str(study), "--format", "json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["healthy"] is False


def test_doctor_says_when_the_manifest_or_the_answers_are_missing(tmp_path):
    study = vendored_study(tmp_path)
    (study / "src" / "studykit" / MANIFEST).unlink()
    (study / ".cookiecutter.json").unlink()
    problems = diagnose(study).problems
    assert [p.split(" ", 1)[0] for p in problems] == [f"src/studykit/{MANIFEST}", "The"]
    assert "cannot take template updates" in problems[1]


def test_doctor_notes_a_template_recorded_as_a_local_folder(tmp_path):
    study = vendored_study(tmp_path)
    state = {"template": "/home/someone/studykit", "commit": "abc", "context": {"cookiecutter": {}}}
    (study / ".cruft.json").write_text(json.dumps(state))
    report = diagnose(study)
    assert report.exit_code == 0, "a note, not a problem"
    assert report.notes[0].startswith(".cruft.json names the template by a folder on one computer "
                                      "(/home/someone/studykit)")
    state["template"] = "https://git.example.org/team/studykit-template.git"
    (study / ".cruft.json").write_text(json.dumps(state))
    assert diagnose(study).notes == []
