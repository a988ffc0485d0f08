"""Paths and helpers shared by the tests."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"
OFFICIAL_SCHEMA = SHARED / "reference" / "compose-spec.json"


def run_berth(*args: str, cwd: str | os.PathLike | None = None, env: dict | None = None,
              input: str | None = None, check: bool = False, timeout: float = 120
              ) -> subprocess.CompletedProcess:
    """Run the real `berth` command line in a subprocess."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env["PYTHONPATH"] = str(REPO) + os.pathsep + full_env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-m", "compose", *args], cwd=cwd, env=full_env,
                          input=input, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"berth {' '.join(args)} failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc
