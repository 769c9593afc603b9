"""Register edits as one unit: the lock, the journal, recovery after a kill, and the audit comparison.

Processes are really run and really killed (``os._exit`` at a named step of the commit, so no
cleanup code runs); files are compared on disk. All ids and names are invented.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from studykit.checks.governance import check
from studykit.checks.run import Run
from studykit.errors import RegisterError
from studykit.governance import journal
from studykit.governance.audit import read_audit
from studykit.governance.edits import add_consent, withdraw
from studykit.governance.registers import load_registers
from studykit.governance.status import consent_status
from studykit.study import load_study

from .governance_study import CONSENT, TODAY, edit_at, make_study

BY = "Data Manager (synthetic)"
NOW = dt.datetime(2025, 6, 1, 9, 0, tzinfo=dt.UTC)
PACKAGE_SRC = Path(__file__).resolve().parents[2] / "{{cookiecutter.project_slug}}" / "src"
EIGHT = [f"P{n:03d}" for n in range(1, 9)]


def eight_participants(tmp_path: Path) -> Path:
    participants = "participant_id,group,role,site,enrolled_on,gender,age\n" + "".join(
        f"{pid},peer worker,,S1,2024-02-01,,30\n" for pid in EIGHT
    )
    consent = {pid: f"{pid},1.0,2024-02-01,yes,yes,yes,yes,yes" for pid in EIGHT}
    return make_study(tmp_path, consent=consent, participants=participants, measures={})


def codes(root: Path) -> list[tuple[str, str, int | None]]:
    return [(f.code, f.file, f.row) for f in check(Run(load_study(root)), today=TODAY) if f.code != "GOV006"]


def test_eight_processes_editing_at_once_lose_nothing(tmp_path):
    context = multiprocessing.get_context("spawn")
    with context.Pool(8) as pool:
        pool.starmap(time.sleep, [(0,)] * 8, chunksize=1)  # every worker started before the first round
        for round_ in range(20):
            root = eight_participants(tmp_path / f"round{round_}")
            start = time.time() + 0.05
            done = pool.starmap(edit_at, [(str(root), pid, start) for pid in EIGHT], chunksize=1)
            assert sorted(done) == EIGHT
            registers = load_registers(load_study(root))
            withdrawn = sorted(w.participant_id for w in registers.withdrawals)
            reconsented = sorted(pid for pid in EIGHT if len(registers.events(pid)) == 2)
            assert withdrawn == EIGHT[0::2]
            assert reconsented == EIGHT[1::2]
            audited = read_audit(root / "governance/audit.log")
            assert sorted(e["participant_id"] for e in audited) == EIGHT
            assert codes(root) == []
            assert journal.leftovers(load_study(root)) == []


# --- a kill at each step of the commit ------------------------------------------------------------

KILL = """
import datetime as dt, os, sys
from pathlib import Path
from studykit.governance import journal
from studykit.governance.edits import add_consent
from studykit.study import load_study
journal.after_step = lambda step: os._exit(9) if step == sys.argv[2] else None
add_consent(load_study(Path(sys.argv[1])), "P002", form_version="2.0", consented_on=dt.date(2024, 9, 2),
            scopes=["participate"], by="Synthetic", now=dt.datetime(2025, 6, 1, tzinfo=dt.UTC))
"""
NEW_ROW = b"P002,2.0,2024-09-02,yes,,,,\n"


def _killed_at(root: Path, step: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", KILL, str(root), step],
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(PACKAGE_SRC), "PATH": "", "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert result.returncode == 9, result.stderr


@pytest.mark.parametrize(
    ("step", "committed"),
    [
        ("staged", False),
        ("journal", True),
        ("replaced consent.csv", True),
        ("replaced audit.log", True),
    ],
)
def test_an_edit_killed_at_any_step_changes_both_files_or_neither(tmp_path, step, committed):
    root = make_study(tmp_path)
    consent_before = (root / "governance/consent.csv").read_bytes()
    _killed_at(root, step)
    study = load_study(root)
    # Until the next governance command, validation says what was left.
    assert journal.leftovers(study)
    assert "GOV015" in [code for code, _, _ in codes(root)]
    consent_status(study)  # finishes the edit, or discards it, under the lock
    assert journal.leftovers(study) == []
    consent_after = (root / "governance/consent.csv").read_bytes()
    audited = read_audit(root / "governance/audit.log")
    if committed:
        assert consent_after == consent_before + NEW_ROW
        assert [e["participant_id"] for e in audited] == ["P002"]
    else:
        assert consent_after == consent_before
        assert audited == []
    assert [c for c in codes(root) if c[0] in ("GOV013", "GOV014", "GOV015")] == []


def test_stale_staged_files_are_reported_then_cleaned_by_the_next_edit(tmp_path):
    root = make_study(tmp_path)
    stale = root / "governance/.studykit/withdrawals.csv.0123456789ab.tmp"
    stale.parent.mkdir()
    stale.write_text("participant_id,withdrawn_on,reason,scope\nP001,2024-05-01,,no further data\n")
    assert ("GOV015", "governance/.studykit/withdrawals.csv.0123456789ab.tmp", None) in codes(root)
    withdraw(
        load_study(root), "P002", withdrawn_on=dt.date(2024, 6, 1), scope="no further data", by=BY, now=NOW
    )
    assert not stale.exists()
    assert journal.leftovers(load_study(root)) == []


def test_recovery_refuses_a_register_changed_after_the_crash(tmp_path):
    root = make_study(tmp_path)
    _killed_at(root, "journal")
    register = root / "governance/consent.csv"
    register.write_bytes(register.read_bytes() + b"P003,2.0,2024-09-03,yes,,,,\n")  # a hand edit since
    edited = register.read_bytes()
    with pytest.raises(RegisterError, match="changed after an edit was interrupted"):
        consent_status(load_study(root))
    assert register.read_bytes() == edited


def test_the_staged_files_of_an_edit_are_git_ignored(tmp_path):
    ignore = Path(__file__).resolve().parents[2] / "{{cookiecutter.project_slug}}" / ".gitignore"
    root = make_study(tmp_path)
    (root / ".gitignore").write_text(ignore.read_text(encoding="utf-8"), encoding="utf-8")
    _killed_at(root, "staged")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    status = subprocess.run(
        ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=all", "governance"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert journal.leftovers(load_study(root))
    assert ".studykit" not in status.stdout
    assert "governance/consent.csv" in status.stdout


# --- file system failures -----------------------------------------------------------------------


def _small_files(limit: int):
    def limit_writes() -> None:
        # Writing past the limit fails with EFBIG, as a full disk fails with ENOSPC.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limit_writes


def _snapshot(root: Path) -> dict[str, bytes | None]:
    # The work folder and its lock stay (git-ignored); anything else in it would show.
    governed = [p for p in sorted((root / "governance").rglob("*")) if p.name not in ("lock", ".studykit")]
    return {p.relative_to(root).as_posix(): p.read_bytes() if p.is_file() else None for p in governed}


def test_a_write_that_fails_exits_2_with_one_sentence_and_changes_nothing(tmp_path):
    root = make_study(tmp_path)
    before = _snapshot(root)
    command = [
        sys.executable, "-m", "studykit", "consent", "withdraw", "P002", "--scope", "no further data",
        "--on", "2024-06-01", "--by", BY, "-C", str(root),
    ]  # fmt: skip
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=False,
        preexec_fn=_small_files(64),
        env={"PYTHONPATH": str(PACKAGE_SRC), "PATH": "", "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1
    assert (
        "governance/withdrawals.csv: could not write (File too large); nothing was changed." in result.stderr
    )
    assert _snapshot(root) == before


def test_an_unusable_work_folder_exits_2_and_changes_nothing(tmp_path):
    root = make_study(tmp_path)
    (root / "governance/.studykit").write_text("not a folder")
    before = _snapshot(root)
    with pytest.raises(RegisterError, match=r"governance/\.studykit: could not write"):
        withdraw(load_study(root), "P002", withdrawn_on=dt.date(2024, 6, 1), scope="no further data", by=BY)
    assert _snapshot(root) == before


def test_rewritten_files_keep_their_mode_and_new_ones_follow_the_umask(tmp_path):
    root = make_study(tmp_path)
    register = root / "governance/withdrawals.csv"
    register.chmod(0o640)
    withdraw(
        load_study(root), "P002", withdrawn_on=dt.date(2024, 6, 1), scope="no further data", by=BY, now=NOW
    )
    umask = os.umask(0o022)
    os.umask(umask)
    assert register.stat().st_mode & 0o777 == 0o640
    assert (root / "governance/audit.log").stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_symlinked_register_is_not_written_through(tmp_path):
    root = make_study(tmp_path)
    outside = tmp_path / "elsewhere.csv"
    register = root / "governance/withdrawals.csv"
    outside.write_bytes(register.read_bytes())
    register.unlink()
    register.symlink_to(outside)
    with pytest.raises(RegisterError, match=r"is a (symbolic )?link"):
        withdraw(load_study(root), "P002", withdrawn_on=dt.date(2024, 6, 1), scope="no further data", by=BY)
    assert outside.read_text() == "participant_id,withdrawn_on,reason,scope\n"
    assert journal.leftovers(load_study(root)) == []


def test_an_edit_waits_for_the_lock_then_gives_up_with_a_sentence(tmp_path, monkeypatch):
    root = make_study(tmp_path)
    (root / "governance/.studykit").mkdir()
    holder = subprocess.Popen(
        [
            sys.executable, "-c",
            "import sys, time; from filelock import FileLock; lock = FileLock(sys.argv[1]); lock.acquire(); "
            "print('held', flush=True); time.sleep(30)",
            str(root / "governance/.studykit/lock"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        monkeypatch.setattr(journal, "LOCK_TIMEOUT", 0.3)
        with pytest.raises(RegisterError, match="another studykit command has held the lock"):
            withdraw(
                load_study(root), "P002", withdrawn_on=dt.date(2024, 6, 1), scope="no further data", by=BY
            )
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    assert (root / "governance/withdrawals.csv").read_text() == "participant_id,withdrawn_on,reason,scope\n"


# --- validate: registers against the audit log -----------------------------------------------------


def test_gov013_an_audited_row_missing_from_its_register(tmp_path):
    root = make_study(tmp_path)
    register = root / "governance/withdrawals.csv"
    before = register.read_bytes()
    study = load_study(root)
    withdraw(study, "P002", withdrawn_on=dt.date(2024, 6, 1), scope="no further data", by=BY, now=NOW)
    withdraw(study, "P003", withdrawn_on=dt.date(2024, 6, 2), scope="no further data", by=BY, now=NOW)
    lines = register.read_bytes().splitlines(keepends=True)
    register.write_bytes(before + lines[-1])  # P002's row lost, as a racing hand edit would lose it
    found = [f for f in check(Run(load_study(root)), today=TODAY) if f.code == "GOV013"]
    assert [(f.file, f.row, f.value, f.severity) for f in found] == [
        ("governance/audit.log", 1, "P002", "error")
    ]
    assert found[0].message == (
        f"the withdrawal of P002 dated 2024-06-01, recorded by {BY} at 2025-06-01T09:00:00Z, "
        "is not in governance/withdrawals.csv"
    )


def test_gov014_rows_added_by_hand_after_the_first_audited_row(tmp_path):
    # P001-P003 were recorded before studykit kept an audit trail: not reported.
    root = make_study(tmp_path)
    add_consent(
        load_study(root), "P001", form_version="2.0", consented_on=dt.date(2024, 9, 2),
        scopes=["participate"],
        by=BY, now=NOW,
    )  # fmt: skip
    register = root / "governance/consent.csv"
    register.write_text(register.read_text() + "P002,2.0,2024-09-03,yes,,,,\n")
    assert [c for c in codes(root) if c[0] in ("GOV013", "GOV014")] == [
        ("GOV014", "governance/consent.csv", 6)
    ]


def test_an_unreadable_audit_line_is_gov001_and_the_rest_is_still_checked(tmp_path):
    root = make_study(tmp_path, consent={**CONSENT, "P002": "P002,1.0,2024-02-10,yes,yes,yes,yes,yes"})
    (root / "governance/audit.log").write_text('{"action": "consent add"}\nnot json\n')
    assert [c for c in codes(root) if c[0] in ("GOV001", "GOV002")] == [
        ("GOV001", "governance/audit.log", 2),
        ("GOV002", "data/measures/wemwbs.csv", 3),
    ]
