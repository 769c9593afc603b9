"""The study the deposit tests start from: the template's synthetic example, with creators and access set.

Everything here is invented; no name refers to a real person.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import yaml
from studykit.package import write_descriptor
from studykit.study import load_study

from tests.conftest import bake

RELEASED = dt.date(2026, 1, 15)
CREATORS = [{"name": "Alex Example", "orcid": "0000-0002-1825-0097", "affiliation": "Example University"}]
REMOVED = "P033"  # asked for all of their data to be removed (example register)
NO_ARCHIVING = "P003"  # made to lack the archiving scope below
NO_QUOTATION = "P008"  # lacks direct quotation in the example register


def bake_example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template baked with its defaults (once per test module: a module fixture calls it)."""
    return bake(tmp_path_factory.mktemp("bake"))


def copy_study(example: Path, tmp_path: Path, *, resources: dict | None = None, **archive: object) -> Path:
    """The example with real-looking creators, P003 without archiving consent, and access overrides."""
    root = tmp_path / "study"
    shutil.copytree(example, root)
    design = yaml.safe_load((root / "study.yml").read_text(encoding="utf-8"))
    design["archive"] = {**design["archive"], "creators": CREATORS, **archive, "resources": resources or {}}
    (root / "study.yml").write_text(yaml.safe_dump(design, sort_keys=False), encoding="utf-8")
    consent = root / "governance" / "consent.csv"
    lines = consent.read_text(encoding="utf-8").splitlines(keepends=True)
    lines = [without_archiving(line) if line.startswith(NO_ARCHIVING + ",") else line for line in lines]
    consent.write_text("".join(lines), encoding="utf-8")
    write_descriptor(load_study(root))
    return root


def without_archiving(line: str) -> str:
    cells = line.rstrip("\n").split(",")
    cells[6] = ""  # participant_id,form_version,consented_on,participate,audio,quotation,archiving,contact
    return ",".join(cells) + "\n"
