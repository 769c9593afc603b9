"""The library's notes say where each unverified fact comes from (here: MBI-HSS cut-offs)."""

from __future__ import annotations

import re

from studykit.instruments import load_library_instrument

CUT_OFF = re.compile(r"(?:at most|at least) \d+|\b\d+-\d+\b|\b\d+ or more")


def test_every_mbi_cut_off_names_its_edition_and_is_marked_unverified():
    mbi = load_library_instrument("mbi_hss")
    checked = 0
    for score in mbi.scores:
        for match in CUT_OFF.finditer(score.note):
            rest = score.note[match.end():]
            mark = rest.find("UNVERIFIED")
            assert mark >= 0, f"{score.id}: {match.group()} is not marked UNVERIFIED"
            assert "edition" in rest[:mark], f"{score.id}: {match.group()} names no edition"
            checked += 1
        for band in score.bands:  # a band in use is stated in the note, with its source
            assert f"{band.min:g}" in score.note, (score.id, band.label)
    assert checked >= 7, "EE bands, DP low and high in two sources, PA in two sources"
