"""studykit.schemas: the pandera schemas validation uses, importable by analysts for their own frames."""

from __future__ import annotations

import pandas as pd
import pandera.errors
import polars as pl
import pytest
from studykit.checks.tabular import constraint_findings
from studykit.schemas import field_constraints, measure_schema, polars_schema, schema_types
from studykit.study import load_study
from studykit.tables import read_typed

from tests.package.test_validate import MEASURES, MEASURES_FILE, make_study


def test_measure_schema_checks_an_analysts_polars_frame(tmp_path):
    study = load_study(make_study(tmp_path))
    schema = measure_schema(study, "mood")
    frame = read_typed(study.measures_path("mood"), schema_types(schema))
    assert schema.validate(frame).height == 4
    bad = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 1).then(9).otherwise(pl.col("item_02")).alias("item_02")
    )
    with pytest.raises(pandera.errors.SchemaErrors) as caught:
        schema.validate(bad, lazy=True)
    cases = caught.value.failure_cases
    assert cases.select("column", "index").rows() == [("item_02", 1)]


def test_the_same_checks_in_the_pandas_schema(tmp_path):
    study = load_study(make_study(tmp_path))
    polars_version = measure_schema(study, "mood")
    pandas_version = measure_schema(study, "mood", backend="pandas")
    # Each constraint is compiled once: both schemas hold the very same check objects.
    checks = [(c.name, c.statistics) for c in polars_version.columns["item_01"].checks]
    assert checks == [(c.name, c.statistics) for c in pandas_version.columns["item_01"].checks]
    bounds = {"min_value": 1, "max_value": 5, "include_min": True, "include_max": True}
    assert checks == [("in_range", bounds)]
    frame = pd.DataFrame(
        {"participant_id": ["P001", "X2"], "wave": ["T1", "T2"], "completed_on": ["2024-01-12", "2024-01-20"],
         "item_01": [3, 0], "item_02": [4, 1], "item_03": [2, 2], "item_04": [5, None]}
    )  # fmt: skip
    with pytest.raises(pandera.errors.SchemaErrors) as caught:
        pandas_version.validate(frame, lazy=True)
    failed = set(zip(caught.value.failure_cases["column"], caught.value.failure_cases["index"], strict=True))
    assert failed == {("participant_id", 1), ("item_01", 1)}


def test_validation_reports_what_the_schema_finds_on_every_row(tmp_path):
    """pandera decides: a defect polars has no separate expression for is still found (every row checked)."""
    from studykit.checks.tabular import cast_table
    from studykit.package import build_descriptor

    measures = MEASURES + "P002,T2,2024-05-30,0,6,3,3\n"
    study = load_study(make_study(tmp_path, measures=measures))
    resource = next(r for r in build_descriptor(study)["resources"] if r["path"] == MEASURES_FILE)
    text = pl.read_csv(study.measures_path("mood"), infer_schema=False)
    found = list(constraint_findings(cast_table(text, resource["schema"]), resource["schema"], file="m.csv"))
    assert [(f.code, f.row, f.column, f.message) for f in found] == [
        ("STR009", 6, "item_01", "'0' is not allowed in item_01: the minimum is 1"),
        ("STR009", 6, "item_02", "'6' is not allowed in item_02: the maximum is 5"),
    ]


def test_constraints_are_compiled_once():
    field = {"name": "x", "type": "integer", "constraints": {"minimum": 1, "maximum": 5, "enum": [1, 2]}}
    assert field_constraints(field) is field_constraints(dict(field))
    assert [c.kind for c in field_constraints(field)] == ["range", "enum"]
    schema = {"fields": [field]}
    assert polars_schema(schema) is polars_schema({"fields": [dict(field)]})
