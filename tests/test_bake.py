"""Bake the template over a matrix of answers and check what comes out.

Fast tests look at the files; tests marked ``slow`` run each baked study's own
tests and ``studykit`` commands with that study's copy of the package.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cookiecutter.exceptions import FailedHookException

from tests.conftest import TEMPLATE, bake, run_in_study

LIBRARY = json.loads((TEMPLATE / "cookiecutter.json").read_text())["__instrument_library"].split()
JINJA = re.compile(r"{{\s*cookiecutter|{%-?\s|cookiecutter\.__")

# Readable ids for a matrix of answer sets: defaults, every instrument, none, each strand, adversarial.
MATRIX = {
    "defaults": {},
    "every-instrument": {"instruments": ", ".join(LIBRARY), "include_example_data": "no"},
    "no-instruments": {"instruments": "none", "include_example_data": "no"},
    "interviews-only": {"qualitative": "interviews", "include_example_data": "no"},
    "focus-groups-only": {"qualitative": "focus groups"},
    "event-notes-only": {"qualitative": "event notes", "include_example_data": "no"},
    "no-qualitative": {"qualitative": "none"},
    "adversarial": {
        "study_title": 'Étude "Peer" d\'été: {braces} & <tags> \\ back',
        "project_slug": "etude-peer",
        "principal_investigator": "Dr O'Brien-Łukasz (placeholder)",
        "institution": 'Institut "Été"',
        "waves": "baseline:0, six months:6",
        "instruments": "phq8, gad7",
        "include_example_data": "no",
    },
}


CACHES = {"__pycache__", ".ruff_cache", ".pytest_cache", ".hypothesis", ".nox"}
TEXT = {".md", ".yml", ".json", ".toml", ".py", ".csv", ".txt", ".cfg", ".gitignore", ".lock"}


def text_files(study: Path) -> list[Path]:
    """Text files a bake produced (development caches in a local checkout are ignored)."""
    return [p for p in study.rglob("*")
            if p.is_file() and (p.suffix or p.name) in TEXT and not CACHES & set(p.parts)]


@pytest.mark.parametrize("name", list(MATRIX))
def test_bake_renders_cleanly(tmp_path, name):
    study = bake(tmp_path, **MATRIX[name])
    assert (study / "study.yml").is_file()
    assert not (study / ".bake").exists(), "the post-gen hook removes its build folder"
    leftovers = [str(p.relative_to(study)) for p in text_files(study)
                 if "src/studykit" not in p.as_posix() and JINJA.search(p.read_text(encoding="utf-8"))]
    assert leftovers == []
    for required in ("README.md", "study.yml", "datapackage.json", "pyproject.toml", "requirements.lock",
                     "noxfile.py", ".gitignore", ".github/workflows/ci.yml", "data/participants.csv",
                     "data/employment.csv", "governance/consent.csv", "governance/withdrawals.csv",
                     "governance/ethics.yml", "src/studykit/cli.py", "tests/test_study.py"):
        assert (study / required).exists(), required


def test_bake_keeps_chosen_instruments_only(tmp_path):
    study = bake(tmp_path, instruments="phq9, gad7", include_example_data="no")
    assert sorted(p.stem for p in (study / "data" / "measures").glob("*.csv")) == ["gad7", "phq9"]
    resources = [r["name"] for r in json.loads((study / "datapackage.json").read_text())["resources"]]
    assert [r for r in resources if r.startswith("measures-")] == ["measures-phq9", "measures-gad7"]


def test_bake_without_qualitative_has_no_qualitative_folder(tmp_path):
    study = bake(tmp_path, qualitative="none", include_example_data="no")
    assert not (study / "data" / "qualitative").exists()
    names = [r["name"] for r in json.loads((study / "datapackage.json").read_text())["resources"]]
    assert "segments" not in names


def test_bake_copies_studykit_verbatim(tmp_path):
    study = bake(tmp_path, include_example_data="no")
    source = TEMPLATE / "{{cookiecutter.project_slug}}" / "src" / "studykit"
    for path in source.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            copy = study / "src" / "studykit" / path.relative_to(source)
            assert copy.read_bytes() == path.read_bytes(), path


def test_adversarial_answers_round_trip_into_study_yml(tmp_path):
    import yaml

    study = bake(tmp_path, **MATRIX["adversarial"])
    design = yaml.safe_load((study / "study.yml").read_text(encoding="utf-8"))
    assert design["title"] == MATRIX["adversarial"]["study_title"]
    assert design["principal_investigator"] == MATRIX["adversarial"]["principal_investigator"]
    assert [w["label"] for w in design["waves"]] == ["baseline", "six months"]


@pytest.mark.parametrize(
    ("answers", "says"),
    [
        ({"project_slug": "Bad Slug"}, "project_slug 'Bad Slug'"),
        ({"waves": "baseline"}, "waves entry 'baseline'"),
        ({"instruments": "wemwbs, nope"}, "'nope' is not in the library"),
        ({"contact_email": "nobody"}, "contact_email 'nobody'"),
        ({"study_title": " ", "project_slug": "x-study"}, "study_title is empty"),
    ],
)
def test_bad_answers_stop_the_bake_and_leave_nothing(tmp_path, capfd, answers, says):
    with pytest.raises(FailedHookException):
        bake(tmp_path, include_example_data="no", **answers)
    assert list(tmp_path.iterdir()) == [], "no directory is left behind"
    assert says in capfd.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MATRIX))
def test_baked_study_passes_its_own_tests(tmp_path, name):
    study = bake(tmp_path, **MATRIX[name])
    info = run_in_study(study, "-m", "studykit", "info")
    assert info.returncode == 0, info.stderr
    tests = run_in_study(study, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests")
    assert tests.returncode == 0, tests.stdout + tests.stderr
