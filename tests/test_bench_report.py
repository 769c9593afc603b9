"""The report case of the benchmark: `studykit results` on the example and on it grown 100 times.

Speed is judged by ``nox -s bench -- --report`` (under 10 s for the grown example); here the
case must run end to end on both studies and print both times, whatever the machine's load.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_bench_report_runs_results_on_the_example_and_on_it_grown():
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--report"],
        capture_output=True, text=True, check=False, timeout=900,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    rows = {
        m[0]: m[1]
        for m in re.findall(r"^(example(?: grown 100 times)?)\s+([\d,]+)\s+\d+\.\d+ s", result.stdout, re.M)
    }
    assert rows == {"example": "43", "example grown 100 times": "4,300"}, result.stdout
    assert ("Target met" in result.stdout) == (result.returncode == 0)
