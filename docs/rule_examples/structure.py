"""Breaks for the structure layer's rules (STR): files, encodings, columns and cell values."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from docs.rule_examples import breaks
from docs.rule_examples.edit import append, replace, set_cell, table, text, write, write_table

PARTICIPANTS = "data/participants.csv"
EMPLOYMENT = "data/employment.csv"
CBI = "data/measures/cbi.csv"
DESCRIPTOR = "datapackage.json"


@breaks("STR000")
def internal_error(study: Path) -> contextlib.AbstractContextManager:
    """The involvement checks made to fail as a bug in studykit would (no file can cause this)."""

    @contextlib.contextmanager
    def failing() -> Iterator[None]:
        import studykit.checks.involvement as layer

        original = layer.check

        def check(run: object) -> Iterator[object]:
            msg = "an example fault"
            raise RuntimeError(msg)

        layer.check = check
        try:
            yield
        finally:
            layer.check = original

    return failing()


@breaks("STR007")
def wrong_type(study: Path) -> None:
    """P003's age typed as a word ("forty") in data/participants.csv."""
    set_cell(study, PARTICIPANTS, 4, "age", "forty")


@breaks("STR001")
def missing_file(study: Path) -> None:
    """data/employment.csv deleted, while study.yml and datapackage.json still describe it."""
    (study / EMPLOYMENT).unlink()


@breaks("STR002")
def semicolons(study: Path) -> None:
    """data/employment.csv saved by a spreadsheet set to a European language, with ';' between cells."""
    write(study, EMPLOYMENT, text(study, EMPLOYMENT).replace(",", ";"))


@breaks("STR003")
def latin1(study: Path) -> None:
    """P002's role typed as "infirmière" and data/participants.csv saved as Latin-1, not UTF-8."""
    set_cell(study, PARTICIPANTS, 3, "role", "infirmière")
    write(study, PARTICIPANTS, text(study, PARTICIPANTS).encode("latin-1"))


@breaks("STR004")
def byte_order_mark(study: Path) -> None:
    """data/participants.csv saved as Excel's "CSV UTF-8", which puts a byte order mark first."""
    write(study, PARTICIPANTS, "\ufeff" + text(study, PARTICIPANTS))


@breaks("STR005")
def missing_column(study: Path) -> None:
    """The gender column deleted from data/participants.csv."""
    write_table(study, PARTICIPANTS, [row[:5] + row[6:] for row in table(study, PARTICIPANTS)])


@breaks("STR006")
def unknown_column(study: Path) -> None:
    """The header hours_per_week typed as "hours per week" in data/employment.csv."""
    replace(study, EMPLOYMENT, "hours_per_week", "hours per week")


@breaks("STR008")
def required_blank(study: Path) -> None:
    """P005's enrolment date left blank in data/participants.csv."""
    set_cell(study, PARTICIPANTS, 6, "enrolled_on", "")


@breaks("STR009")
def out_of_range(study: Path) -> None:
    """P004's T1 answer to CBI item 3 typed as 6 on its 1 to 5 scale (data/measures/cbi.csv)."""
    set_cell(study, CBI, 5, "item_03", "6")


@breaks("STR010")
def not_allowed(study: Path) -> None:
    """P003's T1 contract typed as "part-time", not one of the contract types, in data/employment.csv."""
    set_cell(study, EMPLOYMENT, 4, "contract", "part-time")


@breaks("STR011")
def pattern(study: Path) -> None:
    """P002's id typed as "P2" in their T1 row of data/employment.csv."""
    set_cell(study, EMPLOYMENT, 3, "participant_id", "P2")


@breaks("STR012")
def duplicate_key(study: Path) -> None:
    """P001's T1 row of data/employment.csv pasted in twice."""
    append(study, EMPLOYMENT, text(study, EMPLOYMENT).splitlines()[1])


@breaks("STR014")
def unknown_reference(study: Path) -> None:
    """An employment row for P099, who is not in data/participants.csv, added to data/employment.csv."""
    append(study, EMPLOYMENT, "P099,T1,2024-01-22,true,peer support worker,fixed-term,15")


@breaks("STR017")
def spaces(study: Path) -> None:
    """P003's site typed as "S3 " with a space after it in data/participants.csv."""
    set_cell(study, PARTICIPANTS, 4, "site", "S3 ")


@breaks("STR020")
def no_descriptor(study: Path) -> None:
    """datapackage.json deleted."""
    (study / DESCRIPTOR).unlink()


@breaks("STR021")
def bad_descriptor(study: Path) -> None:
    """datapackage.json edited by hand: its licenses written as one name instead of a list."""
    listed = '"licenses": [\n    {\n      "name": "CC-BY-4.0"\n    }\n  ]'
    replace(study, DESCRIPTOR, listed, '"licenses": "CC-BY-4.0"')


@breaks("STR022")
def drift(study: Path) -> None:
    """The version in study.yml raised to 0.2.0 without running `studykit package sync`."""
    replace(study, "study.yml", "version: 0.1.0", "version: 0.2.0")


@breaks("STR023")
def broken_instrument(study: Path) -> None:
    """A copy-paste in instruments/mjs.yml gives two items the id item_01."""
    replace(study, "instruments/mjs.yml", "- id: item_02", "- id: item_01")


@breaks("STR024")
def remote(study: Path) -> None:
    """datapackage.json's $schema changed to the old Data Package profile's web address, from a tutorial."""
    replace(study, DESCRIPTOR, "https://datapackage.org/profiles/2.0/datapackage.json",
            "https://specs.frictionlessdata.io/schemas/data-package.json")  # fmt: skip


@breaks("STR026")
def empty_columns(study: Path) -> None:
    """data/employment.csv saved from a spreadsheet with notes once typed in two columns right of the
    table, so every row ends in ",,"."""
    write(study, EMPLOYMENT, "".join(line + ",,\n" for line in text(study, EMPLOYMENT).splitlines()))


# STR013, STR015 and STR018 are the engine's answers to Table Schema features that no schema
# studykit builds uses today (a unique column besides the key, a length limit, a feature the
# engine leaves to frictionless). Their breaks change the built schema in memory, as a later
# version of a schema could, and then the data in one place; their docstrings say so.


def _schema_changed(change: Callable[[dict], None]) -> contextlib.AbstractContextManager:
    """Validation with the participants table's schema, as studykit builds it, changed by ``change``."""

    @contextlib.contextmanager
    def patched() -> Iterator[None]:
        import studykit.package as package

        original = package.build_descriptor

        def build_descriptor(study: object) -> dict:
            descriptor = original(study)  # type: ignore[arg-type]
            change(next(r for r in descriptor["resources"] if r["name"] == "participants")["schema"])
            return descriptor

        package.build_descriptor = build_descriptor
        try:
            yield
        finally:
            package.build_descriptor = original

    return patched()


def _field(schema: dict, name: str) -> dict:
    return next(f for f in schema["fields"] if f["name"] == name)


@breaks("STR013")
def unique_value(study: Path) -> contextlib.AbstractContextManager:
    """No schema studykit builds has a unique column besides its key (a repeated key is STR012): shown with
    data/participants.csv's role declared unique in its schema, where several peer workers share one."""
    return _schema_changed(lambda s: _field(s, "role").setdefault("constraints", {}).update(unique=True))


@breaks("STR015")
def too_long(study: Path) -> contextlib.AbstractContextManager:
    """No schema studykit builds limits a text's length: shown with site codes limited to 3 characters in
    data/participants.csv's schema, and P004's site typed as "Site 4"."""
    set_cell(study, PARTICIPANTS, 5, "site", "Site 4")
    return _schema_changed(lambda s: _field(s, "site").setdefault("constraints", {}).update(maxLength=3))


@breaks("STR018")
def frictionless_constraint(study: Path) -> contextlib.AbstractContextManager:
    """No schema studykit builds needs frictionless today: shown with "NA" declared a missing value in
    data/participants.csv's schema (as R writes it), which studykit's engine leaves to frictionless, and
    P003's age typed as 150."""
    set_cell(study, PARTICIPANTS, 4, "age", "150")
    return _schema_changed(lambda s: s.update(missingValues=["", "NA"]))


@breaks("STR016")
def comma_in_a_value(study: Path) -> None:
    """P005's role typed in a text editor as "peer support worker, senior", a comma without quotes around
    the value, in data/participants.csv."""
    rows = text(study, PARTICIPANTS).split("\n")
    rows[5] = rows[5].replace("peer support worker", "peer support worker, senior", 1)
    write(study, PARTICIPANTS, "\n".join(rows))


@breaks("STR025")
def formula_cell(study: Path) -> None:
    """P002's role in data/participants.csv typed as "=peer support worker" (a spreadsheet would run it)."""
    set_cell(study, PARTICIPANTS, 3, "role", "=peer support worker")


@breaks("STR027")
def header_pasted_again(study: Path) -> None:
    """A new participant's row pasted into data/participants.csv from another copy of the file,
    its header row included."""
    rows = text(study, PARTICIPANTS).rstrip("\n").split("\n")
    pasted = [rows[0], "P034,peer worker,peer support worker,S2,2024-01-15,woman,44"]
    write(study, PARTICIPANTS, "\n".join([*rows, *pasted]) + "\n")
