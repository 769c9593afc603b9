"""studykit.files: the one atomic writer and the path facts, on real files in tmp_path."""

from __future__ import annotations

import os
import resource
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from studykit.errors import ExistingDataError, FileWriteError, UnsafePathError
from studykit.files import (
    git_exposed,
    link_outside,
    report_target,
    stale_temporaries,
    study_relative,
    write_file,
    write_files,
)
from studykit.study import load_study

from tests.package.test_validate import make_study

PACKAGE_SRC = Path(__file__).resolve().parents[2] / "{{cookiecutter.project_slug}}" / "src"


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_write_file_replaces_content_and_keeps_the_mode(tmp_path):
    target = tmp_path / "register.csv"
    target.write_text("old\n", encoding="utf-8")
    target.chmod(0o640)
    write_file(target, "new\n")
    assert target.read_text(encoding="utf-8") == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert leftovers(tmp_path) == []


def test_new_file_gets_the_umask_mode_not_0600(tmp_path):
    old = os.umask(0o022)
    try:
        write_file(tmp_path / "new.json", b"{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.json").stat().st_mode) == 0o644


def test_write_file_keeps_bytes_exactly(tmp_path):
    write_file(tmp_path / "t.md", "a\r\nb\n")
    assert (tmp_path / "t.md").read_bytes() == b"a\r\nb\n"


def test_refuses_to_write_through_a_link_and_leaves_its_target(tmp_path):
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("precious\n", encoding="utf-8")
    link = tmp_path / "study" / "manifest.sha256"
    link.parent.mkdir()
    link.symlink_to(elsewhere)
    refused = r"is a link to .*elsewhere\.txt; studykit never writes through a link"
    with pytest.raises(UnsafePathError, match=refused):
        write_file(link, "x")
    assert elsewhere.read_text(encoding="utf-8") == "precious\n"
    assert link.is_symlink()
    assert leftovers(link.parent) == []


def test_refuses_a_dangling_link_too(tmp_path):
    link = tmp_path / "out.json"
    link.symlink_to(tmp_path / "not-there-yet.json")
    with pytest.raises(UnsafePathError, match="is a link"):
        write_file(link, "x")
    assert not (tmp_path / "not-there-yet.json").exists()


def test_refuses_a_folder_on_the_way_that_leads_outside(tmp_path):
    root = tmp_path / "study"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "governance").symlink_to(outside)
    with pytest.raises(UnsafePathError, match=r"leads outside .*study \(to .*outside/manifest\.sha256\)"):
        write_file(root / "governance" / "manifest.sha256", "x", within=root)
    assert list(outside.iterdir()) == []


def test_refuses_a_path_named_outside_within(tmp_path):
    root = tmp_path / "study"
    root.mkdir()
    with pytest.raises(UnsafePathError, match="leads outside"):
        write_file(root / ".." / "escaped.txt", "x", within=root)
    assert not (tmp_path / "escaped.txt").exists()


def test_new_refuses_an_existing_file(tmp_path):
    target = tmp_path / "copy.md"
    target.write_text("first\n", encoding="utf-8")
    with pytest.raises(ExistingDataError, match="already exists"):
        write_file(target, "second\n", new=True)
    assert target.read_text(encoding="utf-8") == "first\n"
    assert leftovers(tmp_path) == []


def test_write_files_is_all_or_nothing_when_one_cannot_be_staged(tmp_path):
    first = tmp_path / "map.csv"
    first.write_text("original\n", encoding="utf-8")
    blocker = tmp_path / "logs"
    blocker.write_text("a file where a folder should be\n", encoding="utf-8")
    with pytest.raises(FileWriteError, match=r"logs/anonymisation-log\.csv: cannot be written"):
        write_files({first: "changed\n", blocker / "anonymisation-log.csv": "row\n"})
    assert first.read_text(encoding="utf-8") == "original\n"
    assert leftovers(tmp_path) == []


def test_write_files_moves_in_the_order_given(tmp_path):
    paths = [tmp_path / "b", tmp_path / "a", tmp_path / "c"]
    assert write_files({p: p.name for p in paths}) == paths


def fsize_limit(limit: int):
    """A child process limit under which a write fails as on a full disk (EFBIG instead of ENOSPC)."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    return apply


def test_a_full_disk_is_one_sentence_and_leaves_the_old_file_and_no_temporary(tmp_path):
    # RLIMIT_FSIZE makes the write fail the way a full disk does (EFBIG instead of ENOSPC).
    target = tmp_path / "consent.csv"
    target.write_text("participant_id\nP001\n", encoding="utf-8")
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from studykit.errors import FileWriteError
        from studykit.files import write_file
        try:
            write_file(Path({str(target)!r}), b"x" * 100_000)
        except FileWriteError as exc:
            print(exc.sentence())
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": str(PACKAGE_SRC)},
        preexec_fn=fsize_limit(4096),  # the limit applies to the child only
        capture_output=True, text=True, check=False, timeout=60,
    )
    assert result.stdout.strip() == f"{target.as_posix()}: cannot be written (File too large)."
    assert target.read_text(encoding="utf-8") == "participant_id\nP001\n"
    assert leftovers(tmp_path) == []


def test_study_relative_names_inside_outside_and_linked_paths(tmp_path):
    root = make_study(tmp_path)
    study = load_study(root)
    assert study_relative(study, root / "data" / "participants.csv") == "data/participants.csv"
    assert study_relative(study, root / "data" / ".." / "study.yml") == "study.yml"
    assert study_relative(study, tmp_path / "elsewhere.csv") == (tmp_path / "elsewhere.csv").as_posix()
    (tmp_path / "elsewhere.csv").write_text("x\n", encoding="utf-8")
    (root / "data" / "link.csv").symlink_to(tmp_path / "elsewhere.csv")
    assert study_relative(study, root / "data" / "link.csv") == "data/link.csv"


def test_link_outside_says_where_a_link_leads(tmp_path):
    root = tmp_path / "study"
    (root / "data").mkdir(parents=True)
    (root / "data" / "inside.csv").write_text("x\n", encoding="utf-8")
    (root / "data" / "alias.csv").symlink_to(root / "data" / "inside.csv")
    (tmp_path / "secret.csv").write_text("x\n", encoding="utf-8")
    (root / "data" / "leak.csv").symlink_to(tmp_path / "secret.csv")
    assert link_outside(root, root / "data" / "inside.csv") is None
    assert link_outside(root, root / "data" / "alias.csv") is None
    assert link_outside(root, root / "data" / "leak.csv") == (tmp_path / "secret.csv").resolve()


OWNED = ["governance/consent.csv", "data/r.json", "instruments/x.yml", "study.yml", "datapackage.json"]


@pytest.mark.parametrize("relative", OWNED)
def test_report_target_refuses_every_study_owned_path(tmp_path, relative):
    root = make_study(tmp_path)
    with pytest.raises(UnsafePathError, match="is one of the study's own files"):
        report_target(load_study(root), root / relative)


def test_report_target_refuses_a_folder_and_accepts_a_plain_file(tmp_path):
    root = make_study(tmp_path)
    study = load_study(root)
    with pytest.raises(UnsafePathError, match="is a folder; --output needs a file name"):
        report_target(study, tmp_path)
    assert report_target(study, root / "validation-report.json") == root / "validation-report.json"


def test_git_exposed_names_the_work_tree_unless_ignored(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    private = tmp_path / "keys" / "pseudonyms.csv"
    assert git_exposed(private) == tmp_path.resolve()
    (tmp_path / ".gitignore").write_text("keys/\n", encoding="utf-8")
    assert git_exposed(private) is None


def test_git_exposed_is_none_outside_any_repository(tmp_path):
    assert git_exposed(tmp_path / "pseudonyms.csv") is None


def test_stale_temporaries_lists_what_a_killed_write_left(tmp_path):
    (tmp_path / ".withdrawals.csv.1a2b3c4d.tmp").write_text("P001\n", encoding="utf-8")
    (tmp_path / "withdrawals.csv").write_text("P001\n", encoding="utf-8")
    assert [p.name for p in stale_temporaries(tmp_path)] == [".withdrawals.csv.1a2b3c4d.tmp"]
