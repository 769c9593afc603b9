"""The report's figures, drawn with matplotlib (Agg) so that the same numbers give the same bytes.

Fixed font (DejaVu Sans, shipped with matplotlib), ``svg.hashsalt`` and no dates or
software names in the metadata. Colours are from the Okabe-Ito palette (safe for colour
blindness) and never carry meaning alone: each series also has its own marker, line
style or hatch, and a legend or label names it.
"""

from __future__ import annotations

import io
from typing import Any

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINES = ("-", "--", "-.", ":")
HATCHES = ("", "//", "..", "xx", "\\\\", "++")
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "svg.hashsalt": "studykit",
    "svg.fonttype": "path",
    "path.simplify": False,
    "figure.dpi": 100,
}


def draw(figure_id: str, spec: dict[str, Any]) -> tuple[str, bytes]:
    """The figure as SVG text and PNG bytes."""
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    with mpl.rc_context(STYLE):
        figure = plt.figure(figsize=(7, 4.5))
        try:
            if spec.get("empty"):
                figure.text(0.5, 0.5, spec["empty"], ha="center", va="center")
            else:
                {"flow": _flow, "trajectories": _trajectories, "employment": _employment}[figure_id](
                    figure, spec
                )
            svg, png = io.StringIO(), io.BytesIO()
            figure.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
            figure.savefig(png, format="png", metadata={"Software": None})
        finally:
            plt.close(figure)
    return svg.getvalue(), png.getvalue()


def _flow(figure: Any, spec: dict[str, Any]) -> None:
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_axis_off()
    boxes, side = spec["boxes"], spec["side"]
    step = 1 / (len(boxes) + 1)
    for index, text in enumerate(boxes):
        y = 1 - step * (index + 0.8)
        axes.text(
            0.3, y, text, ha="center", va="center", bbox={"boxstyle": "square", "fc": "white", "ec": "black"}
        )
        if index:
            axes.annotate(
                "", xy=(0.3, y + step * 0.28), xytext=(0.3, y + step * 0.72), arrowprops={"arrowstyle": "->"}
            )
        if index and index - 1 < len(side):
            axes.text(
                0.55,
                y + step * 0.5,
                side[index - 1],
                ha="left",
                va="center",
                fontsize=8,
                wrap=True,
                bbox={"boxstyle": "square", "fc": "#f0f0f0", "ec": "#555555", "ls": "--"},
            )


def _trajectories(figure: Any, spec: dict[str, Any]) -> None:
    panels = spec["panels"]
    waves = spec["waves"]
    figure.set_size_inches(8, 2.8 * len(panels))
    for row, (instrument, cells) in enumerate(panels.items()):
        axes = figure.add_subplot(len(panels), 1, row + 1)
        constructs = list(dict.fromkeys(c["construct"] for c in cells))
        for index, construct in enumerate(constructs):
            mine = [c for c in cells if c["construct"] == construct and c["mean"] is not None]
            xs = [waves.index(c["wave"]) for c in mine]
            ys = [c["mean"] for c in mine]
            errors = [1.96 * c["sd"] / c["n"] ** 0.5 if c["sd"] else 0 for c in mine]
            axes.errorbar(
                xs,
                ys,
                yerr=errors,
                label=construct.split(".", 1)[1],
                color=OKABE_ITO[index % len(OKABE_ITO)],
                marker=MARKERS[index % len(MARKERS)],
                linestyle=LINES[index % len(LINES)],
                capsize=3,
            )
        axes.set_xticks(range(len(waves)), waves)
        axes.set_title(instrument)
        axes.set_ylabel("mean score")
        axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    figure.tight_layout()


def _employment(figure: Any, spec: dict[str, Any]) -> None:
    axes = figure.add_subplot(1, 1, 1)
    waves = spec["waves"]
    bottom = [0] * len(waves)
    for index, (contract, counts) in enumerate(spec["series"].items()):
        axes.bar(
            waves,
            counts,
            bottom=bottom,
            label=contract,
            color=OKABE_ITO[index % len(OKABE_ITO)],
            hatch=HATCHES[index % len(HATCHES)],
            edgecolor="black",
        )
        for x, (base, count) in enumerate(zip(bottom, counts, strict=True)):
            if count:
                axes.text(
                    x,
                    base + count / 2,
                    str(count),
                    ha="center",
                    va="center",
                    fontsize=8,
                    bbox={"boxstyle": "round", "fc": "white", "ec": "none", "pad": 0.1},
                )
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    axes.set_ylabel("peer workers employed in the role (n)")
    axes.set_xlabel("wave")
    axes.legend(title="contract", loc="upper right")
    figure.tight_layout()
