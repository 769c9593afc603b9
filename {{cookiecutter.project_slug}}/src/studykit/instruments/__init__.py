"""Instrument definitions: the shipped library and a study's own.

``load_instruments(study)`` returns the instruments ``study.yml`` names, each
found first in the study's ``instruments/`` folder, then in the library.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from studykit.errors import InstrumentDefinitionError
from studykit.instruments.model import Instrument, Item, Norm, Response, Score, load_definition
from studykit.study import Study

LIBRARY = Path(__file__).parent / "library"

__all__ = [
    "LIBRARY",
    "Instrument",
    "Item",
    "Listed",
    "Norm",
    "Response",
    "Score",
    "catalogue",
    "library_ids",
    "listing",
    "load_definition",
    "load_instrument",
    "load_instruments",
    "load_library_instrument",
]


def library_ids() -> list[str]:
    """Ids of the instruments shipped with studykit."""
    return sorted(p.stem for p in LIBRARY.glob("*.yml"))


@cache
def load_library_instrument(instrument_id: str) -> Instrument:
    return load_definition(LIBRARY / f"{instrument_id}.yml", source="library")


def load_instrument(study: Study, instrument_id: str) -> Instrument:
    """One instrument: the study's own definition if it has one, else the library's."""
    own = study.instruments_dir / f"{instrument_id}.yml"
    if own.is_file():
        return load_definition(own, source="study")
    if (LIBRARY / f"{instrument_id}.yml").is_file():
        return load_library_instrument(instrument_id)
    msg = f"names instrument {instrument_id!r}, which is neither in instruments/ nor in the library"
    raise InstrumentDefinitionError(
        msg,
        path=study.study_file,
        key="instruments",
        fix=f"Add instruments/{instrument_id}.yml, or use one of: {', '.join(library_ids())}.",
    )


def load_instruments(study: Study) -> list[Instrument]:
    """Every instrument study.yml names, in its order."""
    return [load_instrument(study, i) for i in study.instruments]


def catalogue(study: Study | None = None) -> list[Instrument]:
    """The library's instruments, then the study's own definitions (which take precedence by id)."""
    own = {}
    if study is not None and study.instruments_dir.is_dir():
        own = {
            p.stem: load_definition(p, source="study") for p in sorted(study.instruments_dir.glob("*.yml"))
        }
    library = [load_library_instrument(i) for i in library_ids() if i not in own]
    return library + list(own.values())


@dataclass(frozen=True)
class Listed:
    """One line of ``studykit instruments``: a definition, and whether study.yml uses it."""

    instrument: Instrument
    in_study: bool

    def to_dict(self) -> dict[str, object]:
        i = self.instrument
        return {
            "id": i.id,
            "name": i.name,
            "items": len(i.items),
            "scores": [s.id for s in i.scores],
            "source": i.source,
            "item_text": any(item.text for item in i.items),
            "in_study": self.in_study,
        }


def listing(study: Study | None = None) -> list[Listed]:
    """The catalogue, each definition marked as used by ``study`` or not."""
    used = set(study.instruments) if study is not None else set()
    return [Listed(i, i.id in used) for i in catalogue(study)]
