"""Survey platforms: REDCap and Qualtrics built from the instrument definitions, and their exports merged in.

``write_dictionary(study, "redcap" | "qualtrics", output)`` writes what the platform imports
(for REDCap in a longitudinal study also the events and the instrument-event mapping, beside
the dictionary). ``import_export(study, path, platform, ...)`` reads an export and merges it
into ``data/measures/`` (``merge``), returning the summary.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from studykit.files import product_target, refuse_study_owned, write_files
from studykit.instruments import load_instruments
from studykit.study import Study
from studykit.survey.merge import SurveyImport, merge

__all__ = ["DictionaryWritten", "SurveyImport", "import_export", "write_dictionary"]

Platform = Literal["redcap", "qualtrics"]


@dataclass(frozen=True)
class DictionaryWritten:
    """The files ``studykit survey dictionary`` wrote, and what to do with each."""

    platform: str
    files: dict[str, str]
    instruments: list[str]
    notes: list[str]

    def to_dict(self) -> dict[str, object]:
        return {
            "platform": self.platform,
            "files": self.files,
            "instruments": self.instruments,
            "notes": self.notes,
        }


def _instruments(study: Study) -> list:
    instruments = load_instruments(study)
    if not instruments:
        from studykit.errors import StudyConfigError

        msg = "names no instruments, so there is no survey to build"
        raise StudyConfigError(
            msg, path=study.study_file, key="instruments", fix="List the instruments first."
        )
    return instruments


def write_dictionary(study: Study, platform: Platform, output: Path) -> DictionaryWritten:
    """Write the platform's import file(s) for the study's instruments."""
    from studykit.survey import qualtrics, redcap

    instruments = _instruments(study)
    unlicensed = [
        i.id for i in instruments if not i.licence.item_text_allowed or any(not it.text for it in i.items)
    ]
    notes = []
    if unlicensed:
        notes.append(
            f"Item wording is not shipped for {', '.join(unlicensed)}: paste the licensed wording where the "
            "labels say so."
        )
    files: dict[Path, str] = {}
    if platform == "redcap":
        files[output] = redcap.dictionary_csv(instruments)
        uses = {str(output): "Project Setup > Data Dictionary (upload)"}
        if len(study.waves) > 1:
            events = output.with_name(f"{output.stem}-events.csv")
            mapping = output.with_name(f"{output.stem}-instrument-events.csv")
            files[events] = redcap.events_csv(study)
            files[mapping] = redcap.mapping_csv(study, instruments)
            uses[str(events)] = "Define My Events (upload events)"
            uses[str(mapping)] = "Designate Instruments for My Events (upload)"
    else:
        files[output] = qualtrics.survey_txt(instruments)
        uses = {str(output): "Survey > Tools > Import/Export > Import survey"}
        notes.append(
            "Check each matrix question's recode values against the codes after import (unverified)."
        )
    example = "-o redcap-dictionary.csv"
    product_target(study, output, product="a survey dictionary", example=example)
    refuse_study_owned(study, files, product="a survey dictionary", example=example)
    write_files(files)
    return DictionaryWritten(platform, uses, [i.id for i in instruments], notes)


def import_export(
    study: Study,
    path: Path,
    platform: Platform,
    *,
    replace: bool = False,
    dry_run: bool = False,
    wave_column: str | None = None,
    wave: str | None = None,
    id_column: str | None = None,
    dictionary: Path | None = None,
    by: str | None = None,
) -> SurveyImport:
    """Read an export and merge it into the measure tables (``dry_run`` writes nothing)."""
    from studykit.errors import StudykitError
    from studykit.survey import qualtrics, redcap

    instruments = _instruments(study)
    if platform == "redcap":
        if wave is not None or id_column is not None:
            msg = "--wave and --id-column are for Qualtrics exports"
            raise StudykitError(msg, fix="REDCap exports name the record (record_id) and the event.")
        parsed = redcap.read_export(study, path, instruments, wave_column=wave_column, dictionary=dictionary)
    else:
        parsed = qualtrics.read_export(
            study, path, instruments, id_column=id_column, wave_column=wave_column, wave=wave
        )
    return merge(study, instruments, parsed, replace=replace, dry_run=dry_run, by=by)
