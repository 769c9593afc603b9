"""The study.yml the package tests start from; each test module changes only what it is about.

Everything here is invented for tests; no name refers to a real person or organisation.
"""

from __future__ import annotations

BASE = {
    "title": "Synthetic test study",
    "slug": "test-study",
    "synthetic": True,
    "principal_investigator": "Study Team",
    "institution": "Test Institution",
    "contact_email": "team@example.org",
    "licences": {"data": "CC-BY-4.0", "code": "MIT"},
    "waves": [
        {"id": "T1", "label": "after training", "offset_months": 0},
        {"id": "T2", "label": "4 months", "offset_months": 4},
    ],
    "instruments": ["wemwbs"],
    "strands": {"qualitative": ["interviews"]},
    "archive": {"target": "UK Data Service"},
}


def design(**overrides: object) -> dict:
    """The base design with some keys replaced."""
    return {**BASE, **overrides}
