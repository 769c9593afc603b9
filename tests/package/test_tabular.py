"""The polars engine (``check_frame``) against frictionless on every kind of Table Schema constraint.

The measures layer and large tables use ``check_frame``: one lazy pass casts the text and
flags rows, pandera decides on the flagged rows. frictionless is the reference: on the
same file both must find the same cells, and the polars engine must word them as it does.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from frictionless import Package
from studykit.checks.structure import V2
from studykit.checks.tabular import check_frame, padding_findings
from studykit.tables import read_text_table

SCHEMA = {
    "fields": [
        {"name": "id", "type": "string", "constraints": {"required": True, "pattern": "S[0-9]{2}"}},
        {"name": "when", "type": "date", "constraints": {"minimum": "2024-01-01", "maximum": "2024-12-31"}},
        {"name": "score", "type": "integer", "constraints": {"minimum": 1, "maximum": 5}},
        {"name": "level", "type": "integer", "constraints": {"enum": [1, 2, 3]}},
        {"name": "share", "type": "number", "constraints": {"exclusiveMinimum": 0, "exclusiveMaximum": 1}},
        {"name": "flag", "type": "boolean"},
        {"name": "note", "type": "string", "constraints": {"minLength": 2, "maxLength": 5}},
    ],
    "primaryKey": ["id"],
}
CSV = """id,when,score,level,share,flag,note
S01,2024-03-01,3,1,0.5,true,ok
S02,2023-12-31,0,4,0,yes,x
S03,2025-01-01,6,2,1,false,toolong
S4,2024-02-30,x,two,half,maybe,fine
,2024-06-01,5,3,0.25,true,ok
S01,2024-06-01,5,3,0.25,true,ok
S06,,,,,,
"""


def _ours(path: Path) -> list:
    table = read_text_table(path)
    _, findings = check_frame(table.frame, SCHEMA, file="t.csv", references={}, keep=("id", "when"))
    return findings


def _reference(tmp_path: Path) -> set[tuple[int, str | None]]:
    package = Package(
        {"$schema": V2, "resources": [{"name": "t", "path": "t.csv", "schema": SCHEMA}]},
        basepath=str(tmp_path),
    )
    report = package.get_resource("t").validate()
    return {
        # frictionless also calls a blank key a primary-key error; studykit reports it once, as
        # a blank required cell (STR008), in both engines.
        (e.row_number, None if e.type == "primary-key" else e.field_name)
        for e in report.tasks[0].errors
        if not (e.type == "primary-key" and "are all" in e.note)
    }


def test_every_constraint_kind_finds_what_frictionless_finds(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(CSV, encoding="utf-8")
    ours = _ours(path)
    found = {(f.row, None if f.code == "STR012" else f.column) for f in ours}
    reference = _reference(tmp_path)
    assert len(reference) >= 15
    assert found == reference


def test_words_and_codes_of_each_kind(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(CSV, encoding="utf-8")
    by_cell = {(f.row, f.column): (f.code, f.message) for f in _ours(path)}
    assert by_cell[3, "when"] == ("STR009", "'2023-12-31' is not allowed in when: the minimum is 2024-01-01")
    assert by_cell[4, "when"] == ("STR009", "'2025-01-01' is not allowed in when: the maximum is 2024-12-31")
    assert by_cell[3, "score"] == ("STR009", "'0' is not allowed in score: the minimum is 1")
    assert by_cell[4, "score"] == ("STR009", "'6' is not allowed in score: the maximum is 5")
    assert by_cell[5, "score"] == ("STR007", "'x' is not a valid integer")
    assert by_cell[5, "when"] == ("STR007", "'2024-02-30' is not a valid date")
    assert by_cell[3, "level"] == ("STR010", "'4' is not allowed in level: allowed values are 1, 2, 3")
    assert by_cell[3, "share"] == ("STR009", "'0' is not allowed in share: it must be above 0")
    assert by_cell[4, "share"] == ("STR009", "'1' is not allowed in share: it must be below 1")
    assert by_cell[3, "flag"] == ("STR007", "'yes' is not a valid boolean")
    assert by_cell[4, "note"][0] == "STR015"
    assert by_cell[5, "id"] == ("STR011", "'S4' is not allowed in id: the pattern is S[0-9]{2}")
    assert by_cell[6, "id"] == ("STR008", "id is blank but required")
    assert by_cell[7, "id"][0] == "STR012"


def test_kept_columns_come_back_typed_and_the_rest_do_not(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(CSV, encoding="utf-8")
    table = read_text_table(path)
    typed, _ = check_frame(table.frame, SCHEMA, file="t.csv", references={}, keep=("id", "when"))
    assert typed.columns == ["id", "when"]
    assert typed.schema["when"] == pl.Date
    assert typed.get_column("when").null_count() == 2  # the impossible date and the blank one


# --- differential: the polars engine against frictionless on generated tables -----------------------

import csv  # noqa: E402
import io  # noqa: E402

from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

TOKENS = {
    "string": ["A01", "B22", "a01", "A1", "", "ZZ", "hello", "A01x"],
    "integer": ["0", "1", "3", "5", "6", "-2", "03", "+3", "x", "1.5", "3.0", "", "10"],
    "number": ["0", "0.5", "1", "2.25", "-1", "x", "1,5", "", "1e2", ".5"],
    "boolean": ["true", "false", "True", "FALSE", "1", "0", "yes", "", "t"],
    "date": [
        "2024-01-15",
        "2024-02-30",
        "2023-12-31",
        "2025-01-01",
        "2024-1-5",
        "15/01/2024",
        "",
        "2024-06-01",
    ],
}
CONSTRAINTS = {
    "string": [{}, {"pattern": "[A-Z][0-9]{2}"}, {"enum": ["A01", "B22", "ZZ"]},
               {"minLength": 2, "maxLength": 3}],
    "integer": [{}, {"minimum": 1, "maximum": 5}, {"minimum": 0}, {"maximum": 3}, {"enum": [1, 3, 5]},
                {"exclusiveMinimum": 0, "exclusiveMaximum": 5}],
    "number": [{}, {"minimum": 0, "maximum": 1}, {"exclusiveMinimum": 0}],
    "boolean": [{}],
    "date": [{}, {"minimum": "2024-01-01", "maximum": "2024-12-31"}],
}  # fmt: skip


@st.composite
def tables(draw):
    """A Table Schema of 1-4 fields (every supported type and constraint) and 1-8 rows of cells drawn
    from valid, boundary, malformed and blank tokens, some padded with spaces or a tab."""
    kinds = draw(st.lists(st.sampled_from(sorted(TOKENS)), min_size=1, max_size=4))
    fields = []
    for n, kind in enumerate(kinds):
        constraints = dict(draw(st.sampled_from(CONSTRAINTS[kind])))
        if draw(st.booleans()):
            constraints["required"] = True
        if kind != "boolean" and draw(st.integers(0, 5)) == 0:
            constraints["unique"] = True
        fields.append({"name": f"f{n}", "type": kind, "constraints": constraints})
    schema: dict = {"fields": fields}
    if draw(st.integers(0, 2)) == 0:
        # A primary key of one or two fields; its members are required, as studykit's descriptors say
        # (frictionless-py #1623 lets a blank member through otherwise).
        key = [f["name"] for f in fields[: draw(st.integers(1, min(2, len(fields))))]]
        for f in fields:
            if f["name"] in key:
                f["constraints"]["required"] = True
        schema["primaryKey"] = key
    reference = None
    if draw(st.integers(0, 2)) == 0:
        # A foreign key from the first field to a table holding some of its tokens.
        kind = fields[0]["type"]
        reference = draw(st.lists(st.sampled_from([t for t in TOKENS[kind] if t]), min_size=1, max_size=4))
        schema["foreignKeys"] = [
            {"fields": [fields[0]["name"]], "reference": {"resource": "ref", "fields": ["id"]}}
        ]
        schema["_ref_type"] = kind
    rows = draw(
        st.lists(st.tuples(*(st.sampled_from(TOKENS[f["type"]]) for f in fields)), min_size=1, max_size=8)
    )
    pads = draw(st.lists(st.sampled_from(["", "", "", " ", "\t", "  "]), min_size=len(rows) * len(fields),
                         max_size=len(rows) * len(fields)))  # fmt: skip
    padded = [
        [
            pads[r * len(fields) + c] + cell + (pads[r * len(fields) + c] if cell else "")
            for c, cell in enumerate(row)
        ]
        for r, row in enumerate(rows)
    ]
    # A row of blanks only is frictionless's "blank-row" (it then checks nothing else in the row);
    # studykit reports its required cells. Both flag the row; generated rows keep a value.
    assume(all(any(row) for row in rows))
    return schema, [list(r) for r in rows], padded, reference


def _csv(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


ROW_ERRORS = {"primary-key": "key", "foreign-key": "reference"}
OUR_ROW_CODES = {"STR012": "key", "STR014": "reference"}


def _ref_resource(schema: dict) -> dict:
    kind = schema["_ref_type"]
    return {"name": "ref", "path": "ref.csv", "schema": {"fields": [{"name": "id", "type": kind}]}}


def _frictionless_cells(schema: dict, text: str, folder: Path) -> set[tuple[int, str]]:
    (folder / "t.csv").write_text(text, encoding="utf-8")
    resources = [
        {"name": "t", "path": "t.csv", "schema": {k: v for k, v in schema.items() if k != "_ref_type"}}
    ]
    if "_ref_type" in schema:
        resources.append(_ref_resource(schema))
    package = Package({"$schema": V2, "resources": resources}, basepath=str(folder))
    errors = package.get_resource("t").validate().tasks[0].errors
    # frictionless also reports a key with a blank or unreadable member as a primary-key error;
    # studykit reports that cell once (STR008 or STR007), so those are left out here.
    key = schema.get("primaryKey", [])
    null_key = {
        e.row_number
        for e in errors
        if e.type in ("type-error", "constraint-error") and e.field_name in key and (
            e.type == "type-error" or not e.cell
        )
    }  # fmt: skip
    # A field that is the whole primary key and also unique: studykit reports the duplicate once, as a key.
    return {
        (e.row_number, ROW_ERRORS.get(e.type) or e.field_name)
        for e in errors
        if not (e.type == "primary-key" and e.row_number in null_key)
        and not (e.type == "unique-error" and [e.field_name] == key)
    }


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tables())
def test_differential_the_engine_finds_the_cells_frictionless_finds(tmp_path, generated):
    """On generated tables, studykit's engine flags exactly the cells frictionless flags.

    Spaces are studykit's own rule: the engine reads a padded cell without its spaces and
    reports it as STR017, so frictionless is given the table as the engine reads it, and the
    STR017 findings must be exactly the padded cells.
    """
    schema, rows, padded, reference = generated
    header = [f["name"] for f in schema["fields"]]
    path = tmp_path / "ours.csv"
    path.write_text(_csv(header, padded), encoding="utf-8")
    references = {}
    if reference is not None:
        (tmp_path / "ref.csv").write_text(_csv(["id"], [[v] for v in reference]), encoding="utf-8")
        references["ref"] = read_text_table(tmp_path / "ref.csv").frame
    table = read_text_table(path)
    ours_schema = {k: v for k, v in schema.items() if not k.startswith("_")}
    _, findings = check_frame(table.frame, ours_schema, file="t.csv", references=references)
    ours = {(f.row, OUR_ROW_CODES.get(f.code) or f.column) for f in findings}
    reference = _frictionless_cells(schema, _csv(header, rows), tmp_path)
    assert ours == reference, (schema, rows)
    spaces = {(f.row, f.column) for f in padding_findings(table, file="t.csv")}
    expected = {
        (r + 2, header[c])
        for r, row in enumerate(padded)
        for c, cell in enumerate(row)
        if cell != cell.strip()
    }
    assert spaces == expected


# --- rows with the wrong number of cells -----------------------------------------------------------

CELL = st.sampled_from(["1", "ab", "", '"x,y"', '"two\nlines"', '"say ""hi"""', "é"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.lists(CELL, min_size=0, max_size=5), min_size=1, max_size=8),
    ending=st.sampled_from(["\n", "\r\n"]),
    last_newline=st.booleans(),
    chunk=st.integers(min_value=1, max_value=64),
)
def test_ragged_rows_are_the_rows_the_csv_module_reads_with_another_width(
    tmp_path, monkeypatch, rows, ending, last_newline, chunk
):
    import studykit.tables as tables

    monkeypatch.setattr(tables, "_SCAN_CHUNK", chunk)  # chunk edges fall inside quotes, cells, line ends
    text = "a,b,c" + ending + ending.join(",".join(r) for r in rows) + (ending if last_newline else "")
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode("utf-8"))
    expected = [
        (n + 1, len(record))
        for n, record in enumerate(csv.reader(io.StringIO(text, newline="")))
        if n and record and len(record) != 3
    ]
    assert tables.ragged_rows(path, 3) == expected
    assert list(read_text_table(path).ragged) == expected  # through whichever path the reader takes


def test_a_short_row_is_found_among_rows_with_a_blank_last_cell(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,c\r\n1,2,\r\n4,5\r\n\r\n7,8,9\r\n10\r\n", encoding="utf-8")
    assert read_text_table(path).ragged == ((3, 2), (6, 1))
    path.write_text('a,b,c\n"1,5",2,\n4,"5\n6"\n7,8,9\n', encoding="utf-8")  # quotes: the whole file is read
    assert read_text_table(path).ragged == ((3, 2),)


def test_short_and_long_rows_are_found_and_the_rest_of_the_file_is_read(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,\n\n12,13,14\n", encoding="utf-8")
    table = read_text_table(path)
    assert table.ragged == ((3, 2), (4, 4))  # a blank last cell (row 5) and a blank line (row 6) are not
    assert table.frame.rows() == [("1", "2", "3"), ("4", "5", None), ("6", "7", "8"), ("10", "11", None),
                                  (None, None, None), ("12", "13", "14")]  # fmt: skip
