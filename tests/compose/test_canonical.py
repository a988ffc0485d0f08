import pytest

from compose.canonical import canonical, parse_port, parse_volume
from compose.errors import ComposeError


@pytest.mark.parametrize("item, expected", [
    ("80", [{"mode": "ingress", "target": 80, "protocol": "tcp"}]),
    (80, [{"mode": "ingress", "target": 80, "protocol": "tcp"}]),
    ("8080:80", [{"mode": "ingress", "target": 80, "published": "8080", "protocol": "tcp"}]),
    ("127.0.0.1:8080:80/udp", [{"mode": "ingress", "host_ip": "127.0.0.1", "target": 80,
                                "published": "8080", "protocol": "udp"}]),
    ("127.0.0.1::80", [{"mode": "ingress", "host_ip": "127.0.0.1", "target": 80,
                        "protocol": "tcp"}]),
    ("[::1]:6001:6001", [{"mode": "ingress", "host_ip": "::1", "target": 6001,
                          "published": "6001", "protocol": "tcp"}]),
    ("9090-9091:8080-8081", [
        {"mode": "ingress", "target": 8080, "published": "9090", "protocol": "tcp"},
        {"mode": "ingress", "target": 8081, "published": "9091", "protocol": "tcp"}]),
    ("8000-8010:80", [{"mode": "ingress", "target": 80, "published": "8000-8010",
                       "protocol": "tcp"}]),
    ("3000-3001", [{"mode": "ingress", "target": 3000, "protocol": "tcp"},
                   {"mode": "ingress", "target": 3001, "protocol": "tcp"}]),
    ({"target": 80, "published": 8080}, [{"target": 80, "published": "8080", "mode": "ingress",
                                          "protocol": "tcp"}]),
])
def test_ports(item, expected):
    assert parse_port(item, ()) == expected


@pytest.mark.parametrize("item", ["80:80:80:80", "abc", "8080:80/xyz", "1-2:3-5", "99999:80",
                                  "bad.ip:80:80"])
def test_bad_ports(item):
    with pytest.raises(ComposeError):
        parse_port(item, ("services", "web", "ports", 0))


@pytest.mark.parametrize("item, expected", [
    ("/data", {"type": "volume", "target": "/data"}),
    ("db:/var/lib/db", {"type": "volume", "source": "db", "target": "/var/lib/db"}),
    ("./src:/app:ro", {"type": "bind", "source": "./src", "target": "/app", "read_only": True,
                       "bind": {"create_host_path": True}}),
    ("/etc/x:/x:rw,z", {"type": "bind", "source": "/etc/x", "target": "/x", "read_only": False,
                        "bind": {"create_host_path": True, "selinux": "z"}}),
    ("v:/x:nocopy", {"type": "volume", "source": "v", "target": "/x", "volume": {"nocopy": True}}),
])
def test_volumes(item, expected):
    assert parse_volume(item, ()) == expected


def test_bad_volume_mode():
    with pytest.raises(ComposeError, match="invalid mode 'bogus'"):
        parse_volume("a:/b:bogus", ())


def test_service_short_forms():
    tree = canonical({"services": {"web": {
        "build": "./app", "command": "sh -c 'echo hi'", "environment": ["A=1", "B"],
        "depends_on": ["db"], "networks": ["front"], "env_file": ".env",
        "healthcheck": {"test": "curl -f localhost"}, "ulimits": {"nofile": 1024},
        "extra_hosts": ["somehost:162.242.195.82", "other=::1"], "secrets": ["s"],
        "labels": {"a": 1, "b": True}, "dns": "8.8.8.8", "expose": [3000]}}})
    web = tree["services"]["web"]
    assert web["build"] == {"context": "./app"}
    assert web["command"] == ["sh", "-c", "echo hi"]
    assert web["environment"] == {"A": "1", "B": None}
    assert web["depends_on"] == {"db": {"condition": "service_started", "required": True}}
    assert web["networks"] == {"front": None}
    assert web["env_file"] == [{"path": ".env", "required": True}]
    assert web["healthcheck"]["test"] == ["CMD-SHELL", "curl -f localhost"]
    assert web["ulimits"] == {"nofile": {"soft": 1024, "hard": 1024}}
    assert web["extra_hosts"] == {"somehost": ["162.242.195.82"], "other": ["::1"]}
    assert web["secrets"] == [{"source": "s"}]
    assert web["labels"] == {"a": "1", "b": "true"}
    assert web["dns"] == ["8.8.8.8"] and web["expose"] == ["3000"]


def test_legacy_external_name():
    tree = canonical({"networks": {"n": {"external": {"name": "real"}}}})
    assert tree["networks"]["n"] == {"external": True, "name": "real"}
