"""Labelled SPSS and Stata files in deposits (archive.labelled_exports, issue 21 with issue 19).

Inputs are the template's synthetic example study (baked once per module, copied per test).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import polars as pl
import pyreadstat
import pytest
from studykit.deposit import build_deposit, check_deposit, plan_deposit
from studykit.deposit.staging import payload
from studykit.deposit.tiers import TARGETS
from studykit.export import labelled_file, study_variables
from studykit.instruments import load_instruments
from studykit.study import load_study

from tests.package.deposit_study import (
    NO_ARCHIVING,
    NO_QUOTATION,
    RELEASED,
    REMOVED,
    bake_example,
    copy_study,
)

BOTH = ["spss", "stata"]
READ = {"spss": pyreadstat.read_sav, "stata": pyreadstat.read_dta}
SUFFIX = {"spss": ".sav", "stata": ".dta"}


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> Path:
    return bake_example(tmp_path_factory)


def csv_rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


def read_back(content: bytes, to: str, tmp_path: Path) -> tuple[pl.DataFrame, object]:
    path = tmp_path / f"read{SUFFIX[to]}"
    path.write_bytes(content)
    return READ[to](path, output_format="polars")


# Two configurations, each with resources that must NOT get a labelled file:
# an open deposit where the measures are safeguarded (above the tier), and a safeguarded
# deposit where employment is controlled and the measures need direct-quotation consent too.
CASES = {
    "open deposit, measures above the tier": (
        "open",
        {
            "participants": {"tier": "open"},
            "employment": {"tier": "open"},
            "measures": {"tier": "safeguarded"},
        },
        {"measures-wemwbs", "measures-mjs", "measures-team"},
    ),
    "safeguarded deposit, employment controlled": (
        "safeguarded",
        {"employment": {"tier": "controlled"}, "measures": {"consent_scope": "direct_quotation"}},
        {"employment"},
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_labelled_files_for_exactly_the_shipped_tables_with_the_deposited_rows(example, tmp_path, case):
    tier, resources, not_shipped = CASES[case]
    root = copy_study(example, tmp_path, access=tier, resources=resources, labelled_exports=BOTH)
    plan = plan_deposit(load_study(root), tier, TARGETS["osf"], RELEASED)
    files = payload(plan)
    tables = {i.name: i for i in plan.shipped if i.path.endswith(".csv")}
    assert not_shipped <= {i.name for i in plan.described}
    assert not_shipped.isdisjoint(tables)
    assert {"participants"} <= set(tables)

    labelled = {p for p in files if p.startswith("data/labelled/")}
    expected = {f"data/labelled/{to}/{name}{SUFFIX[to]}" for name in tables for to in BOTH}
    assert labelled == expected | {"data/labelled/variables.csv"}
    assert not any(name in p for p in labelled for name in not_shipped)

    for name, item in tables.items():
        rows = csv_rows(item.content)
        for to in BOTH:
            frame, meta = read_back(files[f"data/labelled/{to}/{name}{SUFFIX[to]}"], to, tmp_path)
            assert frame.height == len(rows), (name, to)
            if rows and "participant_id" in rows[0]:
                assert frame.get_column("participant_id").to_list() == [r["participant_id"] for r in rows]
                assert {REMOVED, NO_ARCHIVING}.isdisjoint(frame.get_column("participant_id").to_list())
            assert meta.column_names == list(rows[0]), (name, to)  # the CSV's columns, in order
    # Per-resource scope: the measures of the safeguarded case also lose who lacks quotation consent.
    if tier == "safeguarded":
        spss, meta = read_back(files["data/labelled/spss/measures-wemwbs.sav"], "spss", tmp_path)
        assert NO_QUOTATION not in spss.get_column("participant_id").to_list()
        participants, _ = read_back(files["data/labelled/stata/participants.dta"], "stata", tmp_path)
        assert NO_QUOTATION in participants.get_column("participant_id").to_list()
        wemwbs = next(i for i in load_instruments(plan.study) if i.id == "wemwbs")
        item = wemwbs.items[0]
        assert meta.variable_value_labels[item.id] == {
            float(k): v for k, v in wemwbs.response_for(item).labels.items()
        }
        # The item scores read back equal the deposited CSV's.
        rows = csv_rows(tables["measures-wemwbs"].content)
        assert [None if v is None else int(v) for v in spss.get_column(item.id).to_list()] == [
            int(r[item.id]) if r[item.id] else None for r in rows
        ]


def test_no_labelled_files_unless_the_study_asks(example, tmp_path):
    root = copy_study(example, tmp_path)
    plan = plan_deposit(load_study(root), "safeguarded", TARGETS["osf"], RELEASED)
    assert not any(p.startswith("data/labelled/") for p in payload(plan))


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_rebuild_is_byte_identical_listed_and_passes_check_deposit(example, tmp_path):
    root = copy_study(example, tmp_path, labelled_exports=BOTH)
    first = build_deposit(load_study(root), make_zip=True, released=RELEASED)
    bag_one, zip_one = tree(root / first.path), (root / first.zip).read_bytes()
    second = build_deposit(load_study(root), make_zip=True, released=RELEASED)
    assert tree(root / second.path) == bag_one
    assert (root / second.zip).read_bytes() == zip_one
    assert "data/data/labelled/spss/participants.sav" in bag_one
    assert "data/data/labelled/stata/measures-wemwbs.dta" in bag_one

    report = check_deposit(root / first.path)
    assert report.valid, [f.message for f in report.findings]

    data = root / first.path / "data"
    readme = (data / "README.md").read_text(encoding="utf-8")
    assert "| `data/labelled/spss/participants.sav` | `data/participants.csv` |" in readme
    assert "data/labelled/variables.csv" in readme
    crate = {e["@id"]: e for e in json.loads((data / "ro-crate-metadata.json").read_text("utf-8"))["@graph"]}
    sav = crate["data/labelled/spss/participants.sav"]
    assert sav["encodingFormat"] == "application/x-spss-sav"
    assert sav["conditionsOfAccess"] == crate["data/participants.csv"]["conditionsOfAccess"]
    assert "data/labelled/variables.csv" in crate

    # The files carry the release date as their creation time, not the clock's.
    for to, path in (("spss", "labelled/spss/employment.sav"), ("stata", "labelled/stata/employment.dta")):
        _, meta = READ[to](data / "data" / path, metadataonly=True)
        midnight = dt.datetime.combine(RELEASED, dt.time(0, 0), tzinfo=dt.UTC)
        assert meta.creation_time == midnight.replace(tzinfo=None), to  # readstat reads a naive time


@pytest.mark.parametrize("to", BOTH)
def test_the_stamp_is_the_only_time_in_a_labelled_file(example, tmp_path, to):
    """Two stamps give files that differ only in the creation time field; one stamp, identical files."""
    study = load_study(copy_study(example, tmp_path))
    table = next(t for t in study_variables(study) if t.name == "participants")
    frame = pl.DataFrame({"participant_id": ["P001", "P002"]})
    first, later = dt.datetime(2026, 1, 15, tzinfo=dt.UTC), dt.datetime(2031, 12, 3, 9, 41, tzinfo=dt.UTC)
    one, _ = labelled_file(table, frame, to, note=["n"], stamp=first)
    again, _ = labelled_file(table, frame, to, note=["n"], stamp=first)
    other, _ = labelled_file(table, frame, to, note=["n"], stamp=later)
    assert one == again
    assert len(one) == len(other)
    differ = [i for i in range(len(one)) if one[i] != other[i]]
    stamp = b"15 Jan 2600:00:00" if to == "spss" else b"15 Jan 2026 00:00"
    start = one.index(stamp)
    assert differ
    assert all(start <= i < start + len(stamp) for i in differ)
