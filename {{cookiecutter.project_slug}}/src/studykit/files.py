"""Files: the one atomic writer, and the facts about paths every command relies on.

Every file studykit writes goes through ``write_files`` (or ``write_file`` for one):

- each file is first written to a temporary sibling named ``.<name>.<random>.tmp``
  (the study's .gitignore covers ``.*.tmp``, so a killed run never stages participant
  data into git), flushed to disk, then moved over the target with ``os.replace``: a
  crash leaves either the old file or the new one, never half of one;
- a target that is a symbolic link, or whose folder resolves outside ``within`` (the
  folder the caller means to write in), is refused before anything is written;
- a replaced file keeps its permission bits; a new one gets the usual ones (umask);
- any failure removes the temporaries, and an ``OSError`` (disk full, read-only
  folder) becomes a ``FileWriteError`` with one sentence.

Path facts: ``study_relative`` (how findings and messages name a study file),
``link_outside`` (a link that leads out of the study), ``study_owned`` (paths only
studykit's governed commands may write) and ``git_exposed`` (a private file that git
would commit).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from studykit.errors import ExistingDataError, FileWriteError, UnsafePathError

if TYPE_CHECKING:
    from studykit.study import Study

TEMP_SUFFIX = ".tmp"
STUDY_OWNED = ("data", "governance", "instruments", "study.yml", "datapackage.json")
"""Top-level entries of a study that only studykit's own commands write (never a report or export)."""

_FIXES = {
    errno.ENOSPC: "Free some disk space and run it again; nothing was changed.",
    errno.EDQUOT: "Free some space in your quota and run it again; nothing was changed.",
    errno.EROFS: "The folder is read-only; run it where you can write. Nothing was changed.",
    errno.EACCES: "Check that you may write in that folder; nothing was changed.",
    errno.EPERM: "Check that you may write in that folder; nothing was changed.",
}


# --- path facts ------------------------------------------------------------------------------------


def study_relative(study: Study, path: Path | str) -> str:
    """A path as findings and messages show it: relative to the study, with forward slashes.

    A path outside the study is shown as it is. A link inside the study is named by its
    own place, not its target.
    """
    path = Path(path)
    root = study.root
    for candidate, base in ((_absolute(path), _absolute(root)), (path.resolve(), root.resolve())):
        with contextlib.suppress(ValueError):
            return candidate.relative_to(base).as_posix()
    return path.as_posix()


def _absolute(path: Path) -> Path:
    """The absolute path with ``..`` folded lexically (links are not followed)."""
    return Path(os.path.normpath(path.absolute()))


def is_inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` lies in ``folder``, by its name or by where its links lead."""
    lexical = _absolute(path).is_relative_to(_absolute(folder))
    return lexical or path.resolve().is_relative_to(folder.resolve())


def link_outside(root: Path, path: Path) -> Path | None:
    """Where ``path`` really leads when a link (itself or a folder on the way) takes it outside ``root``.

    ``None`` for an ordinary path, or a link that stays inside ``root``.
    """
    target = path.resolve()
    return None if target.is_relative_to(root.resolve()) else target


def enclosing_study(path: Path) -> Path | None:
    """The nearest folder above ``path`` (by name, links not followed) that holds a study.yml."""
    return next((folder for folder in _absolute(path).parents if (folder / "study.yml").is_file()), None)


LINK_OUTSIDE_FIX = "Replace the link with a copy of the file, or remove it."


def link_outside_sentence(target: Path) -> str:
    """How every reader refuses a study file that is a link leading out of the study."""
    return f"is a link to {target.as_posix()}, outside the study; studykit does not read it"


def leads_out_of_study(path: Path) -> Path | None:
    """Where ``path`` leads, when it lies in a study but a link takes it outside; else ``None``.

    For readers that are given a path, not a study: a file named inside a study folder
    is that study's only if it really is there.
    """
    root = enclosing_study(path)
    return None if root is None else link_outside(root, path)


def study_owned(study: Study, path: Path) -> str | None:
    """The study-owned entry (``data``, ``governance``, ...) that ``path`` is, or lies in; else ``None``."""
    return next((name for name in STUDY_OWNED if is_inside(path, study.root / name)), None)


def refuse_study_owned(study: Study, paths: Iterable[Path], *, product: str, example: str) -> None:
    """The one rule for every product a command writes where it is told (``-o``, an export folder).

    A report, codebook, scores table, export or survey dictionary never replaces a
    study-owned file (``STUDY_OWNED``): an export into ``data/`` or the study folder
    would overwrite the data or ``datapackage.json`` with a consent-filtered copy.
    ``example`` is a path to suggest instead.
    """
    for path in paths:
        owned = study_owned(study, path)
        if owned is not None:
            msg = f"is one of the study's own files ({owned}), where studykit never writes {product}"
            raise UnsafePathError(msg, path=path, fix=f"Choose another path, for example {example}.")


def report_target(study: Study, output: Path | None) -> Path | None:
    """Where ``validate --output`` may write its report: never a study-owned file, a folder or a link."""
    if output is None:
        return None
    return product_target(study, output, product="a report", example="--output validation-report.json")


def product_target(study: Study, output: Path, *, product: str, example: str) -> Path:
    """Where a command's ``-o/--output`` file may go: never a study-owned file, a folder, a link, or
    a folder that does not exist (a typo there should not create folders)."""
    refuse_study_owned(study, [output], product=product, example=example)
    if output.is_dir():
        msg = "is a folder; --output needs a file name"
        raise UnsafePathError(msg, path=output, fix=f"For example {example}.")
    if output.is_symlink():
        raise _link_refused(output)
    if not output.parent.is_dir():
        msg = "cannot be written: its folder does not exist"
        raise UnsafePathError(msg, path=output, fix="Create the folder first, or choose another path.")
    return output


def git(folder: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str] | None:
    """Run ``git args`` in ``folder`` (read-only questions); ``None`` when git cannot be run at all."""
    try:
        return subprocess.run(
            ["git", *args], cwd=folder, capture_output=True, text=True, check=False, timeout=timeout,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None


def git_output(folder: Path, *args: str, timeout: float = 120) -> str | None:
    """What ``git args`` prints in ``folder``, or ``None`` when it fails or git cannot be run."""
    done = git(folder, *args, timeout=timeout)
    return done.stdout if done is not None and done.returncode == 0 else None


def git_exposed(path: Path) -> Path | None:
    """The git work tree that would commit ``path`` (inside it and not ignored), else ``None``.

    ``None`` too when git is not installed: the check is advice, not a guarantee.
    """
    folder = _absolute(path).parent
    while not folder.is_dir() and folder != folder.parent:
        folder = folder.parent
    top = (git_output(folder, "rev-parse", "--show-toplevel", timeout=30) or "").strip()
    if not top:
        return None
    ignored = git(Path(top), "check-ignore", "-q", str(path.resolve()), timeout=30)
    return Path(top) if ignored is not None and ignored.returncode == 1 else None


def stale_temporaries(folder: Path) -> list[Path]:
    """Temporaries a killed write left in ``folder`` (``.<name>.<random>.tmp``)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(f".*{TEMP_SUFFIX}") if p.is_file() and not p.is_symlink())


# --- writing ---------------------------------------------------------------------------------------


def write_file(
    path: Path, data: bytes | str, *, within: Path | None = None, new: bool = False
) -> Path:
    """Write one file atomically (see ``write_files``); ``new`` refuses to replace an existing file."""
    write_files({path: data}, within=within, new=[path] if new else ())
    return path


def write_files(
    files: Mapping[Path, bytes | str], *, within: Path | None = None, new: Iterable[Path] = ()
) -> list[Path]:
    """Write every file, all or nothing as far as a file system allows; returns the paths in order.

    All files are staged first; only when every one is on disk are they moved into place,
    in the order given (so put what must exist first, a pseudonym map before the copy
    that needs it, at the front). ``within``: the folder every target must resolve into.
    ``new``: targets that must not exist yet (checked again at the moment of the move).
    ``str`` data are written as UTF-8 exactly as given (no newline translation).
    """
    must_be_new = {_absolute(p) for p in new}
    for path in files:
        refuse_unsafe_target(path, within)
        if _absolute(path) in must_be_new and path.exists():
            raise _exists(path)
    staged: list[tuple[Path, Path]] = []
    current = Path()
    try:
        for current, data in files.items():
            staged.append((_stage(current, data.encode("utf-8") if isinstance(data, str) else data), current))
        for temporary, current in staged:
            if _absolute(current) in must_be_new:
                _move_new(temporary, current)
            else:
                temporary.replace(current)
            _sync_folder(current.parent)
    except OSError as exc:
        message = f"cannot be written ({exc.strerror or exc})"
        raise FileWriteError(message, path=current, fix=_FIXES.get(exc.errno or 0)) from exc
    finally:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
    return list(files)


def refuse_unsafe_target(path: Path, within: Path | None) -> None:
    """Raise ``UnsafePathError`` when ``path`` is a link or a folder, or leads outside ``within``."""
    if path.is_symlink():
        raise _link_refused(path)
    if path.is_dir():
        msg = "is a folder, not a file"
        raise UnsafePathError(msg, path=path, fix="Give a file name.")
    if within is not None and not (
        _absolute(path).is_relative_to(_absolute(within))
        and path.parent.resolve().is_relative_to(within.resolve())
    ):
        target = path.parent.resolve() / path.name
        msg = f"leads outside {within.as_posix()} (to {target.as_posix()}); studykit does not write there"
        raise UnsafePathError(msg, path=path, fix="Replace the linked folder with a real one.")


def _link_refused(path: Path) -> UnsafePathError:
    target = path.readlink()
    msg = f"is a link to {target.as_posix()}; studykit never writes through a link"
    fix = "Replace the link with a real file (or remove it) and run again."
    return UnsafePathError(msg, path=path, fix=fix)


def _exists(path: Path) -> ExistingDataError:
    msg = "already exists; studykit does not overwrite it"
    return ExistingDataError(msg, path=path, fix="Choose another path, or move the existing file away first.")


def _stage(path: Path, data: bytes) -> Path:
    """Write ``data`` to a new temporary beside ``path`` with the target's mode, flushed to disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.parent / f".{path.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    handle = os.open(temporary, flags, 0o666)  # the umask applies, as for any new file
    try:
        with os.fdopen(handle, "wb") as stream:
            with contextlib.suppress(FileNotFoundError):
                temporary.chmod(stat.S_IMODE(path.stat().st_mode))
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


def _move_new(temporary: Path, path: Path) -> None:
    """Move a staged file to a name that must not exist: a hard link fails if the name was taken."""
    try:
        os.link(temporary, path)
    except FileExistsError as exc:
        raise _exists(path) from exc
    except OSError as exc:  # a file system without hard links
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        if path.exists() or path.is_symlink():
            raise _exists(path) from exc
        temporary.replace(path)


def _sync_folder(folder: Path) -> None:
    """Make a rename durable (POSIX); a no-op where folders cannot be opened (Windows)."""
    with contextlib.suppress(OSError):
        handle = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)
