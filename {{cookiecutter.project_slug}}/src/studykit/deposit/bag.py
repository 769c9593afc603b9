"""The BagIt bag (RFC 8493) around a staged payload, and the deterministic zip of a bag.

``make_bag`` runs bagit-python's ``make_bag`` on a staging folder that holds nothing but
the payload (it *moves* every entry of the folder it is given into ``data/``), then
makes the tag files reproducible: bagit-python declares BagIt 0.97 and lists tag files
in directory order, so ``bagit.txt`` is rewritten as 1.0 and the tag manifests sorted.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import bagit

from studykit import __version__

if TYPE_CHECKING:
    from studykit.deposit.staging import Plan

ALGORITHMS = ("sha256", "sha512")
BAGIT_TXT = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def bag_info(plan: Plan) -> dict[str, str]:
    """bag-info.txt: reserved fields from study.yml, the release date as Bagging-Date, the tier."""
    study = plan.study
    return {
        "Source-Organization": study.institution,
        "Contact-Name": study.principal_investigator,
        "Contact-Email": study.contact_email,
        "External-Description": study.title,
        "External-Identifier": plan.name,
        "Bagging-Date": plan.released.isoformat(),
        "Bag-Software-Agent": f"studykit {__version__} (bagit.py {bagit.VERSION})",
        "Access-Tier": plan.tier,
    }


def make_bag(folder: Path, info: dict[str, str]) -> None:
    """Turn ``folder`` (a staging folder holding only the payload) into a bag, reproducibly."""
    bagit.make_bag(str(folder), bag_info=dict(info), checksums=list(ALGORITHMS))
    (folder / "bagit.txt").write_text(BAGIT_TXT, encoding="utf-8", newline="\n")
    tag_files = sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and not p.relative_to(folder).as_posix().startswith(("data/", "tagmanifest-"))
    )
    for algorithm in ALGORITHMS:
        lines = [f"{_digest(folder / name, algorithm)}  {name}\n" for name in tag_files]
        (folder / f"tagmanifest-{algorithm}.txt").write_text("".join(lines), encoding="utf-8", newline="\n")


def _digest(path: Path, algorithm: str) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, algorithm).hexdigest()


def write_zip(bag_dir: Path, target: Path) -> Path:
    """``<name>.zip`` of a bag: entries sorted under ``<name>/``, fixed times and modes, no absolute paths."""
    temporary = target.with_name(f".{target.name}.tmp")
    files = sorted(p for p in bag_dir.rglob("*") if p.is_file())
    try:
        with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in files:
                entry = zipfile.ZipInfo(f"{bag_dir.name}/{path.relative_to(bag_dir).as_posix()}", ZIP_TIME)
                entry.external_attr = 0o644 << 16
                entry.compress_type = zipfile.ZIP_DEFLATED
                entry.create_system = 3
                archive.writestr(entry, path.read_bytes())
        temporary.replace(target)
    finally:
        temporary.unlink(missing_ok=True)
    return target
