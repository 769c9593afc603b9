"""Regenerate the template files that studykit itself produces: ``nox -s fragments``.

A bake cannot run studykit (hooks have only cookiecutter's Python), so the template
carries what ``studykit package sync`` would write, cut into pieces the post-gen
hook assembles: one JSON fragment per data package resource under
``.bake/resources/``, and a header-only CSV per library instrument under
``data/measures/``. ``tests/package/test_package.py`` fails when the committed
files differ from ``fragments()``. It first writes the synthetic example study
(made by the template's ``example/`` generator, which no study carries) under
``.bake/example/``, since the fragments read the example's instruments;
``tests/test_example.py`` fails when that copy differs from a fresh generation.
Last it writes ``src/studykit/_manifest.sha256``, the checksums ``studykit doctor``
compares the vendored package with (``tests/package/test_doctor.py`` fails on drift).

Run from the template root with the package importable:
``PYTHONPATH="{{cookiecutter.project_slug}}/src" python -m tests.regenerate``.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from studykit.doctor import MANIFEST, build_manifest
from studykit.instruments import library_ids, load_library_instrument
from studykit.instruments.model import Instrument, load_definition
from studykit.package import (
    codebook_resource,
    dumps,
    employment_resource,
    header_row,
    measures_resource,
    participants_resource,
    segments_resource,
)
from studykit.study import Study

TEMPLATE = Path(__file__).resolve().parents[1]
STUDY = TEMPLATE / "{{cookiecutter.project_slug}}"
RESOURCES = STUDY / ".bake" / "resources"
EXAMPLE = STUDY / ".bake" / "example"
PACKAGE = STUDY / "src" / "studykit"

# Resources do not depend on the answers, only on the layout and the definitions, so a
# placeholder study rooted at the template's study folder gives every path.
PLACEHOLDER = {
    "title": "Template placeholder",
    "slug": "template-placeholder",
    "principal_investigator": "Template",
    "institution": "Template",
    "contact_email": "template@example.org",
    "licences": {"data": "CC-BY-4.0", "code": "MIT"},
    "waves": [{"id": "T1", "label": "placeholder", "offset_months": 0}],
    "archive": {"target": "Zenodo"},
}


def placeholder_study() -> Study:
    return Study.model_validate({**PLACEHOLDER, "root": STUDY})


def measures_header(instrument: Instrument) -> str:
    """The header-only CSV a study starts with (as `package sync` creates it): keys, date, items."""
    return header_row(measures_resource(placeholder_study(), instrument))


def example_instruments() -> list[Instrument]:
    """Study-defined instruments the synthetic example brings (instruments/*.yml)."""
    return [load_definition(p, source="study") for p in sorted((EXAMPLE / "instruments").glob("*.yml"))]


def _header(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [name.strip() for name in next(csv.reader(handle), [])]


def _example_scores(instrument: Instrument) -> list[str]:
    path = EXAMPLE / "data" / "measures" / f"{instrument.id}.csv"
    header = _header(path) if path.is_file() else []
    return [s.id for s in instrument.scores if s.id in header]


def _check_example_library_headers() -> None:
    # A library fragment serves studies with and without the example, so the example's
    # CSV for a library instrument must keep the plain header (no stored score columns).
    for path in sorted((EXAMPLE / "data" / "measures").glob("*.csv")):
        if path.stem in library_ids():
            expected = measures_header(load_library_instrument(path.stem)).strip().split(",")
            if _header(path) != expected:
                msg = (
                    f"{path.relative_to(TEMPLATE)}: header differs from the library's {path.stem} header "
                    f"({','.join(expected)}); the example must not add columns to a library instrument"
                )
                raise SystemExit(msg)


def fragments() -> dict[str, str]:
    """Every generated template file: path relative to the template root -> text."""
    study = placeholder_study()
    resources = [participants_resource(study), employment_resource(study)]
    files: dict[str, str] = {}
    for instrument_id in library_ids():
        instrument = load_library_instrument(instrument_id)
        resources.append(measures_resource(study, instrument))
        csv_path = study.measures_path(instrument_id).relative_to(TEMPLATE).as_posix()
        files[csv_path] = measures_header(instrument)
    resources += [measures_resource(study, i, _example_scores(i)) for i in example_instruments()]
    resources += [codebook_resource(study), segments_resource(study)]
    for resource in resources:
        files[(RESOURCES / f"{resource['name']}.json").relative_to(TEMPLATE).as_posix()] = dumps(resource)
    return dict(sorted(files.items()))


def example_files() -> dict[str, str]:
    """The synthetic example study under .bake/example/ (example/generate.py): path -> text."""
    from example.generate import example_files as generate

    prefix = EXAMPLE.relative_to(TEMPLATE).as_posix()
    return {f"{prefix}/{relative}": text for relative, text in generate().items()}


def sync_files(files: dict[str, str], existing: list[Path], *, newline: str | None = None) -> None:
    """Make the template hold exactly ``files``: remove stale ones, write changed ones."""
    for stale in sorted(existing):
        if stale.relative_to(TEMPLATE).as_posix() not in files:
            stale.unlink()
            print(f"removed {stale.relative_to(TEMPLATE)}")
    for relative, text in files.items():
        path = TEMPLATE / relative
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline=newline)
            print(f"wrote {relative}")


def write_example() -> None:
    """Write .bake/example/ afresh (first: the fragments read its instruments and headers)."""
    sync_files(example_files(), [p for p in EXAMPLE.rglob("*") if p.is_file()], newline="")


def manifest_files() -> dict[str, str]:
    """The vendored package's checksum manifest (written last: it covers every package file)."""
    return {(PACKAGE / MANIFEST).relative_to(TEMPLATE).as_posix(): build_manifest(PACKAGE)}


def main() -> int:
    write_example()
    _check_example_library_headers()
    files = fragments()
    sync_files(files, list(RESOURCES.glob("*.json")))
    manifest = manifest_files()
    sync_files(manifest, [], newline="")
    print(f"{len(files) + len(manifest)} generated files are up to date.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
