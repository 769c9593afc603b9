"""The W3C Nu HTML Checker (vnu.jar), run on pages studykit writes: what it calls an error.

Needs Java and vnu.jar, which ``.ci/run`` installs when missing (``apt-get install
default-jre-headless``; ``npm install --ignore-scripts --prefix .ci/node vnu-jar``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest

from tests.conftest import TEMPLATE

VNU = Path(os.environ.get("STUDYKIT_VNU", TEMPLATE / ".ci/node/node_modules/vnu-jar/build/dist/vnu.jar"))


def nu_errors(pages: Iterable[Path]) -> list[str]:
    """Each error the checker finds in ``pages`` (file name, line and message); warnings are not errors."""
    java = shutil.which("java")
    if java is None or not VNU.is_file():
        pytest.fail("the Nu HTML Checker needs Java and vnu.jar: run .ci/run, or `apt-get install "
                    "default-jre-headless` and `npm install --ignore-scripts --prefix .ci/node vnu-jar`, "
                    "or set STUDYKIT_VNU to vnu.jar")  # fmt: skip
    checked = [str(p) for p in pages]
    assert checked, "no pages to check"
    done = subprocess.run([java, "-jar", str(VNU), "--format", "json", "--exit-zero-always", *checked],
                          capture_output=True, text=True, check=True, timeout=300)  # fmt: skip
    messages = json.loads(done.stderr)["messages"]
    return [f"{Path(m.get('url', '')).name}:{m.get('lastLine')}: {m['message']}"
            for m in messages if m["type"] == "error" or m.get("subType") == "fatal"]  # fmt: skip
