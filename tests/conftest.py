"""Fixtures shared by the template's tests: baking a study from this template."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[1]
PACKAGE_SRC = TEMPLATE / "{{cookiecutter.project_slug}}" / "src"
SHARED = TEMPLATE.parent / "shared"


def bake(output_dir: Path, **answers: str) -> Path:
    """Bake the template non-interactively with some answers changed; return the study folder."""
    return Path(
        cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(output_dir), extra_context=answers)
    )


def run_in_study(study: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m <args>`` inside a baked study, importing that study's own studykit."""
    env = {**os.environ, "PYTHONPATH": str(study / "src")}
    return subprocess.run(
        [sys.executable, *args], cwd=study, env=env, capture_output=True, text=True, check=False, timeout=600
    )


@pytest.fixture
def baker(tmp_path: Path):
    """A function that bakes into a fresh temporary folder."""
    return lambda **answers: bake(tmp_path, **answers)
