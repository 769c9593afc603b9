"""The command line: exit codes, streams, one error boundary, one --debug, values shown as typed."""

from __future__ import annotations

import errno
import json
import subprocess
import sys

import pytest
import typer
from studykit import cli
from studykit.cli import app
from typer.testing import CliRunner

from tests.conftest import PACKAGE_SRC
from tests.package.designs import design
from tests.package.governance_study import make_study as make_governance_study
from tests.package.test_validate import MEASURES_FILE, make_study, with_row

runner = CliRunner()
# Cells as people type them: a transcription convention, a stray closing tag, an emoji code.
LAUGHS, OOPS = "[laughs] man", "[/oops] :cat:"


def study_with_markup_cells(tmp_path):
    measures = with_row(f"P002,T1,2024-01-20,1,{LAUGHS},2,2", replace=3)
    measures = measures.replace("P003,T1,2024-02-03,5", f"P003,T1,2024-02-03,{OOPS}")
    return make_study(tmp_path, measures=measures)


def invoke(*args: str):
    return runner.invoke(app, list(args), terminal_width=200)


def test_validate_text_shows_markup_like_cells_as_typed(tmp_path):
    root = study_with_markup_cells(tmp_path)
    result = invoke("validate", "-C", str(root))
    assert result.exit_code == 1, result.output
    assert LAUGHS in result.stdout
    assert OOPS in result.stdout
    assert result.stderr.startswith("Validation found")


def test_validate_json_keeps_markup_like_cells(tmp_path):
    result = invoke("validate", "-C", str(study_with_markup_cells(tmp_path)), "--format", "json")
    assert result.exit_code == 1
    values = {f["value"] for f in json.loads(result.stdout)["findings"] if f["file"] == MEASURES_FILE}
    assert {LAUGHS, OOPS} <= values


def test_every_text_command_shows_study_values_as_typed(tmp_path):
    title = f"Study {LAUGHS} {OOPS}"
    root = make_study(tmp_path, study=design(title=title, instruments=["mood"]))
    assert title in invoke("info", "-C", str(root)).stdout
    outputs = {
        "instruments": invoke("instruments", "-C", str(root)),
        "consent status": invoke("consent", "status", "-C", str(root)),
        "consent status P001": invoke("consent", "status", "P001", "-C", str(root)),
        "ethics status": invoke("ethics", "status", "-C", str(root)),
    }
    assert {name: r.exit_code for name, r in outputs.items()} == dict.fromkeys(outputs, 0)
    assert "mood" in outputs["instruments"].stdout
    assert "P003" in outputs["consent status"].stdout
    assert "P001: consent events" in outputs["consent status P001"].stdout
    assert "active" in outputs["ethics status"].stdout


def _os_error_on_load(monkeypatch, where):
    def broken(study_dir):
        raise IsADirectoryError(errno.EISDIR, "Is a directory", str(where))

    monkeypatch.setattr(cli, "load_study", broken)


def test_an_os_error_exits_2_with_one_sentence_and_the_debug_hint(tmp_path, monkeypatch):
    root = make_study(tmp_path / "s")
    _os_error_on_load(monkeypatch, tmp_path)
    result = invoke("score", "-C", str(root))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"Could not run: {tmp_path}: Is a directory. {cli.DEBUG_HINT}\n"


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_is_global_and_shows_the_traceback(tmp_path, where, monkeypatch):
    root = make_study(tmp_path / "s")
    _os_error_on_load(monkeypatch, tmp_path)
    command = ["score", "-C", str(root)]
    result = invoke(*(["--debug", *command] if where == "before" else [*command, "--debug"]))
    assert result.exit_code == 2
    assert "Traceback" in result.stderr
    assert "IsADirectoryError" in result.stderr
    assert result.stderr.rstrip().endswith(cli.DEBUG_HINT)


def test_an_unexpected_exception_exits_2_naming_it(tmp_path, monkeypatch):
    def broken(study_dir):
        return 1 / 0

    monkeypatch.setattr(cli, "load_study", broken)
    result = invoke("info", "-C", str(tmp_path))
    assert result.exit_code == 2
    said = " ".join(result.stderr.split())
    assert said.startswith("Could not run: studykit stopped on an unexpected error (ZeroDivisionError:")
    assert cli.DEBUG_HINT in said
    assert "Traceback" not in said


def test_validate_output_to_a_folder_is_refused_before_validating(tmp_path):
    root = make_study(tmp_path / "s")
    result = invoke("validate", "-C", str(root), "--output", str(tmp_path))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"Could not run: {tmp_path}: is a folder; --output needs a file name. For example --output "
        "validation-report.json.\n"
    )


def commands(group, path=()):
    """Every command path of the command line."""
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from commands(command, (*path, name))
        else:
            yield (*path, name)


def test_help_shows_no_bool_placeholder_and_debug_only_once():
    root = typer.main.get_command(app)
    top = invoke("--help")
    assert "<bool>" not in top.stdout
    assert "--debug" in top.stdout
    paths = list(commands(root))
    assert len(paths) > 10
    for path in paths:
        result = invoke(*path, "--help")
        assert result.exit_code == 0, path
        assert "<bool>" not in result.stdout, path
        assert "--debug" not in result.stdout, path


def test_python_m_studykit_streams_and_exit_codes(tmp_path):
    root = study_with_markup_cells(tmp_path / "s")
    env = {"PYTHONPATH": str(PACKAGE_SRC), "PATH": "", "COLUMNS": "200"}
    run = [sys.executable, "-m", "studykit"]
    validate = subprocess.run(
        [*run, "validate", "-C", str(root)], capture_output=True, text=True, check=False, env=env
    )
    assert validate.returncode == 1, validate.stderr
    assert LAUGHS in validate.stdout
    assert OOPS in validate.stdout
    assert validate.stderr.startswith("Validation found")
    clean = make_study(tmp_path / "clean")
    crash = subprocess.run([*run, "score", "-C", str(clean), "-o", str(tmp_path)], capture_output=True,
                           text=True, check=False, env=env)
    assert crash.returncode == 2
    assert crash.stdout == ""
    assert crash.stderr == (
        f"Could not run: {tmp_path}: is a folder; --output needs a file name. For example -o scores.csv.\n"
    )


def test_ethics_status_without_approvals_is_a_sentence_not_an_empty_table(tmp_path):
    result = invoke("ethics", "status", "-C", str(make_governance_study(tmp_path, approvals=[])))
    assert result.exit_code == 0
    assert result.stdout == ""
    assert " ".join(result.stderr.split()) == (
        "No ethics approval is recorded in governance/ethics.yml: add the committee, reference, dates and "
        "approved consent form versions (see docs/governance.md)."
    )


def test_rule_explains_a_code_in_any_case_and_lists_every_rule():
    from studykit.checks import load_rules

    runner = CliRunner()
    one = runner.invoke(app, ["rule", "str016"])
    assert one.exit_code == 0, one.output
    said = " ".join(one.stdout.split())
    assert said.startswith("STR016 Wrong number of cells (error, structure layer)")
    assert "What to do: Check the row for a stray comma" in said
    assert "docs/rules.md#str016" in said
    waits = " ".join(runner.invoke(app, ["rule", "MEA003"]).stdout.split())
    assert "Not checked on a row where STR007 or STR009 or STR010 already failed." in waits
    listed = runner.invoke(app, ["rule", "--format", "json"])
    codes = [r["code"] for r in json.loads(listed.stdout)]
    assert sorted(codes) == sorted(load_rules())
    assert codes[0].startswith(("QUAL", "REP", "STR"))  # the structure layer first, as validate runs


def test_an_unknown_rule_code_names_the_nearest_ones():
    done = CliRunner().invoke(app, ["rule", "STR16"])
    assert done.exit_code == 2
    said = " ".join(done.stderr.split())
    assert "there is no rule 'STR16'. Did you mean STR016" in said
    assert "`studykit rule` lists every code." in said
