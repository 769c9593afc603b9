"""Integrity layer: data files changed since their checksums were last accepted (codes INT###).

``governance/manifest.sha256`` lists a SHA-256 checksum for every file under
``data/``, in the format of ``sha256sum`` (so ``sha256sum -c governance/manifest.sha256``
run in the study folder verifies it without studykit, and a file name holding a
backslash or a line break is escaped the way ``sha256sum`` escapes it). ``studykit
validate --accept`` records it; ``studykit validate`` reports every file that changed,
appeared or disappeared since. The manifest lives outside ``data/`` because validation
never writes there.

A link under ``data/`` that leads outside the study is never read or hashed: it is
reported (INT006) with where it leads, so a study cannot silently take in, or leak,
a file that is not its own.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

from studykit.checks.findings import Finding, Rule, register
from studykit.checks.run import Run
from studykit.files import link_outside, study_relative, write_file
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
LINK_OUTSIDE = Rule(
    "INT006",
    "integrity",
    "Link leads outside the study",
    "error",
    "A file or folder under data/ is a link to somewhere outside the study folder, so its content is not "
    "the study's own: studykit neither reads nor hashes it.",
    "Replace the link with a copy of the file (or move the data into the study), or remove it.",
)
register(CHANGED, ADDED, REMOVED, NO_MANIFEST, BAD_MANIFEST, LINK_OUTSIDE)


def _entries(study: Study) -> list[Path]:
    """Every entry under data/ (links to folders listed, not followed), except hidden ones and README.md."""
    root = study.root / "data"
    if not root.is_dir():
        return []
    return sorted(
        p
        for p in root.rglob("*")
        if p.name != "README.md" and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def outside_links(study: Study) -> dict[Path, Path]:
    """Links under data/ (to files or folders) that lead outside the study: link -> where it leads."""
    found = ((p, link_outside(study.root, p)) for p in _entries(study))
    return {link: target for link, target in found if target is not None}


def data_files(study: Study) -> list[Path]:
    """Every file under data/ that is the study's own: not hidden, not README.md, not a link outside."""
    return [p for p in _entries(study) if p.is_file() and link_outside(study.root, p) is None]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def checksums(study: Study) -> dict[str, str]:
    """Relative path (posix) -> SHA-256 of every data file."""
    return {study_relative(study, p): sha256(p) for p in data_files(study)}


def _escape(name: str) -> str:
    return name.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


def _unescape(name: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "r": "\r"}.get(m[1], m[1]), name)


def manifest_line(path: str, digest: str) -> str:
    """One line as ``sha256sum`` writes it; a name with a backslash or line break is escaped and flagged."""
    escaped = _escape(path)
    flag = "\\" if escaped != path else ""
    return f"{flag}{digest}  {escaped}\n"


def manifest_text(sums: dict[str, str]) -> str:
    return "".join(manifest_line(path, digest) for path, digest in sorted(sums.items()))


def accept(study: Study) -> Path:
    """Record the checksums of the data files as they are now; returns the manifest's path.

    Refuses (``DataErrorsFound``, exit code 1) while validation finds errors outside this
    layer: accepting would record checksums of data known to be wrong. The manifest is
    replaced atomically, and never through a link or outside the study.
    """
    from studykit.checks.gate import data_errors, refusal

    errors = data_errors(study, lambda finding: finding.layer != "integrity")
    if errors:
        raise refusal(
            errors,
            action="Accepting the data's checksums",
            fix="Correct the errors (`studykit validate` shows them all), then run "
            "`studykit validate --accept`.",
        )
    return write_file(study.manifest_path, manifest_text(checksums(study)), within=study.root)


def read_manifest(study: Study) -> tuple[dict[str, str], list[int]]:
    """The recorded checksums, and the numbers of lines that could not be parsed."""
    recorded: dict[str, str] = {}
    bad: list[int] = []
    # Lines end at "\n" only, as sha256sum reads them: a name may hold any other character.
    text = study.manifest_path.read_bytes().decode("utf-8", errors="replace")
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.removesuffix("\r")
        if not line.strip():
            continue
        escaped = line.startswith("\\")
        digest, sep, name = line.removeprefix("\\").partition("  ")
        if not sep or len(digest) != 64 or not name:
            bad.append(number)
            continue
        recorded[_unescape(name) if escaped else name] = digest.lower()
    return recorded, bad


def check(run: Run) -> Iterator[Finding]:
    """Yield findings for data files that changed since the manifest was accepted."""
    study = run.study
    for link, target in outside_links(study).items():
        name = study_relative(study, link)
        yield LINK_OUTSIDE.finding(
            f"{name} is a link to {target.as_posix()}, outside the study; it was not read", file=name
        )
    manifest = study_relative(study, study.manifest_path)
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
