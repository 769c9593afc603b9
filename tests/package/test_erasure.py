"""studykit consent erase: the manifest of every place, the logged erase, and the refusals.

The study below holds the withdrawing participant P002 in every kind of place: participants,
measures and employment rows, an interview of theirs alone, turns in a focus group with
P001 and P003, coded segments, a quotation in a hand-written report and in generated
results, a note naming them, a deposit record and git history.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest
from studykit.checks import validate
from studykit.cli import app
from studykit.governance.erasure import REDACTED_LABEL, decide, erase, erasure_manifest
from studykit.governance.registers import load_registers
from studykit.qual.transcripts import read_transcript
from studykit.study import load_study
from typer.testing import CliRunner

from tests.package.governance_study import make_study

NOW = dt.datetime(2025, 6, 1, 9, 0, tzinfo=dt.UTC)
PID = "P002"
QUOTE = "The first weeks on the ward felt like starting a new life."
SECRET_TURN = "My brother's name is Aldous and he lives in Penzance."
SECRET_ROW = "secretvalue7731"
INTERVIEW = f"**INT:** How did it start?\n\n**P002:** {QUOTE}\n\n**INT:** Thank you.\n"
FOCUS_GROUP = (
    "**FAC:** What helps?\n\n"
    "**P001:** Supervision helps me every single week.\n\n"
    f"**P002:** {SECRET_TURN}\n\n"
    "**P003:** As a manager I see the team talk differently about risk.\n"
)
CODEBOOK = "code_id,name,parent,definition\nC1,Support,,Sources of support\nC2,Start,,Starting out\n"
THEMES = "- id: support\n  name: Support\n  codes: [C1, C2]\n"


def _span(body: str, text: str) -> tuple[int, int]:
    start = body.index(text)
    return start, start + len(text)


def _transcript(meta: dict, body: str) -> str:
    lines = [f"{k}: {json.dumps(v) if isinstance(v, list) else v}" for k, v in meta.items()]
    return "---\n" + "\n".join(lines) + "\n---\n" + body


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="")


def _git(root: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=Test", "-c", "user.email=t@example.org", *args]
    return subprocess.run(command, cwd=root, check=True, capture_output=True, text=True).stdout


def everywhere_study(tmp_path: Path, *, decision: str | None = "erase", git: bool = True) -> Path:
    """A clean study with P002 in every kind of place (and a decision on their removal request)."""
    cells = f",{decision},Data Protection Officer,2024-06-10" if decision else ",,,"
    root = make_study(
        tmp_path,
        withdrawals=(f"{PID},2024-06-01,asked for everything to go,remove all data{cells}",),
        withdrawal_policy={"policy": "delete_all"},
    )
    withdrawals = root / "governance/withdrawals.csv"
    withdrawals.write_text(
        withdrawals.read_text().replace("scope\n", "scope,decision,decided_by,decided_on\n"), encoding="utf-8"
    )
    with (root / "data/employment.csv").open("a", encoding="utf-8") as handle:
        handle.write(f"{PID},T1,2024-02-05,true,{SECRET_ROW},fixed-term,20\n")
    interview = {
        "id": "INT-P002-T1",
        "kind": "interview",
        "wave": "T1",
        "date": "2024-03-01",
        "participants": [PID],
    }
    group = {
        "id": "FG-01",
        "kind": "focus group",
        "wave": "T1",
        "date": "2024-03-02",
        "participants": ["P001", PID, "P003"],
    }
    s1, s2 = _span(INTERVIEW, QUOTE), _span(FOCUS_GROUP, SECRET_TURN)
    s3, s4 = _span(FOCUS_GROUP, "Supervision helps me"), _span(FOCUS_GROUP, "the team talk differently")
    segments = "segment_id,transcript,start,end,code,coder,memo\n" + "".join(
        f"{sid},{tid},{a},{b},{code},R1,\n"
        for sid, tid, (a, b), code in (
            ("S1", "INT-P002-T1", s1, "C2"),
            ("S2", "FG-01", s2, "C1"),
            ("S3", "FG-01", s3, "C1"),
            ("S4", "FG-01", s4, "C1"),
        )
    )
    _write(
        root,
        {
            "data/qualitative/transcripts/INT-P002-T1.md": _transcript(interview, INTERVIEW),
            "data/qualitative/transcripts/FG-01.md": _transcript(group, FOCUS_GROUP),
            "data/qualitative/codebook.csv": CODEBOOK,
            "data/qualitative/segments.csv": segments,
            "data/qualitative/themes.yml": THEMES,
            "reports/paper.qmd": f"# Findings\n\n> {QUOTE} (S1)\n",
            "reports/_results/tbl-quotes.md": f"| quote | speaker |\n|---|---|\n| {QUOTE} | {PID} |\n",
            "reports/_variables.yml": "n_participants: 3\n",
            "notes/contact.md": f"Phone {PID} back about the withdrawal.\n",
            "data/raw/audio/P002_interview.m4a": "\x00\x01 not really audio",
            "governance/deposits/zenodo-2025-01.csv": "participant_id\nP001\nP002\nP003\n",
        },
    )
    if git:
        _git(root, "init", "-q")
        _git(root, "add", "-A")
        _git(root, "commit", "-q", "-m", "data")
    return root


def _tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def _kinds(manifest) -> list[tuple[str, str | None]]:
    return [(item.kind, item.path) for item in manifest.items]


def test_manifest_lists_each_place_once(tmp_path):
    root = everywhere_study(tmp_path)
    manifest = erasure_manifest(load_study(root), PID)
    assert sorted(_kinds(manifest), key=str) == sorted(
        [
            ("table_rows", "data/participants.csv"),
            ("table_rows", "data/measures/wemwbs.csv"),
            ("table_rows", "data/employment.csv"),
            ("transcript", "data/qualitative/transcripts/INT-P002-T1.md"),
            ("raw_file", "data/raw/audio/P002_interview.m4a"),
            ("transcript_turns", "data/qualitative/transcripts/FG-01.md"),
            ("coded_segments", "data/qualitative/segments.csv"),
            ("quote", "reports/paper.qmd"),
            ("derived", "reports/_results/tbl-quotes.md"),
            ("mention", "notes/contact.md"),
            ("deposit", "governance/deposits/zenodo-2025-01.csv"),
            ("git_history", None),
            ("backup", None),
        ],
        key=str,
    )
    items = {item.kind + str(item.path): item for item in manifest.items}
    assert items["table_rowsdata/participants.csv"].rows == (3,)
    segments = items["coded_segmentsdata/qualitative/segments.csv"]
    assert segments.segments == ("S1", "S2")
    assert segments.quotes == ("S1", "S2")
    assert segments.cited_in == ("reports/paper.qmd", "reports/_results/tbl-quotes.md")
    assert items["quotereports/paper.qmd"].quotes == ("S1",)
    assert not items["quotereports/paper.qmd"].automatic
    assert len(items["git_historyNone"].commits) == 1
    assert manifest.blocking == ()


def test_dry_run_changes_no_byte(tmp_path):
    root = everywhere_study(tmp_path)
    before = _tree(root)
    result = CliRunner().invoke(app, ["consent", "erase", PID, "-C", str(root), "--format", "json"])
    assert result.exit_code == 0, result.output
    manifest = json.loads(result.stdout)
    assert manifest["dry_run"] is True
    assert len(manifest["items"]) == 13
    assert _tree(root) == before


def test_manifest_says_when_there_is_no_git_and_no_deposit(tmp_path):
    root = everywhere_study(tmp_path, git=False)
    shutil.rmtree(root / "governance/deposits")
    manifest = erasure_manifest(load_study(root), PID)
    assert "git_history" not in [kind for kind, _ in _kinds(manifest)]
    assert any("not a git repository" in note for note in manifest.notes)
    assert any("no record of an earlier deposit" in note for note in manifest.notes)


def test_apply_erases_every_local_occurrence_and_nothing_else(tmp_path):
    root = everywhere_study(tmp_path)
    study = load_study(root)
    others_before = {p: (root / p).read_text() for p in ("data/participants.csv", "data/measures/wemwbs.csv")}
    result = erase(study, PID, by="Data Manager", now=NOW)
    # No local file outside the registers and logs names the participant or holds their words.
    for path in root.rglob("*"):
        parts = path.relative_to(root).parts
        if not path.is_file() or parts[0] in {".git", "governance"} or parts[:1] == ("notes",):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if parts[0] == "reports" and path.name == "paper.qmd":
            continue  # hand-written: left for the author, named in the steps
        assert PID not in text, path
        for value in (QUOTE, SECRET_TURN, SECRET_ROW):
            assert value not in text, path
    assert not (root / "data/qualitative/transcripts/INT-P002-T1.md").exists()
    assert not (root / "data/raw/audio/P002_interview.m4a").exists()
    assert not (root / "reports/_results/tbl-quotes.md").exists()
    # The focus group keeps the others' turns; segments of others point at the same words.
    group = read_transcript(root / "data/qualitative/transcripts/FG-01.md")
    assert [t.speaker for t in group.turns] == ["FAC", "P001", REDACTED_LABEL, "P003"]
    assert group.participants == ("P001", "P003")
    rows = list(
        csv.DictReader((root / "data/qualitative/segments.csv").read_text(encoding="utf-8").splitlines())
    )
    assert [r["segment_id"] for r in rows] == ["S3", "S4"]
    texts = [group.text(int(r["start"]), int(r["end"])) for r in rows]
    assert texts == ["Supervision helps me", "the team talk differently"]
    # Other participants' rows are untouched, byte for byte.
    for name, before in others_before.items():
        after = (root / name).read_text()
        assert after == "".join(line for line in before.splitlines(keepends=True) if PID not in line)
    assert any("paper.qmd" in step for step in result.steps)
    assert any("git filter-repo" in step for step in result.steps)
    assert any("zenodo-2025-01.csv" in step for step in result.steps)
    assert any("backups" in step for step in result.steps)


def test_log_holds_one_line_per_item_and_no_erased_value(tmp_path):
    root = everywhere_study(tmp_path)
    manifest = erasure_manifest(load_study(root), PID)
    erase(load_study(root), PID, by="Data Manager", now=NOW)
    log = (root / "governance/erasure-log.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(log.splitlines()))
    assert [(r["kind"], r["location"] or None) for r in rows] == _kinds(manifest)
    assert {r["by"] for r in rows} == {"Data Manager"}
    assert all(len(r["sha256_before"]) == 64 for r in rows if r["location"] and r["kind"] != "deposit")
    for value in (QUOTE, SECRET_TURN, SECRET_ROW, "Aldous", "2024-02-05", "fixed-term"):
        assert value not in log


def test_after_apply_validate_passes_without_erasure_or_audit_findings(tmp_path):
    root = everywhere_study(tmp_path)
    before = validate(load_study(root))
    assert "GOV007" in {f.code for f in before.findings}
    erase(load_study(root), PID, by="Data Manager", now=NOW)
    report = validate(load_study(root))
    codes = {f.code for f in report.findings}
    # The small study's structure errors (a short measure table, no datapackage.json) stay as they
    # were; the erasure brings no error of its own.
    errors = {(f.code, f.file, f.message) for f in report.findings if f.severity == "error"}
    assert errors <= {(f.code, f.file, f.message) for f in before.findings if f.severity == "error"}
    assert not [f for f in report.findings if f.severity == "error" and f.layer != "structure"]
    assert not codes & {"GOV007", "GOV013", "GOV014", "GOV015", "INT001", "INT003"}


def test_decide_records_an_audited_decision_old_registers_stay_readable(tmp_path):
    root = everywhere_study(tmp_path, decision=None)
    (root / "governance/withdrawals.csv").write_text(
        f"participant_id,withdrawn_on,reason,scope\n{PID},2024-06-01,asked,remove all data\n",
        encoding="utf-8",
    )
    study = load_study(root)
    assert load_registers(study).removal(PID).decision is None
    decide(study, PID, decision="erase", decided_on=dt.date(2024, 6, 10), by="DPO", now=NOW)
    removal = load_registers(study).removal(PID)
    assert (removal.decision, removal.decided_by, removal.decided_on) == (
        "erase",
        "DPO",
        dt.date(2024, 6, 10),
    )
    entry = json.loads((root / "governance/audit.log").read_text().splitlines()[-1])
    assert entry["action"] == "consent decide"
    assert entry["previous"]["decision"] is None
    erase(study, PID, by="DPO", now=NOW)
    assert not {"GOV013", "GOV014"} & {f.code for f in validate(study).findings}


@pytest.mark.parametrize(
    ("participant", "withdrawal", "decision", "said", "fix"),
    [
        ("P999", None, None, "not a participant", "Check the id"),
        ("P001", None, None, 'no "remove all data" withdrawal', "consent withdraw P001"),
        ("P001", "P001,2024-06-01,moved,no further data", None, "kept by design", "consent withdraw P001"),
        (PID, None, "missing", "no decision recorded", "consent decide P002 --decision erase"),
        (PID, None, "retain", "to retain the data", "a new decision"),
    ],
)
def test_erase_refusals_change_nothing(tmp_path, participant, withdrawal, decision, said, fix):
    root = everywhere_study(tmp_path, decision=None if decision == "missing" else decision or "erase")
    if withdrawal:
        with (root / "governance/withdrawals.csv").open("a", encoding="utf-8") as handle:
            handle.write(withdrawal + ",,,\n")
    before = _tree(root)
    result = CliRunner().invoke(
        app, ["consent", "erase", participant, "--apply", "--by", "DM", "-C", str(root)]
    )
    assert result.exit_code == 2
    assert said in " ".join(result.stderr.split())
    assert "refused, nothing changed" in " ".join(result.stderr.split())
    assert fix in " ".join(result.stderr.split())
    # The lock file may appear; nothing else does, and nothing changes.
    after = {k: v for k, v in _tree(root).items() if not k.startswith("governance/.studykit/")}
    assert after == before


def test_cli_apply_prints_what_it_did(tmp_path):
    root = everywhere_study(tmp_path)
    result = CliRunner().invoke(app, ["consent", "erase", PID, "--apply", "--by", "DM", "-C", str(root)])
    assert result.exit_code == 0, result.output
    assert "Erased P002" in result.stdout
    assert "Left for a person" in result.stdout


def test_example_study_tutorial_path(tmp_path):
    """The baked example: P033's removal request carries a decision to erase; the whole path runs."""
    from studykit.checks.integrity import accept

    from tests.conftest import bake

    root = bake(tmp_path)
    study = load_study(root)
    accept(study)
    assert "GOV007" in {f.code for f in validate(study).findings}
    runner = CliRunner()
    dry = runner.invoke(app, ["consent", "erase", "P033", "-C", str(root), "--format", "json"])
    assert json.loads(dry.stdout)["blocking"] == []
    result = runner.invoke(app, ["consent", "erase", "P033", "--apply", "--by", "Tutorial", "-C", str(root)])
    assert result.exit_code == 0, result.output
    report = validate(load_study(root))
    assert report.valid
    assert not {f.code for f in report.findings} & {"GOV007", "GOV013", "GOV014", "INT001", "INT003"}
    for path in [*(root / "data").rglob("*"), *(root / "reports").rglob("*")]:
        assert not path.is_file() or "P033" not in path.read_text(encoding="utf-8", errors="replace"), path


def test_cli_decide_records_and_says_so(tmp_path):
    root = everywhere_study(tmp_path, decision=None)
    args = ["consent", "decide", PID, "--decision", "retain", "--by", "DPO", "--on", "2024-06-10"]
    result = CliRunner().invoke(app, [*args, "-C", str(root)])
    assert result.exit_code == 0, result.output
    assert "Recorded the decision to retain dated 2024-06-10" in " ".join(result.stderr.split())
    refused = CliRunner().invoke(app, ["consent", "erase", PID, "--apply", "--by", "DM", "-C", str(root)])
    assert refused.exit_code == 2
    assert "to retain the data" in " ".join(refused.stderr.split())


def test_deposit_records_in_json_and_without_ids(tmp_path):
    root = everywhere_study(tmp_path, git=False)
    deposits = root / "governance/deposits"
    (deposits / "zenodo-2025-01.csv").unlink()
    (deposits / "osf-2025.json").write_text(json.dumps({"participants": [{"participant_id": PID}]}))
    (deposits / "old.csv").write_text("file,sha256\ndata.csv,abc\n")
    manifest = erasure_manifest(load_study(root), PID)
    assert [i.path for i in manifest.items if i.kind == "deposit"] == ["governance/deposits/osf-2025.json"]
    assert any("old.csv has no participant_id column" in note for note in manifest.notes)


def test_apply_rebuilds_results_when_the_results_module_exists(tmp_path, monkeypatch):
    root = everywhere_study(tmp_path, git=False)
    rebuilt = []

    def write_results(study):
        rebuilt.append(study.root)
        (study.root / "reports/_results/tbl-quotes.md").write_text("| quote |\n|---|\n")

    monkeypatch.setitem(sys.modules, "studykit.results", types.SimpleNamespace(write_results=write_results))
    result = erase(load_study(root), PID, by="DM", now=NOW)
    assert rebuilt == [root]
    assert PID not in (root / "reports/_results/tbl-quotes.md").read_text()
    assert not any("studykit results" in step for step in result.steps)
    assert "generated results rebuilt (studykit results)" in result.notes
