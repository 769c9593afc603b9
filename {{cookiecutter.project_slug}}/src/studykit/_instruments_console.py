"""Rich renderables for the instrument commands. Builds things to show; never prints."""

from __future__ import annotations

from rich.table import Table

from studykit.instruments import Instrument
from studykit.study import Study


def instruments_table(instruments: list[Instrument], study: Study | None) -> Table:
    """The library and the study's own definitions, marking those study.yml uses."""
    table = Table(title="Instruments", title_justify="left")
    # Ids are what users type: never wrap or truncate them.
    table.add_column("id", no_wrap=True, min_width=max((len(i.id) for i in instruments), default=2))
    for column in ("name", "items", "scores", "source", "item text", "in study.yml"):
        table.add_column(column)
    used = set(study.instruments) if study is not None else set()
    for instrument in instruments:
        table.add_row(
            instrument.id,
            instrument.name,
            str(len(instrument.items)),
            ", ".join(s.id for s in instrument.scores),
            instrument.source,
            "shipped" if any(i.text for i in instrument.items) else "not shipped",
            "yes" if instrument.id in used else "",
            end_section=False,
        )
    return table
