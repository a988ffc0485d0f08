"""`berth config` through the real command line."""
import json
import textwrap

COMPOSE = textwrap.dedent("""
    services:
      web:
        image: nginx:${TAG:-latest}
        ports: ["8080:80"]
        depends_on: [db]
      db:
        build: ./db
        profiles: [storage]
    volumes:
      data:
""")


def test_config_yaml_and_json(tmp_path, berth):
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    out = berth("--profile", "storage", "config", cwd=tmp_path, env={"TAG": "1.25"}, check=True)
    assert "image: nginx:1.25" in out.stdout and f"name: {tmp_path.name.lower()}" in out.stdout
    tree = json.loads(berth("--profile", "storage", "config", "--format", "json",
                            cwd=tmp_path, check=True).stdout)
    assert tree["services"]["db"]["build"]["context"] == str(tmp_path / "db")


def test_config_listings(tmp_path, berth):
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    args = ("-p", "demo", "--profile", "storage", "config")
    assert berth(*args, "--services", cwd=tmp_path).stdout.split() == ["web", "db"]
    assert berth(*args, "--volumes", cwd=tmp_path).stdout.split() == ["data"]
    assert berth(*args, "--profiles", cwd=tmp_path).stdout.split() == ["storage"]
    assert berth(*args, "--images", cwd=tmp_path).stdout.split() == ["nginx:latest", "demo-db"]
    quiet = berth(*args, "-q", cwd=tmp_path)
    assert quiet.returncode == 0 and quiet.stdout == ""


def test_bad_input_is_one_line_exit_1_no_traceback(tmp_path, berth):
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: x\n    prots: []\n")
    out = berth("config", cwd=tmp_path)
    assert out.returncode == 1
    assert out.stderr.strip() == (f"berth: {tmp_path}/compose.yaml:4:5: services.web.prots: "
                                  "unknown key 'prots'")
    assert "Traceback" not in out.stderr


def test_stdin_and_multiple_files(tmp_path, berth):
    (tmp_path / "a.yaml").write_text("services: {web: {image: a, environment: [X=1]}}\n")
    (tmp_path / "b.yaml").write_text("services: {web: {environment: [Y=2]}}\n")
    out = berth("-f", "a.yaml", "-f", "b.yaml", "config", "--format", "json", cwd=tmp_path,
                check=True)
    assert json.loads(out.stdout)["services"]["web"]["environment"] == {"X": "1", "Y": "2"}
    out = berth("-f", "-", "-p", "piped", "config", "--services", cwd=tmp_path,
                input="services: {one: {image: x}}\n", check=True)
    assert out.stdout.split() == ["one"]


def test_unknown_service(tmp_path, berth):
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    out = berth("--profile", "storage", "config", "nope", cwd=tmp_path)
    assert out.returncode == 1 and "no such service: nope" in out.stderr
