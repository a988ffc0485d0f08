"""The images a cluster runs: built by berth, pushed to --registry, run by digest; and
what berth reads of images present here (EXPOSE). Through the fake backend."""
import textwrap

import pytest

from compose.errors import ComposeError
from compose.events import Step
from compose.kube.images import exposed, images
from compose.load import LoadOptions, load_project
from tests.compose.fake_backend import FakeBackend


def _project(tmp_path):
    (tmp_path / "compose.yaml").write_text(textwrap.dedent("""
        name: shop
        services:
          Web_App: {build: ., ports: ["80"]}
          db: {image: postgres:16}
    """))
    return load_project(LoadOptions(cwd=str(tmp_path), environ={}))


def test_build_services_are_built_pushed_and_run_by_digest(tmp_path):
    backend = FakeBackend()
    events = []
    refs = images(_project(tmp_path), backend, "registry.example:5000/team", events.append)
    target = "registry.example:5000/team/shop-web-app:latest"
    digest = backend.images[target]
    assert refs == {"Web_App": f"registry.example:5000/team/shop-web-app@{digest}",
                    "db": "postgres:16"}
    assert backend.calls == ["build shop-Web_App", f"push {target}"]
    assert Step("Image", target, "Pushed", "done") in events


def test_a_build_without_registry_is_an_error_before_anything_is_built(tmp_path):
    backend = FakeBackend()
    with pytest.raises(ComposeError, match="service 'Web_App' is built from source: give "
                                           "--registry REG"):
        images(_project(tmp_path), backend, None)
    assert backend.calls == []


def test_exposed_ports_of_images_present_here(tmp_path):
    backend = FakeBackend().has_image("postgres:16")
    backend.exposed["postgres:16"] = ("5432/tcp",)
    assert exposed(_project(tmp_path), backend) == {"db": ("5432/tcp",)}
