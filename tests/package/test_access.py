"""Access per resource: defaults per kind, study.yml overrides, the data package, and ACC rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from studykit.checks import validate
from studykit.errors import StudyConfigError
from studykit.package import build_descriptor, write_descriptor
from studykit.study import load_study

from tests.package.governance_study import make_study


def with_access(tmp_path: Path, resources: dict) -> Path:
    root = make_study(tmp_path)
    design = yaml.safe_load((root / "study.yml").read_text(encoding="utf-8"))
    design["archive"]["resources"] = resources
    (root / "study.yml").write_text(yaml.safe_dump(design), encoding="utf-8")
    write_descriptor(load_study(root))
    return root


def acc_findings(root: Path) -> list[list]:
    report = validate(load_study(root))
    return [f for f in report.flatten(["code", "file", "column"]) if f[0].startswith("ACC")]


def test_defaults_per_kind(tmp_path):
    study = load_study(with_access(tmp_path, {}))
    assert study.access_for("transcripts").tier == "controlled"
    assert study.access_for("transcripts").personal_data == "identifiable"
    assert study.access_for("governance").tier == "internal"
    assert study.access_for("measures-wemwbs").tier == "safeguarded"
    assert study.access_for("codebook").consent_scope is None
    assert "end user licence" in study.access_for("participants").conditions


def test_a_resource_name_overrides_its_kind(tmp_path):
    study = load_study(with_access(tmp_path, {
        "measures": {"tier": "open", "conditions": "Anyone."},
        "measures-wemwbs": {"embargo_until": "2027-06-30"},
    }))  # fmt: skip
    wemwbs = study.access_for("measures-wemwbs")
    assert (wemwbs.tier, wemwbs.conditions, str(wemwbs.embargo_until)) == ("open", "Anyone.", "2027-06-30")
    access = {r["name"]: r["access"] for r in build_descriptor(study)["resources"]}
    assert access["measures-wemwbs"] == {
        "tier": "open", "personal_data": "pseudonymised", "consent_scope": "archiving",
        "conditions": "Anyone.", "embargo_until": "2027-06-30",
    }  # fmt: skip
    assert "embargo_until" not in access["participants"]


def test_unknown_access_key_is_a_sentence(tmp_path):
    root = make_study(tmp_path)
    design = yaml.safe_load((root / "study.yml").read_text(encoding="utf-8"))
    design["archive"]["resources"] = {"measures-nothere": {"tier": "open"}}
    (root / "study.yml").write_text(yaml.safe_dump(design), encoding="utf-8")
    with pytest.raises(StudyConfigError, match="measures-nothere"):
        load_study(root)


def test_clean_access_has_no_acc_finding(tmp_path):
    assert acc_findings(with_access(tmp_path, {})) == []


def test_acc001_resource_without_tier(tmp_path):
    root = with_access(tmp_path, {})
    path = root / "datapackage.json"
    descriptor = json.loads(path.read_text(encoding="utf-8"))
    del descriptor["resources"][1]["access"]["tier"]
    path.write_text(json.dumps(descriptor), encoding="utf-8")
    assert acc_findings(root) == [["ACC001", "datapackage.json", "employment.access.tier"]]


def test_acc002_identifiable_below_controlled(tmp_path):
    root = with_access(tmp_path, {
        "measures": {"personal_data": "identifiable"},
        "transcripts": {"tier": "safeguarded"},
    })  # fmt: skip
    assert acc_findings(root) == [
        ["ACC002", "datapackage.json", "measures-wemwbs.access.tier"],
        ["ACC002", "study.yml", "archive.resources.transcripts"],
    ]


def test_acc002_not_when_controlled_or_pseudonymised(tmp_path):
    root = with_access(tmp_path, {
        "measures": {"personal_data": "identifiable", "tier": "controlled"},
        "transcripts": {"tier": "safeguarded", "personal_data": "pseudonymised"},
    })  # fmt: skip
    assert acc_findings(root) == []


def test_acc003_unknown_values(tmp_path):
    root = with_access(tmp_path, {})
    path = root / "datapackage.json"
    descriptor = json.loads(path.read_text(encoding="utf-8"))
    access = descriptor["resources"][0]["access"]
    access.update(personal_data="maybe", consent_scope="all", embargo_until="soon")
    path.write_text(json.dumps(descriptor), encoding="utf-8")
    assert acc_findings(root) == [
        ["ACC003", "datapackage.json", "participants.access.consent_scope"],
        ["ACC003", "datapackage.json", "participants.access.embargo_until"],
        ["ACC003", "datapackage.json", "participants.access.personal_data"],
    ]
