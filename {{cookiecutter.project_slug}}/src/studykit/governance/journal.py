"""Register edits as one unit: an exclusive lock, staged files, a commit journal, recovery.

Every governed edit holds ``edit_lock(study)`` (a ``filelock`` lock on the governance
folder) from reading the registers to replacing them, so concurrent edits queue instead of
losing each other's rows. ``write_together`` writes a register and its audit entry so that
after any crash both or neither have changed:

1. each new file is staged in ``governance/.studykit/`` (git-ignored: staged files hold
   participant data), with the mode of the file it replaces, and synced to disk;
2. the staged files may be checked (the edit reads its staged register back);
3. a journal naming each staged file, its target and the targets' checksums is written
   and renamed into place: this is the commit point;
4. each staged file replaces its target (``os.replace``), then the journal is removed.

A crash before step 3 leaves only stale staged files (nothing changed); ``recover``, run
under the lock at the start of the next edit, deletes them. A crash after it leaves the
journal; ``recover`` finishes the replacements. Validation reports what it finds there
(``leftovers``) and never changes it.

``write_together`` is the one place governance writes files. Staging one file
(``_stage``) is the seam with the package's general atomic-write helper.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from studykit.errors import RegisterError
from studykit.files import study_relative
from studykit.study import Study

WORK = ".studykit"
LOCK = "lock"
JOURNAL = "journal.json"
LOCK_TIMEOUT = 120.0
# Called with the name of each step of a commit (tests stop a process there to prove recovery).
after_step: Callable[[str], None] = lambda step: None  # noqa: E731


def work_dir(study: Study) -> Path:
    """``governance/.studykit/``: the lock, the journal and staged files (git-ignored)."""
    return study.governance_dir / WORK


def _label(study: Study, path: Path) -> str:
    return study_relative(study, path)


def cannot_write(study: Study, path: Path, exc: OSError) -> RegisterError:
    """The one sentence for a write the file system refused (disk full, read-only, permissions)."""
    reason = exc.strerror or str(exc)
    msg = f"could not write ({reason}); nothing was changed"
    fix = "Free disk space or make the folder writable, then run the command again."
    return RegisterError(msg, path=_label(study, path), fix=fix)


@contextmanager
def edit_lock(study: Study) -> Iterator[None]:
    """Hold the governance folder's lock (finishing or discarding any interrupted edit first)."""
    from filelock import FileLock, Timeout  # only edits lock: validation reads without it

    folder, timeout = work_dir(study), LOCK_TIMEOUT
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = FileLock(folder / LOCK, timeout=timeout)
        lock.acquire(poll_interval=0.005)
    except Timeout as exc:
        msg = f"another studykit command has held the lock for {timeout:.0f} seconds"
        raise RegisterError(
            msg, path=_label(study, folder), fix="Wait for it to finish, then try again."
        ) from exc
    except OSError as exc:
        raise cannot_write(study, folder, exc) from exc
    try:
        recover(study)
        yield
    finally:
        lock.release()


def _digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def _sync_folder(folder: Path) -> None:
    # A rename is durable once its folder is synced (not every platform allows it).
    with suppress(OSError):
        handle = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def _refuse_link(study: Study, target: Path) -> None:
    if target.is_symlink():
        msg = "is a symbolic link; studykit does not write through links"
        raise RegisterError(msg, path=_label(study, target), fix="Replace the link with the file itself.")


def _stage(folder: Path, target: Path, data: bytes) -> Path:
    """Write ``data`` to a new file in ``folder`` with ``target``'s mode, synced to disk."""
    staged = folder / f"{target.name}.{secrets.token_hex(6)}.tmp"
    # 0o666 less the umask, as for any new file; an existing target's own mode after writing.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    handle = os.open(staged, flags, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(handle, view) :]
        os.fsync(handle)
        os.close(handle)
        handle = -1
        if target.exists():
            staged.chmod(target.stat().st_mode & 0o7777)
    except BaseException:
        if handle >= 0:
            os.close(handle)
        staged.unlink(missing_ok=True)
        raise
    return staged


def write_together(
    study: Study, files: dict[Path, bytes], *, check: Callable[[dict[Path, Path]], None] | None = None
) -> None:
    """Replace every file in ``files`` with its new bytes, all or none. Call under ``edit_lock``.

    ``check`` receives {target: staged file} before the commit point; raising there changes
    nothing. A file system error before the commit point is a ``RegisterError`` (nothing
    changed, nothing left behind).
    """
    folder = work_dir(study)
    staged: dict[Path, Path] = {}
    current: Path | None = None
    try:
        for target, data in files.items():
            current = target
            _refuse_link(study, target)
            staged[target] = _stage(folder, target, data)
        after_step("staged")
        if check is not None:
            check(staged)
        current = folder / JOURNAL
        _write_journal(study, folder, staged)
    except BaseException as exc:
        for path in staged.values():
            path.unlink(missing_ok=True)
        for path in folder.glob(f"{JOURNAL}.*.tmp"):
            path.unlink(missing_ok=True)
        if isinstance(exc, OSError) and current is not None:
            raise cannot_write(study, current, exc) from exc
        raise
    after_step("journal")
    try:
        _replay(study, folder)
    except OSError as exc:
        msg = (
            f"the edit was recorded but could not be put in place ({exc.strerror or exc}); "
            "the next studykit consent command finishes it"
        )
        raise RegisterError(
            msg, path=_label(study, folder / JOURNAL), fix="Fix the cause, then run it."
        ) from exc


def _write_journal(study: Study, folder: Path, staged: dict[Path, Path]) -> None:
    entries = [
        {
            "target": target.relative_to(study.root).as_posix(),
            "staged": path.name,
            "before": _digest(target),
            "after": _digest(path),
        }
        for target, path in staged.items()
    ]
    text = json.dumps(entries, indent=1).encode("utf-8")
    temporary = _stage(folder, folder / JOURNAL, text)
    temporary.replace(folder / JOURNAL)
    _sync_folder(folder)


def _replay(study: Study, folder: Path) -> None:
    """Finish the journalled commit: move each staged file still there into place, drop the journal."""
    journal = folder / JOURNAL
    try:
        entries = json.loads(journal.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        msg = "holds an unreadable journal of an interrupted edit"
        raise RegisterError(
            msg, path=_label(study, journal), fix="Ask the data manager to check it."
        ) from exc
    moves = []
    for entry in entries:
        staged, target = folder / entry["staged"], study.root / entry["target"]
        if not staged.exists():
            continue  # already in place
        if _digest(target) not in (entry["before"], entry["after"]):
            msg = (
                f"changed after an edit was interrupted, so studykit will not finish that edit "
                f"(its new version is {_label(study, staged)})"
            )
            fix = "Compare the two by hand, keep what is right, and delete the journal and staged file."
            raise RegisterError(msg, path=entry["target"], fix=fix)
        moves.append((staged, target))
    for staged, target in moves:
        staged.replace(target)
        after_step(f"replaced {target.name}")
    for folder_of_target in {target.parent for _, target in moves}:
        _sync_folder(folder_of_target)
    journal.unlink()
    _sync_folder(folder)


def recover(study: Study) -> None:
    """Finish an edit interrupted after its commit point, and delete stale staged files. Under the lock."""
    folder = work_dir(study)
    if (folder / JOURNAL).exists():
        _replay(study, folder)
    for path in leftovers(study):
        path.unlink(missing_ok=True)


def leftovers(study: Study) -> list[Path]:
    """Files an interrupted edit left in ``governance/.studykit/`` (the journal included), sorted."""
    folder = work_dir(study)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name != LOCK)
