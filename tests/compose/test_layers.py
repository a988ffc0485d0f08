"""The one seam: the compose layer reaches the runtime through its adapter only (and the
docker-like commands through the runtime's public facade), and its pure layer loads no
runtime module at all."""
import ast
import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO

COMPOSE = REPO / "compose"
ADAPTER = COMPOSE / "adapter"
ENGINE_COMMANDS = COMPOSE / "cli" / "engine"


def imported(path: Path) -> set[str]:
    """The absolute modules a file imports (anywhere in it, lazily too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def runtime_imports(path: Path) -> set[str]:
    return {name for name in imported(path) if name == "runtime" or name.startswith("runtime.")}


def test_only_the_adapter_imports_the_runtime():
    offenders = {}
    for path in sorted(COMPOSE.rglob("*.py")):
        if ADAPTER in path.parents or ENGINE_COMMANDS in path.parents:
            continue
        if found := runtime_imports(path):
            offenders[str(path.relative_to(REPO))] = sorted(found)
    assert offenders == {}


def test_the_docker_like_commands_use_the_runtime_s_facade_only():
    for path in sorted(ENGINE_COMMANDS.rglob("*.py")):
        assert runtime_imports(path) <= {"runtime.api"}, path


def test_the_pure_compose_layer_loads_no_runtime_module():
    pure = sorted(f"compose.{p.stem}" for p in COMPOSE.glob("*.py")
                  if p.stem not in ("__init__", "__main__"))
    script = ("import json, sys\n" + "".join(f"import {name}\n" for name in pure) +
              "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'runtime')))")
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                         text=True, check=True)
    assert json.loads(out.stdout) == [], pure
    assert "compose.reconcile" in pure and "compose.service" in pure
