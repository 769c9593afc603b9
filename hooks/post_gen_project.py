"""Shape the freshly rendered study to the answers given.

Standard library only, idempotent, no network, no git: cruft re-runs this hook
on every template update, inside temporary folders. The template renders every
optional part; this hook removes what was not chosen, lays the synthetic example
over the empty data files when asked, and assembles ``datapackage.json`` from
the resource fragments that ``studykit package sync`` produces (kept in step by
the template's tests). Jinja literals appear only under ``__main__``.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

BAKE = ".bake"
EXAMPLE_STUDY_INSTRUMENTS = ("mjs", "team")
KIND = re.compile(r"^kind:\s*(.+?)\s*$", re.MULTILINE)
STRAND_KIND = {"interviews": "interview", "focus groups": "focus group", "event notes": "event notes"}


def split_list(text: str) -> list[str]:
    """Split a comma-separated answer into trimmed, lower-case items ('none' means empty)."""
    items = [part.strip().lower() for part in text.split(",") if part.strip()]
    return [] if items == ["none"] else items


def study_instruments(chosen: list[str], include_example: bool) -> list[str]:
    """Instrument ids in study.yml order: the library ones chosen, then the example's own."""
    return chosen + [i for i in EXAMPLE_STUDY_INSTRUMENTS if include_example and i not in chosen]


def apply_example(project: Path, include_example: bool) -> None:
    """Lay the synthetic example's files over the empty ones."""
    example = project / BAKE / "example"
    if include_example and example.is_dir():
        shutil.copytree(example, project, dirs_exist_ok=True)


def remove_unchosen_measures(project: Path, instruments: list[str]) -> list[Path]:
    """Delete measure files of instruments the study does not use; return what went."""
    removed = [p for p in sorted((project / "data" / "measures").glob("*.csv")) if p.stem not in instruments]
    for path in removed:
        path.unlink()
    return removed


def transcript_kind(path: Path) -> str:
    match = KIND.search(path.read_text(encoding="utf-8"))
    return match.group(1).strip("\"'").lower() if match else ""


def prune_qualitative(project: Path, strands: list[str]) -> None:
    """Remove the qualitative strand, or transcripts of kinds not chosen."""
    qualitative = project / "data" / "qualitative"
    if not strands:
        shutil.rmtree(qualitative, ignore_errors=True)
        return
    kinds = {STRAND_KIND[s] for s in strands}
    removed = set()
    for transcript in sorted((qualitative / "transcripts").glob("*.md")):
        if transcript_kind(transcript) not in kinds:
            transcript.unlink()
            removed.add(transcript.stem)
    drop_segments_of(qualitative / "segments.csv", removed)


def drop_segments_of(segments: Path, transcripts: set[str]) -> None:
    """Remove coded segments of transcripts that were pruned, so no segment points nowhere."""
    if not transcripts or not segments.is_file():
        return
    with segments.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows or "transcript" not in rows[0]:
        return
    column = rows[0].index("transcript")
    kept = [rows[0], *(row for row in rows[1:] if len(row) <= column or row[column] not in transcripts)]
    with segments.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(kept)


def resource_names(instruments: list[str], strands: list[str]) -> list[str]:
    """The data package's resources, in the order ``studykit package sync`` writes them."""
    names = ["participants", "employment", *(f"measures-{i}" for i in instruments)]
    return names + (["codebook", "segments"] if strands else [])


def assemble_datapackage(project: Path, names: list[str]) -> Path:
    """Write datapackage.json from the rendered head and the chosen resource fragments."""
    fragments = project / BAKE
    package = json.loads((fragments / "package.json").read_text(encoding="utf-8"))
    package["resources"] = [
        json.loads((fragments / "resources" / f"{name}.json").read_text(encoding="utf-8")) for name in names
    ]
    target = project / "datapackage.json"
    target.write_text(json.dumps(package, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return target


def main(project: Path, instruments_answer: str, qualitative_answer: str, include_example: bool) -> None:
    instruments = study_instruments(split_list(instruments_answer), include_example)
    strands = split_list(qualitative_answer)
    apply_example(project, include_example)
    remove_unchosen_measures(project, instruments)
    prune_qualitative(project, strands)
    if (project / BAKE).is_dir():
        assemble_datapackage(project, resource_names(instruments, strands))
        shutil.rmtree(project / BAKE)


if __name__ == "__main__":
    main(
        Path.cwd(),
        {{ cookiecutter.instruments | tojson }},
        {{ cookiecutter.qualitative | tojson }},
        {{ cookiecutter.include_example_data | tojson }} == "yes",
    )
