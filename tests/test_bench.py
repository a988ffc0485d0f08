"""The benchmarks run: a short smoke run of bench/up_down.py on every CI run (figures
printed with -s; no timing is asserted, a loaded machine must not fail the suite)."""
import subprocess
import sys

import pytest

from tests.helpers import REPO

pytestmark = pytest.mark.privileged


def test_up_down_bench_runs_and_prints_its_figures():
    done = subprocess.run([sys.executable, str(REPO / "bench" / "up_down.py"), "--rounds", "1",
                           "--sizes", "3"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    print(done.stdout)
    figures = {}
    for line in done.stdout.splitlines()[1:]:
        label, _, rest = line.partition("(ms)")
        if rest:
            figures[label.strip()] = float(rest.split()[0])
    assert set(figures) >= {"up -d, 3 services", "up -d, 3 services, no project cache",
                            "down -t 0, 3 services"}, done.stdout
    assert all(value > 0 for value in figures.values())
