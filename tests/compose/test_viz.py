"""`alpha viz` (compose.viz): the dependency graph as text and as Graphviz dot."""
import textwrap

from compose.load import LoadOptions, load_project
from compose.viz import VizOptions, dot, text


def project(tmp_path):
    (tmp_path / "compose.yaml").write_text(textwrap.dedent("""
        services:
          web:
            image: nginx
            ports: ["127.0.0.1:8080:80"]
            depends_on: {api: {condition: service_healthy}}
          api: {build: ., depends_on: {db: {condition: service_started, required: false}}}
          db: {image: postgres, networks: [back]}
        networks: {back: {}}
    """))
    return load_project(LoadOptions(cwd=str(tmp_path), project_name="shop", environ={}))


def test_text_is_the_start_levels_with_what_each_waits_for(tmp_path):
    assert text(project(tmp_path)) == (
        "shop\nlevel 1:\n  db\nlevel 2:\n  api <- db (started, optional)\n"
        "level 3:\n  web <- api (healthy)\n")
    assert "    image: shop-api\n" in text(project(tmp_path), VizOptions(image=True))


def test_dot_as_docker_compose_draws_it(tmp_path):
    out = dot(project(tmp_path), VizOptions(networks=True, ports=True, image=True,
                                            indentation="  "))
    lines = out.splitlines()
    assert lines[:2] == ['digraph "shop" {', "  layout=dot;"] and lines[-1] == "}"
    assert '  "web" -> "api";' in lines and '  "api" -> "db";' in lines
    web = next(line for line in lines if line.startswith('  "web" ['))
    assert "<b>Ports:</b><br/>127.0.0.1:8080:80 (tcp, ingress)" in web
    assert "<b>Image:</b><br/>nginx" in web
    db = next(line for line in lines if line.startswith('  "db" ['))
    assert "<b>Networks:</b><br/>back" in db
    nodes = [line for line in lines if "[style=" in line]
    assert len(nodes) == 3 and all(n.count("<") == n.count(">") for n in nodes)  # HTML labels
