"""Integrity layer: data files changed since their checksums were last accepted (codes INT###).

``governance/manifest.sha256`` lists a SHA-256 checksum for every file under
``data/``, in the format of ``sha256sum`` (so ``sha256sum -c governance/manifest.sha256``
run in the study folder verifies it without studykit). ``studykit validate --accept``
records it; ``studykit validate`` reports every file that changed, appeared or
disappeared since. The manifest lives outside ``data/`` because validation never
writes there.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

from studykit.checks.findings import Finding, Rule, register
from studykit.checks.run import Run
from studykit.errors import StudykitError
from studykit.study import Study

CHUNK = 1 << 20

CHANGED = Rule(
    "INT001",
    "integrity",
    "File changed since accepted",
    "warning",
    "The file's checksum differs from the one recorded when the data were last accepted.",
    "If the change is intended, run `studykit validate --accept` to record it; otherwise restore the file "
    "(for example from git).",
)
ADDED = Rule(
    "INT002",
    "integrity",
    "New file since accepted",
    "warning",
    "The file was not there when the data were last accepted.",
    "If it belongs to the study, run `studykit validate --accept` to record it.",
)
REMOVED = Rule(
    "INT003",
    "integrity",
    "File gone since accepted",
    "warning",
    "A file listed in the manifest no longer exists.",
    "Restore the file, or run `studykit validate --accept` if it was removed on purpose.",
)
NO_MANIFEST = Rule(
    "INT004",
    "integrity",
    "No manifest yet",
    "info",
    "No checksums have been recorded, so changes to the data files cannot be seen.",
    "Run `studykit validate --accept` once the data are as they should be.",
)
BAD_MANIFEST = Rule(
    "INT005",
    "integrity",
    "Manifest line not understood",
    "warning",
    "A line of the manifest is not '<sha256>  <path>'.",
    "Run `studykit validate --accept` to write the manifest again.",
)
register(CHANGED, ADDED, REMOVED, NO_MANIFEST, BAD_MANIFEST)


def data_files(study: Study) -> list[Path]:
    """Every file under data/, except hidden files and README.md notes."""
    root = study.root / "data"
    if not root.is_dir():
        return []
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and p.name != "README.md"
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def checksums(study: Study) -> dict[str, str]:
    """Relative path (posix) -> SHA-256 of every data file."""
    return {p.relative_to(study.root).as_posix(): sha256(p) for p in data_files(study)}


def manifest_text(sums: dict[str, str]) -> str:
    return "".join(f"{digest}  {path}\n" for path, digest in sorted(sums.items()))


def accept(study: Study) -> Path:
    """Record the checksums of the data files as they are now; returns the manifest's path."""
    path = study.manifest_path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(manifest_text(checksums(study)), encoding="utf-8")
    except OSError as exc:
        msg = f"cannot be written ({exc.strerror})"
        raise StudykitError(msg, path=path) from exc
    return path


def read_manifest(study: Study) -> tuple[dict[str, str], list[int]]:
    """The recorded checksums, and the numbers of lines that could not be parsed."""
    recorded: dict[str, str] = {}
    bad: list[int] = []
    for number, line in enumerate(study.manifest_path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or not name:
            bad.append(number)
            continue
        recorded[name.strip()] = digest.lower()
    return recorded, bad


def check(run: Run) -> Iterator[Finding]:
    """Yield findings for data files that changed since the manifest was accepted."""
    study = run.study
    manifest = study.manifest_path.relative_to(study.root).as_posix()
    if not study.manifest_path.is_file():
        yield NO_MANIFEST.finding("no checksums recorded for the data files yet", file=manifest)
        return
    recorded, bad = read_manifest(study)
    for number in bad:
        yield BAD_MANIFEST.finding(f"line {number} is not '<sha256>  <path>'", file=manifest, row=number)
    current = checksums(study)
    for name, digest in current.items():
        if name not in recorded:
            yield ADDED.finding(f"{name} is not in the manifest", file=name)
        elif recorded[name] != digest:
            yield CHANGED.finding(f"{name} changed since the data were last accepted", file=name)
    for name in sorted(set(recorded) - set(current)):
        yield REMOVED.finding(f"{name} is in the manifest but no longer exists", file=name)
