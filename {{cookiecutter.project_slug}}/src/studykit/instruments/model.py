"""The instrument definition format: the one source of truth for a measure.

A definition (YAML) gives the items and their response range, how scores are
computed, the norms the report compares against, and the licence terms that
decide whether item text may be shipped. Schemas, scoring, codebooks and norms
are all derived from it. ``load_definition`` turns a bad file into one
``InstrumentDefinitionError`` naming the file and key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from studykit._yaml import load_yaml, read_yaml_text, yaml_fix
from studykit.errors import InstrumentDefinitionError
from studykit.files import LINK_OUTSIDE_FIX, leads_out_of_study, link_outside_sentence

ItemId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Response(_Model):
    """The codes a respondent may give, their labels, and the value each code scores."""

    min: int
    max: int
    labels: dict[int, str] = {}
    values: dict[int, float] = {}

    @model_validator(mode="after")
    def _consistent(self) -> Response:
        if self.min >= self.max:
            msg = f"response min ({self.min}) must be below max ({self.max})"
            raise ValueError(msg)
        for name, mapping in (("labels", self.labels), ("values", self.values)):
            outside = [code for code in mapping if not self.min <= code <= self.max]
            if outside:
                msg = f"response {name} has codes {outside} outside {self.min} to {self.max}"
                raise ValueError(msg)
        if self.values and set(self.values) != set(range(self.min, self.max + 1)):
            msg = f"response values must give a value for every code from {self.min} to {self.max}"
            raise ValueError(msg)
        return self

    def value(self, code: int, *, reverse: bool = False) -> float:
        """The scored value of a response code, reversing it first when asked."""
        if reverse:
            code = self.min + self.max - code
        return self.values.get(code, float(code))


class Item(_Model):
    id: ItemId
    label: str = ""
    text: str | None = None
    reverse: bool = False
    response: Response | None = None


class Band(_Model):
    """A labelled interval of a score (e.g. PHQ-9 severity), inclusive at both ends."""

    label: str
    min: float
    max: float


class Score(_Model):
    """How one score is computed from items."""

    id: ItemId
    name: str
    items: list[ItemId]
    method: Literal["sum", "mean", "conversion"]
    range: tuple[float, float]
    min_items: int | None = Field(None, ge=1)
    prorate: bool = False
    conversion: dict[int, float] = {}
    decimals: int = Field(2, ge=0)
    bands: list[Band] = []
    note: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Score:
        if self.method == "conversion" and not self.conversion:
            msg = f"score {self.id!r} uses method 'conversion' but gives no conversion table"
            raise ValueError(msg)
        if self.min_items is not None and self.min_items > len(self.items):
            msg = f"score {self.id!r} needs {self.min_items} items but lists {len(self.items)}"
            raise ValueError(msg)
        if self.method != "mean" and self.required_items < len(self.items) and not self.prorate:
            # A raw sum of fewer items sits on the full range next to complete sums (15 beside 20s).
            msg = (
                f"score {self.id!r} adds its items ({self.method}) but may be computed from "
                f"{self.required_items} of its {len(self.items)} items without prorating, so a partial "
                f"sum would look like a low score; set prorate: true, or remove min_items so that every "
                f"item is required"
            )
            raise ValueError(msg)
        if self.range[0] > self.range[1]:
            msg = f"score {self.id!r} range {self.range} is reversed"
            raise ValueError(msg)
        outside = [v for v in self.conversion.values() if not self.range[0] <= v <= self.range[1]]
        if outside:
            msg = f"score {self.id!r} conversion gives values {outside} outside its range {self.range}"
            raise ValueError(msg)
        for band in self.bands:
            if band.min > band.max or band.min < self.range[0] or band.max > self.range[1]:
                msg = f"score {self.id!r} band {band.label!r} ({band.min:g} to {band.max:g}) is out of range"
                raise ValueError(msg)
        return self

    @property
    def required_items(self) -> int:
        """Items that must be answered for a score (all, unless ``min_items`` says fewer)."""
        return self.min_items or len(self.items)


class Norm(_Model):
    score: ItemId
    population: str
    mean: float
    sd: float = Field(gt=0)
    n: int | None = None
    source: str
    unit: Literal["sum", "item mean", "score"] = "score"
    verified: bool = False
    note: str = ""


class Licence(_Model):
    item_text_allowed: bool
    note: str


class Instrument(_Model):
    id: ItemId
    name: str
    version: str
    # `construct` in YAML; BaseModel already has a `construct` method, hence the alias.
    construct_name: str = Field(alias="construct")
    citation: str
    licence: Licence
    response: Response
    items: Annotated[list[Item], Field(min_length=1)]
    scores: Annotated[list[Score], Field(min_length=1)]
    norms: list[Norm] = []
    notes: list[str] = []
    source: Literal["library", "study"] = "library"

    @model_validator(mode="after")
    def _consistent(self) -> Instrument:
        ids = [i.id for i in self.items]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            msg = f"item ids repeat: {dupes}"
            raise ValueError(msg)
        reserved = {"participant_id", "wave", "completed_on"}
        clash = sorted(reserved & (set(ids) | {s.id for s in self.scores}))
        if clash:
            msg = f"ids {clash} are reserved column names"
            raise ValueError(msg)
        for score in self.scores:
            unknown = [i for i in score.items if i not in ids]
            if unknown:
                msg = f"score {score.id!r} names unknown items {unknown}"
                raise ValueError(msg)
        for score in self.scores:
            if score.method == "conversion":
                lo, hi = self.raw_range(score)
                missing = [raw for raw in range(int(lo), int(hi) + 1) if raw not in score.conversion]
                if missing:
                    msg = f"score {score.id!r} conversion table lacks raw sums {missing} ({lo:g} to {hi:g})"
                    raise ValueError(msg)
        scores = {s.id for s in self.scores}
        for norm in self.norms:
            if norm.score not in scores:
                msg = f"norm for {norm.population!r} refers to unknown score {norm.score!r}"
                raise ValueError(msg)
        if not self.licence.item_text_allowed and any(i.text for i in self.items):
            msg = "items carry text but licence.item_text_allowed is false: remove the text"
            raise ValueError(msg)
        return self

    def item(self, item_id: str) -> Item:
        return next(i for i in self.items if i.id == item_id)

    def response_for(self, item: Item) -> Response:
        return item.response or self.response

    def score(self, score_id: str) -> Score:
        return next(s for s in self.scores if s.id == score_id)

    def raw_range(self, score: Score) -> tuple[float, float]:
        """Lowest and highest possible sum of a score's scored item values."""
        values = [self._item_values(self.item(i)) for i in score.items]
        return sum(min(v) for v in values), sum(max(v) for v in values)

    def _item_values(self, item: Item) -> list[float]:
        response = self.response_for(item)
        return [response.value(code) for code in range(response.min, response.max + 1)]

    @property
    def item_ids(self) -> list[str]:
        return [i.id for i in self.items]


def parse_definition(data: object, path: Path, source: Literal["library", "study"]) -> Instrument:
    """Validate parsed YAML into an Instrument, naming the file and key on failure."""
    if not isinstance(data, dict):
        msg = "is not a mapping of keys to values"
        raise InstrumentDefinitionError(msg, path=path)
    try:
        return Instrument.model_validate({**data, "source": source})
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "(top level)"
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        msg = f"is not a valid instrument definition ({detail})"
        raise InstrumentDefinitionError(
            msg,
            path=path,
            key=key,
            fix="See docs/instruments.md for the format.",
        ) from exc


def load_definition(path: Path, source: Literal["library", "study"] = "study") -> Instrument:
    """Read one definition file."""
    if source == "study" and (target := leads_out_of_study(path)) is not None:
        raise InstrumentDefinitionError(link_outside_sentence(target), path=path, fix=LINK_OUTSIDE_FIX)
    try:
        data = load_yaml(read_yaml_text(path))
    except OSError as exc:
        msg = f"cannot be read ({exc.strerror})"
        raise InstrumentDefinitionError(msg, path=path) from exc
    except yaml.YAMLError as exc:
        msg = f"is not valid YAML ({exc})"
        raise InstrumentDefinitionError(msg, path=path, fix=yaml_fix(exc)) from exc
    instrument = parse_definition(data, path, source)
    if instrument.id != path.stem:
        msg = f"declares id {instrument.id!r} but the file is named {path.name!r}"
        raise InstrumentDefinitionError(
            msg,
            path=path,
            key="id",
            fix=f"Rename the file to {instrument.id}.yml or change the id.",
        )
    return instrument
