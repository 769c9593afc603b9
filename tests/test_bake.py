"""Bake the template over a matrix of answers and check what comes out.

Fast tests look at the files; tests marked ``slow`` run each baked study's own
tests and ``studykit`` commands with that study's copy of the package.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
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


def test_bake_copies_the_report_pages_with_their_quarto_shortcodes(tmp_path):
    study = bake(tmp_path)
    template = TEMPLATE / "{{cookiecutter.project_slug}}" / "reports"
    # The pages and the project file; the example brings its own propositions and checklists.
    for page in [*template.glob("*.qmd"), template / "_quarto.yml"]:
        assert (study / "reports" / page.name).read_bytes() == page.read_bytes(), page.name
    assert "{{< var n.enrolled >}}" in (study / "reports" / "index.qmd").read_text(encoding="utf-8")


@pytest.mark.slow
def test_baked_study_renders_its_report_preview_without_quarto(tmp_path):
    from tests.package.report_fixture import write_results_fixture

    study = bake(tmp_path)
    write_results_fixture(study / "reports")
    result = run_in_study(study, "-m", "studykit", "report", "--skip-results", "--renderer", "preview")
    assert result.returncode == 0, result.stderr
    assert "this is a PREVIEW made with pandoc" in result.stderr
    pages = sorted(p.name for p in (study / "reports" / "_preview").glob("*.html"))
    assert pages == ["checklists.html", "index.html", "integration.html", "involvement.html",
                     "qualitative.html", "quantitative.html"]  # fmt: skip
    subprocess.run(["git", "init", "-q"], cwd=study, check=True)
    ignored = subprocess.run(["git", "check-ignore", "--no-index", "reports/_preview/index.html",
                              "reports/_results/tbl-flow.md", "reports/_variables.yml"],
                             cwd=study, capture_output=True, text=True, check=False)  # fmt: skip
    assert ignored.stdout.split() == ["reports/_preview/index.html", "reports/_results/tbl-flow.md",
                                      "reports/_variables.yml"]  # fmt: skip


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
        ({"study_title": "   "}, "study_title is empty"),  # the slug default stays a folder name
        ({"study_title": ""}, "study_title is empty"),
    ],
)
def test_bad_answers_stop_the_bake_and_leave_nothing(tmp_path, capfd, answers, says):
    with pytest.raises(FailedHookException):
        bake(tmp_path, include_example_data="no", **answers)
    assert list(tmp_path.iterdir()) == [], "no directory is left behind"
    assert says in capfd.readouterr().err


def test_interactive_bake_asks_the_example_question_first(tmp_path):
    """A person at the keyboard: the first question is the example, and says what 'yes' fixes."""
    result = subprocess.run(
        [sys.executable, "-m", "cookiecutter", str(TEMPLATE), "--output-dir", str(tmp_path)],
        input="2\n" + "\n" * 20, capture_output=True, text=True, check=False, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    first = result.stdout.split("[2/", 1)[0]
    assert "[1/12]" in first
    assert "synthetic example study" in first
    assert "fixes the design" in first
    design = (tmp_path / "peer-workforce-wellbeing-study" / "study.yml").read_text(encoding="utf-8")
    assert "synthetic: false" in design, "answering 2 (no) at the first question gave a study of one's own"


def test_bake_with_a_strand_has_its_transcripts_folder(tmp_path):
    study = bake(tmp_path, qualitative="interviews", include_example_data="no")
    transcripts = study / "data" / "qualitative" / "transcripts"
    assert transcripts.is_dir(), "the README describes data/qualitative/transcripts/"
    assert [p.name for p in transcripts.iterdir()] == [".gitkeep"], "a file, so git keeps the folder"


def test_package_sync_creates_the_file_of_an_added_instrument(tmp_path):
    study = bake(tmp_path, qualitative="none", include_example_data="no")
    design = study / "study.yml"
    added = design.read_text(encoding="utf-8").replace("  - cbi\n", "  - cbi\n  - phq9\n  - gad7\n")
    design.write_text(added, encoding="utf-8")
    assert not (study / "data" / "measures" / "phq9.csv").exists()
    outside = tmp_path / "outside.csv"
    (study / "data" / "measures" / "gad7.csv").symlink_to(outside)  # a dangling link is never written through
    synced = run_in_study(study, "-m", "studykit", "package", "sync")
    assert synced.returncode == 0, synced.stderr
    assert "Created data/measures/phq9.csv with its header row only" in " ".join(synced.stderr.split())
    assert "gad7" not in synced.stderr
    assert not outside.exists()
    (study / "data" / "measures" / "gad7.csv").unlink()
    design.write_text(design.read_text(encoding="utf-8").replace("  - gad7\n", ""), encoding="utf-8")
    assert run_in_study(study, "-m", "studykit", "package", "sync").returncode == 0
    items = ",".join(f"item_{i:02d}" for i in range(1, 10))
    header = f"participant_id,wave,completed_on,{items}\n"
    assert (study / "data" / "measures" / "phq9.csv").read_text(encoding="utf-8") == header
    validated = run_in_study(study, "-m", "studykit", "validate", "--format", "json")
    assert validated.returncode == 0, validated.stdout[-2000:]
    # A second sync leaves an existing file alone, data and all.
    (study / "data" / "measures" / "cbi.csv").write_text("kept as it is\n", encoding="utf-8")
    again = run_in_study(study, "-m", "studykit", "package", "sync")
    assert again.returncode == 0, again.stderr
    assert "Created" not in again.stderr
    assert (study / "data" / "measures" / "cbi.csv").read_text(encoding="utf-8") == "kept as it is\n"


def test_study_ci_validates_first_and_always_keeps_the_report(tmp_path):
    import yaml

    study = bake(tmp_path, include_example_data="no")
    workflow = yaml.safe_load((study / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))
    steps = workflow["jobs"]["validate"]["steps"]
    runs = [step.get("run", step.get("uses", "")) for step in steps]
    validate = next(i for i, r in enumerate(runs) if "nox -s validate" in r)
    upload = next(i for i, r in enumerate(runs) if r.startswith("actions/upload-artifact"))
    tests = next(i for i, r in enumerate(runs) if r == "nox -s tests")
    assert validate < upload < tests
    assert "--output validation-report.json" in runs[validate]
    assert steps[upload]["if"] == "always()"
    assert steps[upload]["with"]["path"] == "validation-report.json"
    assert "cancelled()" in steps[tests]["if"], "the tests still run after validation fails"


@pytest.mark.slow
def test_study_test_fails_with_one_summary_line(tmp_path):
    study = bake(tmp_path, include_example_data="no")
    with (study / "data" / "participants.csv").open("a", encoding="utf-8") as handle:
        handle.write("P001,peer worker,peer support worker,S1,2024-13-01,,\n")
    result = run_in_study(study, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_study.py")
    assert result.returncode == 1
    line = r"studykit validate found \d+ error\(s\) \([A-Z]+\d+ in data/participants.csv[^)]*\); run `nox -s"
    assert re.search(line, result.stdout), result.stdout[-3000:]
    assert '"findings"' not in result.stdout, "the JSON report is not the assertion message"
    assert len(result.stdout) < 4000


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MATRIX))
def test_baked_study_passes_its_own_tests(tmp_path, name):
    study = bake(tmp_path, **MATRIX[name])
    info = run_in_study(study, "-m", "studykit", "info")
    assert info.returncode == 0, info.stderr
    tests = run_in_study(study, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests")
    assert tests.returncode == 0, tests.stdout + tests.stderr


# --- template lifecycle: recorded answers, the weekly check, study-owned files --------------------


def test_bake_records_answers_and_version_without_local_paths(tmp_path, monkeypatch):
    import tomllib

    home = tmp_path / "home" / "baker"
    home.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    study = bake(home, study_title="Lived Experience", include_example_data="no")
    text = (study / ".cookiecutter.json").read_text(encoding="utf-8")
    recorded = json.loads(text)
    assert str(home) not in text
    assert str(TEMPLATE) not in text
    assert not [k for k in recorded if k.startswith("_") and k != "_template_version"]
    config = json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))
    assert recorded["_template_version"] == config["__template_version"]
    assert recorded["study_title"] == "Lived Experience"
    assert set(recorded) - {"_template_version"} == {k for k in config if not k.startswith("_")}
    pyproject = tomllib.loads((study / "pyproject.toml").read_text(encoding="utf-8"))
    assert any(d.startswith("cruft") for d in pyproject["project"]["dependencies"])


def test_template_from_a_git_url_is_recorded_but_never_a_folder():
    from cookiecutter.extensions import JsonifyExtension
    from jinja2 import Environment

    source = (TEMPLATE / "{{cookiecutter.project_slug}}" / ".cookiecutter.json").read_text(encoding="utf-8")
    render = Environment(extensions=[JsonifyExtension]).from_string(source).render
    context = {"study_title": "T", "__template_version": "0.1.0", "_output_dir": "/home/me/out",
               "_repo_dir": "/home/me/.cookiecutters/t", "_checkout": None}
    url = json.loads(render(cookiecutter={**context, "_template": "https://git.example.org/team/t.git"}))
    assert url == {"study_title": "T", "_template_version": "0.1.0", "_template": "https://git.example.org/team/t.git"}
    for folder in ("/home/me/studykit", "file:///home/me/studykit", "../studykit"):
        assert "_template" not in json.loads(render(cookiecutter={**context, "_template": folder}))
    from studykit.template import URL_PREFIXES

    assert f"source.startswith({URL_PREFIXES!r})".replace("'", '"') in source, "one list of URL forms"


def test_study_ci_checks_the_template_weekly_not_on_push(tmp_path):
    import yaml

    study = bake(tmp_path, include_example_data="no")
    workflows = study / ".github" / "workflows"
    weekly = yaml.safe_load((workflows / "template.yml").read_text(encoding="utf-8"))
    triggers = weekly[True]  # YAML 1.1 reads the key `on` as true
    assert set(triggers) == {"schedule", "workflow_dispatch"}
    assert triggers["schedule"][0]["cron"].endswith("* * 1"), "once a week"
    runs = [s.get("run", "") for job in weekly["jobs"].values() for s in job["steps"]]
    assert "studykit template check" in runs
    assert "template" not in (workflows / "ci.yml").read_text(encoding="utf-8"), "not on every push"


def test_study_owned_files_are_skipped_by_template_updates(tmp_path):
    import tomllib

    study = bake(tmp_path)  # the example: data, registers, its own instruments
    skip = tomllib.loads((study / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["cruft"]["skip"]
    covered = {p for entry in skip for p in (study.glob(entry) if "*" in entry else [study / entry])}

    def owned_by_study(path: Path) -> bool:
        return any(c == path or c in path.parents for c in covered)

    owned = [*study.glob("data/**/*"), *study.glob("governance/*"), *study.glob("instruments/*.yml"),
             study / "datapackage.json"]
    assert (study / "instruments" / "mjs.yml") in owned
    assert [p.relative_to(study).as_posix() for p in owned if not owned_by_study(p)] == []
    for template_owned in ("README.md", "noxfile.py", "src/studykit/cli.py", "docs/rules.md", "study.yml"):
        assert not owned_by_study(study / template_owned), template_owned
