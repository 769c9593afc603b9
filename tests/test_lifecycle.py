"""A study keeps up with its template: real git, real cruft, in temporary folders.

The template is copied into a git repository and committed; a study is baked from it with
``cruft create`` or plain ``cookiecutter`` and committed; the template then changes (a vendored
studykit file, a template-owned file, a new file, a removed file, and files the study owns) and
``studykit template check`` / ``update`` run as the team would run them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from studykit.doctor import MANIFEST, build_manifest

from tests.conftest import TEMPLATE, run_in_study

IGNORE = shutil.ignore_patterns(".git", ".nox", "demo-study", "__pycache__", ".ruff_cache", ".pytest_cache",
                                ".hypothesis")
STUDY_DIR = "{{cookiecutter.project_slug}}"
ANSWERS = {"study_title": "Lived Experience Study", "project_slug": "lived-experience",
           "include_example_data": "no", "instruments": "phq9, gad7", "qualitative": "interviews"}


@pytest.fixture(autouse=True)
def git_identity(monkeypatch, tmp_path):
    """Who commits, for git only in these tests; HOME is a temporary folder (no replay files leak)."""
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Template Test")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "template-test@example.org")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    (tmp_path / "home").mkdir()


def git(where: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=where, capture_output=True, text=True, check=True, timeout=120)
    return done.stdout


def commit_all(where: Path, message: str) -> None:
    git(where, "add", "-A")
    git(where, "commit", "-q", "-m", message)


def template_repo(tmp_path: Path) -> Path:
    """This template, copied into a fresh git repository and committed."""
    repo = tmp_path / "template"
    shutil.copytree(TEMPLATE, repo, ignore=IGNORE)
    git(repo, "init", "-q", "-b", "main")
    commit_all(repo, "template v1")
    return repo


def studykit(study: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_in_study(study, "-m", "studykit", *args)


def _bake(command: list[str], out: Path) -> Path:
    """Run a bake command that writes one study into ``out``; the study, as a git repository, committed."""
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    (study,) = out.iterdir()
    git(study, "init", "-q", "-b", "main")
    commit_all(study, "baked")
    return study


def cruft_bake(template: Path, out: Path, *options: str, **answers: str) -> Path:
    """``cruft create`` (with ``options``, such as ``--checkout BRANCH``) into ``out``, then committed."""
    out.mkdir()
    return _bake([sys.executable, "-m", "cruft", "create", str(template), *options, "--no-input",
                  "--output-dir", str(out), "--extra-context", json.dumps(answers)], out)  # fmt: skip


def plain_bake(template: Path, out: Path, **answers: str) -> Path:
    return _bake([sys.executable, "-m", "cookiecutter", str(template), "--no-input", "--output-dir", str(out),
                  *(f"{k}={v}" for k, v in answers.items())], out)  # fmt: skip


def add_team_work(study: Path) -> dict[str, bytes]:
    """What a team writes into its own files; returns every study-owned file's bytes."""
    library = study / "src" / "studykit" / "instruments" / "library" / "cbi.yml"
    own = library.read_text(encoding="utf-8").replace("id: cbi", "id: team_climate", 1)
    (study / "instruments" / "team_climate.yml").write_text(own, encoding="utf-8")
    (study / "reports").mkdir(exist_ok=True)
    (study / "reports" / "index.qmd").write_text("The team's prose.\n")
    (study / "reports" / "propositions.yml").write_text("- id: TEAM1\n  statement: peers help\n")
    with (study / "governance" / "ethics.yml").open("a", encoding="utf-8") as handle:
        handle.write("# reviewed by the team\n")
    with (study / "data" / "measures" / "README.md").open("a", encoding="utf-8") as handle:
        handle.write("Our own note on the measures.\n")
    commit_all(study, "team work")
    return owned_bytes(study)


def owned_bytes(study: Path) -> dict[str, bytes]:
    owned = [*study.glob("data/**/*"), *study.glob("governance/**/*"), *study.glob("instruments/*.yml"),
             *study.glob("reports/*.qmd"), study / "reports" / "propositions.yml", study / "datapackage.json"]
    return {p.relative_to(study).as_posix(): p.read_bytes() for p in owned if p.is_file()}


def change_template(repo: Path) -> None:
    """v2: a vendored studykit file (manifest regenerated, as a release does), a template-owned file,
    a new file, a removed file, a new question (its default is taken, nobody is asked), and files
    every study owns (which no update may touch)."""
    study = repo / STUDY_DIR
    package = study / "src" / "studykit"
    init = package / "__init__.py"
    version = init.read_text(encoding="utf-8").replace('__version__ = "0.1.0"', '__version__ = "0.2.0"')
    init.write_text(version, encoding="utf-8")
    (package / MANIFEST).write_text(build_manifest(package), encoding="utf-8")
    config = repo / "cookiecutter.json"
    questions = config.read_text(encoding="utf-8").replace('"0.1.0"', '"0.2.0"', 1)
    new_question = '  "funder": "Not yet funded",\n  "archive_target":'
    questions = questions.replace('  "archive_target":', new_question, 1)
    config.write_text(questions, encoding="utf-8")
    (study / "FUNDING.md").write_text("Funded by {{ cookiecutter.funder }}.\n", encoding="utf-8")
    noxfile = study / "noxfile.py"
    noxfile.write_text(noxfile.read_text(encoding="utf-8") + "\n# Template v2 was here.\n", encoding="utf-8")
    (study / "docs" / "news.md").write_text("# What is new in template v2\n", encoding="utf-8")
    (study / "docs" / "security.md").unlink()
    for owned in ("data/measures/README.md", "governance/ethics.yml", "governance/consent.csv"):
        with (study / owned).open("a", encoding="utf-8") as handle:
            handle.write("# the template changed this too\n")
    commit_all(repo, "template v2")


def assert_v2(study: Path) -> None:
    assert '__version__ = "0.2.0"' in (study / "src" / "studykit" / "__init__.py").read_text()
    assert (study / "noxfile.py").read_text().endswith("# Template v2 was here.\n")
    assert (study / "docs" / "news.md").is_file()
    assert not (study / "docs" / "security.md").exists()
    assert (study / "FUNDING.md").read_text() == "Funded by Not yet funded.\n"
    assert json.loads((study / ".cookiecutter.json").read_text())["funder"] == "Not yet funded"


def test_cruft_study_checks_updates_and_keeps_its_own_files(tmp_path):
    repo = template_repo(tmp_path)
    study = cruft_bake(repo, tmp_path / "out", **ANSWERS)
    state = json.loads((study / ".cruft.json").read_text())
    assert state["context"]["cookiecutter"]["study_title"] == ANSWERS["study_title"]
    assert not {"_output_dir", "_repo_dir"} & set(state["context"]["cookiecutter"])
    answers = json.loads((study / ".cookiecutter.json").read_text())
    assert "_template" not in answers, "a template given as a folder is not written into the study"
    assert answers["_template_version"] == "0.1.0"
    owned = add_team_work(study)

    current = studykit(study, "template", "check")
    assert current.returncode == 0, current.stdout + current.stderr
    assert "on the newest template, version 0.1.0" in " ".join(current.stdout.split())

    change_template(repo)
    newer = studykit(study, "template", "check")
    assert newer.returncode == 1, newer.stdout + newer.stderr
    said = " ".join(newer.stdout.split())
    assert "A newer template is available: version 0.2.0" in said
    assert "the study is on version 0.1.0" in said

    (study / "notes.txt").write_text("uncommitted")
    dirty = studykit(study, "template", "update")
    assert dirty.returncode == 2
    assert "uncommitted changes (notes.txt)" in " ".join(dirty.stderr.split())
    (study / "notes.txt").unlink()

    updated = studykit(study, "template", "update")
    assert updated.returncode == 0, updated.stdout + updated.stderr
    for path in ("noxfile.py", "docs/news.md", "docs/security.md", "src/studykit/__init__.py"):
        assert path in updated.stdout
    assert_v2(study)
    assert owned_bytes(study) == owned, "study-owned files are byte for byte as the team left them"
    assert git(study, "log", "--format=%s", "-1").strip() == "team work", "update never commits"
    assert studykit(study, "template", "check").returncode == 0
    doctor = studykit(study, "doctor")
    assert doctor.returncode == 0, doctor.stdout
    validated = studykit(study, "validate")
    assert validated.returncode == 0, validated.stdout[-3000:]

    # A local edit to the same lines the template changes next: exit 1, naming the file.
    commit_all(study, "template v2 taken")
    noxfile = study / "noxfile.py"
    noxfile.write_text(noxfile.read_text().replace("# Template v2 was here.", "# Our own line."))
    commit_all(study, "local edit")
    template_nox = repo / STUDY_DIR / "noxfile.py"
    template_nox.write_text(template_nox.read_text().replace("# Template v2 was here.", "# Template v3."))
    commit_all(repo, "template v3")
    conflicted = studykit(study, "template", "update")
    assert conflicted.returncode == 1, conflicted.stdout + conflicted.stderr
    said = " ".join(conflicted.stdout.split())
    assert "noxfile.py Edit noxfile.py: between <<<<<<< and >>>>>>>" in said
    assert "1 conflicted file(s)" in said
    assert "<<<<<<<" in noxfile.read_text()
    assert studykit(study, "doctor").returncode == 1, "doctor also sees the unresolved conflict"
    assert owned_bytes(study) == owned


@pytest.mark.slow
def test_plain_cookiecutter_study_is_linked_from_its_answers_and_still_passes(tmp_path):
    repo = template_repo(tmp_path)
    study = plain_bake(repo, tmp_path / "home" / "studies", **ANSWERS)
    recorded = json.loads((study / ".cookiecutter.json").read_text())
    text = (study / ".cookiecutter.json").read_text()
    assert str(tmp_path) not in text, "no local path: not the template folder, not the baker's home"
    assert not {"_output_dir", "_repo_dir", "_template"} & set(recorded)
    assert recorded["_template_version"] == "0.1.0"
    assert recorded["study_title"] == ANSWERS["study_title"]
    owned = add_team_work(study)

    assert studykit(study, "template", "check").returncode == 2, "no template address recorded"
    assert studykit(study, "template", "check", "--template", str(repo)).returncode == 0
    change_template(repo)
    newer = studykit(study, "template", "check", "--template", str(repo))
    assert newer.returncode == 1, newer.stdout + newer.stderr

    updated = studykit(study, "template", "update", "--template", str(repo))
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert "Linked the study to its template" in updated.stdout
    context = json.loads((study / ".cruft.json").read_text())["context"]["cookiecutter"]
    assert context["study_title"] == ANSWERS["study_title"], "linked from the recorded answers, not defaults"
    assert context["instruments"] == ANSWERS["instruments"]
    assert_v2(study)
    assert json.loads((study / ".cookiecutter.json").read_text())["_template_version"] == "0.2.0"
    assert owned_bytes(study) == owned

    # The updated study still passes its own tests and validation, with its own (updated) studykit.
    assert studykit(study, "validate").returncode == 0
    assert studykit(study, "doctor").returncode == 0
    tests = run_in_study(study, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests")
    assert tests.returncode == 0, tests.stdout[-3000:]


def test_a_study_following_a_branch_is_checked_and_updated_against_that_branch(tmp_path):
    """`cruft create --checkout release` records the branch the study follows; `template check` compares
    with that branch and `template update` takes it (cruft alone would take the default branch)."""
    repo = template_repo(tmp_path)
    git(repo, "branch", "release")
    study = cruft_bake(repo, tmp_path / "out", "--checkout", "release", **ANSWERS)
    assert json.loads((study / ".cruft.json").read_text())["checkout"] == "release"

    change_template(repo)  # v2 on main, not on release
    assert studykit(study, "template", "check").returncode == 0, "the release branch has not moved"
    assert studykit(study, "template", "check", "--to", "main").returncode == 1

    git(repo, "checkout", "-q", "release")
    noxfile = repo / STUDY_DIR / "noxfile.py"
    noxfile.write_text(noxfile.read_text(encoding="utf-8") + "\n# A release fix.\n", encoding="utf-8")
    commit_all(repo, "release fix")
    git(repo, "checkout", "-q", "main")
    newer = studykit(study, "template", "check")
    assert newer.returncode == 1, newer.stdout + newer.stderr

    updated = studykit(study, "template", "update")
    assert updated.returncode == 0, updated.stdout + updated.stderr
    took = (study / "noxfile.py").read_text(encoding="utf-8")
    assert took.endswith("# A release fix.\n")
    assert "Template v2 was here" not in took
    assert json.loads((study / ".cruft.json").read_text())["checkout"] == "release", "still follows it"
