"""The project cache: JSON entries that round-trip the model, used only while valid."""
import json
import os

from compose import cache, modeljson
from compose.load import LoadOptions, load_project
from compose.model import Project
from tests.helpers import CORPUS


def test_every_corpus_project_round_trips_through_json():
    checked = 0
    for path in sorted(CORPUS.rglob("*.y*ml")):
        try:
            project = load_project(LoadOptions(cwd=str(path.parent), files=(str(path),),
                                               environ={"HOME": "/root"}))
        except Exception:  # noqa: BLE001 - files compose rejects: test_corpus checks them
            continue
        data = json.loads(json.dumps(modeljson.encode(project)))
        assert modeljson.decode(Project, data) == project, path
        checked += 1
    assert checked > 150


def test_an_unchanged_project_comes_from_the_cache_and_a_change_is_seen(tmp_path):
    (tmp_path / "compose.yaml").write_text("services: {web: {image: nginx, command: a}}\n")
    opts = LoadOptions(cwd=str(tmp_path), environ={})
    first = cache.load(opts, tmp_path / "cache")
    entries = list((tmp_path / "cache").iterdir())
    assert [e.suffix for e in entries] == [".json"]
    assert oct(entries[0].stat().st_mode & 0o777) == "0o600"
    assert cache.load(opts, tmp_path / "cache") == first
    (tmp_path / "compose.yaml").write_text("services: {web: {image: nginx, command: b}}\n")
    assert cache.load(opts, tmp_path / "cache").services["web"].command == ("b",)
    os.chmod(tmp_path / "cache", 0o777)  # others may write: not used, not written
    (tmp_path / "compose.yaml").write_text("services: {web: {image: nginx, command: c}}\n")
    before = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert cache.load(opts, tmp_path / "cache").services["web"].command == ("c",)
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == before
