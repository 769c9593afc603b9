"""studykit.template without baking: recorded answers, reaching the template, conflicts, refusals.

Real git repositories in temporary folders; the full cruft round trip is in tests/test_lifecycle.py.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from studykit.cli import app
from studykit.template import (
    TemplateError,
    check,
    clone_template,
    leftover_conflicts,
    recorded,
    require_clean,
)
from typer.testing import CliRunner

runner = CliRunner()


@pytest.fixture(autouse=True)
def git_identity(monkeypatch):
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Template Test")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "template-test@example.org")


def git(where: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=where, capture_output=True, text=True, check=True).stdout


def repo_with(tmp_path: Path, name: str, files: dict[str, str]) -> Path:
    repo = tmp_path / name
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit(repo, files, "first")
    return repo


def commit(repo: Path, files: dict[str, str], message: str) -> str:
    for relative, text in files.items():
        (repo / relative).parent.mkdir(parents=True, exist_ok=True)
        (repo / relative).write_text(text, encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def config(version: str) -> dict[str, str]:
    return {"cookiecutter.json": json.dumps({"study_title": "T", "__template_version": version})}


def test_recorded_reads_cruft_json_before_cookiecutter_json(tmp_path):
    answers = {"study_title": "Plain", "_template_version": "0.1.0"}
    (tmp_path / ".cookiecutter.json").write_text(json.dumps(answers))
    plain = recorded(tmp_path)
    assert plain is not None
    assert (plain.answers, plain.version, plain.linked, plain.template) == (
        {"study_title": "Plain"}, "0.1.0", False, None)
    context = {"study_title": "Cruft", "_commit": "abc", "__template_version": "0.3.0"}
    cruft = {"template": "https://example.org/t.git", "commit": "abc", "checkout": None,
             "context": {"cookiecutter": context}}
    (tmp_path / ".cruft.json").write_text(json.dumps(cruft))
    linked = recorded(tmp_path)
    assert linked is not None
    assert (linked.answers, linked.version, linked.commit, linked.linked) == (
        {"study_title": "Cruft"}, "0.3.0", "abc", True)


def test_recorded_is_none_without_answers_and_a_sentence_for_broken_json(tmp_path):
    assert recorded(tmp_path) is None
    (tmp_path / ".cruft.json").write_text("{not json")
    with pytest.raises(TemplateError, match=r"^\.cruft\.json: cannot be read as JSON"):
        recorded(tmp_path)


def test_check_exit_2_without_answers_one_sentence(tmp_path):
    result = runner.invoke(app, ["template", "check", "-C", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stdout.strip().startswith("Cannot tell: the study records no answers")
    assert len(result.stdout.strip().splitlines()) <= 2


def test_check_exit_2_when_the_template_cannot_be_reached(tmp_path):
    state = {"template": str(tmp_path / "nowhere"), "commit": "abc", "context": {"cookiecutter": {}}}
    (tmp_path / ".cruft.json").write_text(json.dumps(state))
    status = check(tmp_path)
    assert status.exit_code == 2
    where = tmp_path / "nowhere"
    assert status.sentence.startswith(f"Cannot tell: the template at {where} could not be reached")


def test_check_exit_2_when_plain_study_names_no_template(tmp_path):
    (tmp_path / ".cookiecutter.json").write_text(json.dumps({"_template_version": "0.1.0"}))
    assert check(tmp_path).sentence == (
        "Cannot tell: .cookiecutter.json does not say where the template lives; "
        "run again with --template URL."
    )


def test_check_compares_commits_and_names_the_newer_version(tmp_path):
    template = repo_with(tmp_path, "template", config("0.1.0"))
    first = git(template, "rev-parse", "HEAD").strip()
    study = tmp_path / "study"
    study.mkdir()
    context = {"cookiecutter": {"__template_version": "0.1.0"}}
    state = {"template": str(template), "commit": first, "context": context}
    (study / ".cruft.json").write_text(json.dumps(state))
    assert check(study).exit_code == 0
    commit(template, {"README.md": "same version, new text"}, "docs")
    newest = commit(template, config("0.2.0"), "release 0.2.0")
    status = check(study)
    assert status.exit_code == 1
    assert status.sentence.startswith(f"A newer template is available: version 0.2.0 (commit {newest[:10]})")
    assert check(study, ref=first).exit_code == 0, "--to a ref the study is on"


def test_plain_study_version_maps_to_its_tag_else_its_oldest_commit(tmp_path):
    template = repo_with(tmp_path, "template", config("0.1.0"))
    oldest = git(template, "rev-parse", "HEAD").strip()
    later = commit(template, {"README.md": "x"}, "still 0.1.0")
    commit(template, config("0.2.0"), "0.2.0")
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    assert clone_template(str(template), tmp_path / "one").release_commit("0.1.0") == oldest
    git(template, "tag", "v0.1.0", later)
    tagged = clone_template(str(template), tmp_path / "two")
    assert tagged.release_commit("0.1.0") == later
    assert tagged.release_commit("9.9.9") is None


def test_leftover_conflicts_finds_markers_and_rej_files_not_trailing_spaces(tmp_path):
    study = repo_with(tmp_path, "study", {"README.md": "one\n", "notes.md": "fine\n"})
    (study / "README.md").write_text("<<<<<<< ours\none\n=======\ntwo\n>>>>>>> theirs\n")
    git(study, "add", "README.md")
    (study / "notes.md").write_text("fine   \n")  # trailing spaces: not a conflict
    (study / "docs").mkdir()
    (study / "docs" / "guide.md.rej").write_text("@@ -1 +1 @@\n")
    found = [(c.file, c.kind) for c in leftover_conflicts(study)]
    assert found == [("README.md", "markers"), ("docs/guide.md.rej", "rejected")]
    assert "then delete docs/guide.md.rej" in leftover_conflicts(study)[1].fix


def test_update_refuses_a_dirty_tree_or_no_git(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(TemplateError, match="not a git repository"):
        require_clean(plain)
    study = repo_with(tmp_path, "study", {"README.md": "one\n"})
    (study / "README.md").write_text("edited\n")
    result = runner.invoke(app, ["template", "update", "-C", str(study)])
    assert result.exit_code == 2
    assert "uncommitted changes (README.md)" in " ".join(result.stderr.split())


def test_update_of_a_plain_study_refuses_a_version_the_template_never_had(tmp_path):
    template = repo_with(tmp_path, "template", config("0.1.0"))
    answers = {"study_title": "Mine", "_template_version": "9.9.9"}
    study = repo_with(tmp_path, "study", {".cookiecutter.json": json.dumps(answers)})
    result = runner.invoke(app, ["template", "update", "-C", str(study), "--template", str(template)])
    assert result.exit_code == 2
    assert f"the template at {template} has no version 9.9.9" in " ".join(result.stderr.split())
    assert not (study / ".cruft.json").exists(), "nothing is linked when the update cannot run"
