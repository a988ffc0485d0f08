from compose.canonical import canonical
from compose.merge import finalize, merge
from compose.yamlsrc import parse_yaml


def merged(*texts):
    tree = {}
    for text in texts:
        tree = merge(tree, canonical(parse_yaml(text, "f.yaml")[0]))
    return finalize(tree)


def svc(*texts):
    return merged(*texts)["services"]["foo"]


def test_mappings_merge_and_scalars_replace():
    assert svc("services: {foo: {image: a, environment: {A: '1', B: '2'}}}",
               "services: {foo: {image: b, environment: {B: '3', C: '4'}}}") == {
        "image": "b", "environment": {"A": "1", "B": "3", "C": "4"}}


def test_sequences_append():
    assert svc("services: {foo: {dns: [1.1.1.1]}}",
               "services: {foo: {dns: [8.8.8.8]}}")["dns"] == ["1.1.1.1", "8.8.8.8"]


def test_commands_are_replaced():
    foo = svc("services: {foo: {command: [echo, foo], entrypoint: a b, healthcheck: {test: [CMD, x]}}}",
              "services: {foo: {command: [echo, bar], entrypoint: c, healthcheck: {test: [CMD, y]}}}")
    assert foo["command"] == ["echo", "bar"] and foo["entrypoint"] == ["c"]
    assert foo["healthcheck"]["test"] == ["CMD", "y"]


def test_volumes_unique_by_target():
    foo = svc("services: {foo: {volumes: ['foo:/work', 'x:/x']}}",
              "services: {foo: {volumes: ['bar:/work']}}")
    assert [(v["source"], v["target"]) for v in foo["volumes"]] == [("bar", "/work"), ("x", "/x")]


def test_ports_unique_by_ip_target_published_protocol():
    foo = svc("services: {foo: {ports: ['8080:80', '53:53/udp']}}",
              "services: {foo: {ports: ['8080:80', '8443:443']}}")
    assert [(p["published"], p["target"]) for p in foo["ports"]] == [
        ("8080", 80), ("53", 53), ("8443", 443)]


def test_secrets_unique_by_target():
    foo = svc("services: {foo: {secrets: [{source: a, target: /t}]}}",
              "services: {foo: {secrets: [{source: b, target: /t}]}}")
    assert foo["secrets"] == [{"source": "b", "target": "/t"}]


def test_reset_removes():
    foo = svc("services: {foo: {image: a, ports: ['8080:80'], environment: {FOO: BAR}}}",
              "services: {foo: {ports: !reset [], environment: {FOO: !reset null}}}")
    assert foo == {"image": "a", "environment": {}}


def test_override_replaces():
    foo = svc("services: {foo: {image: a, ports: ['8080:80']}}",
              "services: {foo: {ports: !override ['8443:443']}}")
    assert [p["published"] for p in foo["ports"]] == ["8443"]


def test_reset_a_whole_service():
    tree = merged("services: {foo: {image: a}, bar: {image: b}}", "services:\n  foo: !reset\n")
    assert list(tree["services"]) == ["bar"]


def test_logging_driver_change_replaces_options():
    foo = svc("services: {foo: {logging: {driver: json-file, options: {max-size: 1m}}}}",
              "services: {foo: {logging: {driver: syslog, options: {tag: x}}}}")
    assert foo["logging"] == {"driver": "syslog", "options": {"tag": "x"}}
    foo = svc("services: {foo: {logging: {driver: json-file, options: {max-size: 1m}}}}",
              "services: {foo: {logging: {options: {max-file: '3'}}}}")
    assert foo["logging"]["options"] == {"max-size": "1m", "max-file": "3"}


def test_null_network_entry_keeps_options():
    foo = svc("services: {foo: {networks: {front: {aliases: [a]}}}}",
              "services: {foo: {networks: [front, back]}}")
    assert foo["networks"] == {"front": {"aliases": ["a"]}, "back": None}
