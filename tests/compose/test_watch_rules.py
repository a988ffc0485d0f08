"""develop.watch's `include` and `initial_sync` (compose.watch), on the fake backend."""
import dataclasses
import textwrap

from common.patterns import Ignore

from compose import service
from compose.load import LoadOptions, load_project
from compose.watch import Watcher
from tests.compose.fake_backend import FakeBackend


def test_initial_sync_copies_only_what_include_matches(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM busybox\n")
    src = tmp_path / "src"
    (src / "pkg").mkdir(parents=True)
    for name in ("app.py", "pkg/mod.py", "README.md", "pkg/data.json"):
        (src / name).write_text(name)
    (tmp_path / "compose.yaml").write_text(textwrap.dedent("""
        services:
          web:
            build: .
            develop:
              watch:
                - {path: ./src, action: sync, target: /app, include: ["**/*.py"],
                   initial_sync: true}
                - {path: ./src, action: sync, target: /all}
    """))
    project = load_project(LoadOptions(cwd=str(tmp_path), project_name="demo", environ={}))
    fake = FakeBackend()
    service.up(project, fake)
    synced = []
    fake.sync_files = lambda cid, changes: synced.append(sorted(t for _, t in changes)) or True
    said = []
    Watcher(project, fake, ["web"], said.append, lambda name: None).initial()
    assert synced == [["/app/app.py", "/app/pkg/mod.py"]]  # the second rule has no initial_sync
    assert said == ["Synced 2 files into service 'web' (initial sync)"]
    synced.clear()
    watcher = Watcher(project, fake, ["web"], said.append, lambda name: None)
    top_only = dataclasses.replace(watcher.triggers[0], include=Ignore(["*.py"]))
    watcher.full_sync(top_only, watcher.containers("web"))  # .dockerignore's: the top only
    assert synced == [["/app/app.py"]]
