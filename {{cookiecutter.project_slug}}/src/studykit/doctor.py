"""``studykit doctor``: is this study's copy of studykit as the template shipped it?

The template ships ``src/studykit/_manifest.sha256`` (``sha256  path`` lines, paths relative to
the package, as ``sha256sum`` writes them). A vendored file edited here conflicts with the next
template update; a deleted one silently stops receiving updates (cruft leaves out of an update
every template file the study deleted). Doctor names both, plus what an update left unresolved.
Line endings are compared as LF, so a Windows checkout is not reported as edited.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

MANIFEST = "_manifest.sha256"
IGNORED_PARTS = {"__pycache__"}
IGNORED_SUFFIXES = {".pyc", ".pyo"}

Change = Literal["edited", "deleted", "added"]


def checksum(path: Path) -> str:
    """SHA-256 of a file's bytes with CRLF read as LF."""
    return hashlib.sha256(path.read_bytes().replace(b"\r\n", b"\n")).hexdigest()


def package_files(package: Path) -> list[Path]:
    """The package's files that the manifest covers (not caches, not the manifest itself)."""
    return sorted(
        p for p in package.rglob("*")
        if p.is_file() and p.name != MANIFEST and not IGNORED_PARTS & set(p.relative_to(package).parts)
        and p.suffix not in IGNORED_SUFFIXES
    )  # fmt: skip


def build_manifest(package: Path) -> str:
    """The manifest text for a package folder (``tests/regenerate.py`` writes the template's)."""
    lines = [f"{checksum(p)}  {p.relative_to(package).as_posix()}" for p in package_files(package)]
    return "\n".join(lines) + "\n"


def read_manifest(text: str) -> dict[str, str]:
    """``path -> sha256`` from manifest text (blank lines and ``#`` comments ignored)."""
    entries: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            digest, _, path = line.partition("  ")
            entries[path.strip()] = digest.strip()
    return entries


@dataclass(frozen=True)
class VendoredChange:
    """One vendored studykit file that differs from what the template shipped."""

    path: str  # relative to the study
    change: Change

    @property
    def fix(self) -> str:
        if self.change == "edited":
            return (
                f"Undo the edit (`git log -p -- {self.path}` shows it) and propose it to the template "
                "instead; a local edit conflicts with the next template update."
            )
        if self.change == "deleted":
            return (
                f"Restore it (`git checkout <commit> -- {self.path}` from the commit before it was deleted); "
                "a deleted file never receives template updates again."
            )
        return "Not part of studykit: template updates leave it alone, and it is not covered by the manifest."

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "change": self.change, "fix": self.fix}


def vendored_changes(study_root: Path) -> list[VendoredChange] | None:
    """Edited, deleted and added files in ``src/studykit``; ``None`` when there is no manifest."""
    package = study_root / "src" / "studykit"
    manifest = package / MANIFEST
    if not manifest.is_file():
        return None
    expected = read_manifest(manifest.read_text(encoding="utf-8"))
    prefix = package.relative_to(study_root).as_posix()
    present = {p.relative_to(package).as_posix(): p for p in package_files(package)}
    changes = [
        VendoredChange(f"{prefix}/{name}", "deleted" if name not in present else "edited")
        for name, digest in sorted(expected.items())
        if name not in present or checksum(present[name]) != digest
    ]
    added = [name for name in sorted(present) if name not in expected]
    return changes + [VendoredChange(f"{prefix}/{name}", "added") for name in added]


@dataclass(frozen=True)
class DoctorReport:
    """What doctor found; ``problems`` set the exit code."""

    vendored: list[VendoredChange] = field(default_factory=list)
    manifest_found: bool = True
    answers_recorded: bool = True
    conflicts: list[str] = field(default_factory=list)
    local_template: str | None = None  # .cruft.json names the template by a folder on one computer

    @property
    def problems(self) -> list[str]:
        """One sentence per problem, each with its fix."""
        found = [f"{c.path} was {c.change} locally. {c.fix}" for c in self.vendored if c.change != "added"]
        if not self.manifest_found:
            found.append(
                f"src/studykit/{MANIFEST} is missing, so local edits to studykit cannot be found. Restore it "
                "from the template (`studykit template update` brings it back only if it was never deleted)."
            )
        if not self.answers_recorded:
            found.append(
                "The study records no template answers (.cruft.json or .cookiecutter.json), so it cannot "
                "take template updates. See docs/updating.md."
            )
        found += [
            f"{path} still has an unresolved template update conflict. Resolve it as docs/updating.md says."
            for path in self.conflicts
        ]
        return found

    @property
    def notes(self) -> list[str]:
        found = [f"{c.path} was added locally. {c.fix}" for c in self.vendored if c.change == "added"]
        if self.local_template:
            found.append(
                f".cruft.json names the template by a folder on one computer ({self.local_template}): it "
                "means nothing to collaborators or CI and shows that folder in a deposit. Replace it with "
                "the template's git URL (the \"template\" key) and commit."
            )
        return found

    @property
    def exit_code(self) -> int:
        return 1 if self.problems else 0

    def to_dict(self) -> dict[str, object]:
        return {
            "healthy": not self.problems, "problems": self.problems, "notes": self.notes,
            "vendored": [c.to_dict() for c in self.vendored], "manifest_found": self.manifest_found,
            "answers_recorded": self.answers_recorded, "conflicts": self.conflicts,
            "local_template": self.local_template,
        }  # fmt: skip


def diagnose(study_root: Path) -> DoctorReport:
    """Check the vendored studykit against its manifest, the recorded answers, and leftover conflicts."""
    from studykit.template import is_local_address, leftover_conflicts, recorded

    changes = vendored_changes(study_root)
    answers = recorded(study_root)
    local = answers.template if answers and answers.linked and answers.template else None
    return DoctorReport(
        vendored=changes or [], manifest_found=changes is not None, answers_recorded=answers is not None,
        conflicts=[c.file for c in leftover_conflicts(study_root)],
        local_template=local if local and is_local_address(local) else None,
    )  # fmt: skip
