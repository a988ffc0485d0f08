"""Services (names resolve as on berth's networks; published ports as the type chosen)
and NetworkPolicies (compose networks)."""
from compose.kube.model import Options
from tests.kube.support import container, convert_text, objects, outcomes, pod_spec


def test_every_listening_service_gets_a_cluster_ip_service(tmp_path):
    c = convert_text(tmp_path, """
        services:
          web: {image: nginx, ports: ["8080:80"]}
          api: {image: api, expose: ["3000", "53/udp"]}
          img: {image: exposes}
          worker: {image: worker}
    """, exposed={"img": ("9000/tcp",)})
    def ports(name):
        return [(p["port"], p["protocol"]) for p in objects(c)[("Service", name)]["spec"]["ports"]]
    assert ports("web") == [(80, "TCP")]
    assert ports("api") == [(53, "UDP"), (3000, "TCP")]
    assert ports("img") == [(9000, "TCP")]  # the image's EXPOSE
    assert container(c, "Deployment", "img")["ports"] == [{"containerPort": 9000, "protocol": "TCP"}]
    for name in ("web", "api", "img"):
        assert "clusterIP" not in objects(c)[("Service", name)]["spec"]
    worker = objects(c)[("Service", "worker")]["spec"]  # so its name resolves all the same
    assert worker["clusterIP"] == "None" and "ports" not in worker


def test_aliases_links_and_container_names_become_services(tmp_path):
    c = convert_text(tmp_path, """
        services:
          db:
            image: postgres
            expose: ["5432"]
            container_name: main-db
            networks: {default: {aliases: [database, db, Bad_Alias]}}
          app: {image: app, links: ["db:pg", "db"]}
    """)
    for alias in ("database", "main-db", "pg"):
        spec = objects(c)[("Service", alias)]["spec"]
        assert spec["selector"]["app.kubernetes.io/name"] == "db"
        assert spec["ports"][0]["port"] == 5432
    found = outcomes(c, "db")
    assert ("networks", "mapped", "db: the name of Service db") in found
    assert ("networks", "dropped", "Bad_Alias: no DNS label, so no Service can have it") in found


def test_an_alias_that_is_another_service_name_is_dropped(tmp_path):
    c = convert_text(tmp_path, """
        services:
          a: {image: a, networks: {default: {aliases: [b]}}}
          b: {image: b}
    """)
    assert objects(c)[("Service", "b")]["spec"]["selector"]["app.kubernetes.io/name"] == "b"
    assert ("networks", "dropped", "b: already the name of b's Service") in outcomes(c, "a")


def test_published_ports_as_the_service_type_chosen(tmp_path):
    text = """
        services:
          web: {image: nginx, ports: ["30080:80", "8443:443", "127.0.0.1:9000:9000", "7000"]}
    """
    for kind in ("ClusterIP", "NodePort", "LoadBalancer"):
        c = convert_text(tmp_path, text, options=Options(service_type=kind))
        spec = objects(c)[("Service", "web-published")]["spec"]
        assert spec["type"] == kind
        ports = {(p["port"], p["targetPort"], p.get("nodePort")) for p in spec["ports"]}
        node = kind == "NodePort"
        assert ports == {(30080, 80, 30080 if node else None), (8443, 443, None),
                         (7000, 7000, None)}
    found = outcomes(c, "web")
    assert ("ports", "approximated", "9000:9000 is published on 127.0.0.1 only: reach it with "
            "`kubectl port-forward service/web 9000:9000`") in found
    policy = objects(c)[("NetworkPolicy", "web-published")]["spec"]
    assert policy["ingress"] == [{"ports": [{"port": 80, "protocol": "TCP"},
                                            {"port": 443, "protocol": "TCP"},
                                            {"port": 7000, "protocol": "TCP"}]}]


def test_networks_become_network_policies(tmp_path):
    c = convert_text(tmp_path, """
        services:
          web: {image: nginx, networks: [front]}
          app: {image: app, networks: [front, back]}
          db: {image: db, networks: [back]}
        networks:
          front: {}
          back: {internal: true}
    """)
    def labels(name):
        return objects(c)[("Deployment", name)]["spec"]["template"]["metadata"]["labels"]
    assert labels("web")["network.berth/front"] == "true"
    assert "berth/egress" not in labels("app")
    assert labels("db")["berth/egress"] == "internal"
    front = objects(c)[("NetworkPolicy", "net-front")]["spec"]
    member = {"matchLabels": {"network.berth/front": "true"}}
    assert front == {"podSelector": member, "policyTypes": ["Ingress"],
                     "ingress": [{"from": [{"podSelector": member}]}]}
    egress = objects(c)[("NetworkPolicy", "net-back-egress")]["spec"]
    assert egress["podSelector"] == {"matchLabels": {"network.berth/back": "true",
                                                     "berth/egress": "internal"}}
    assert egress["egress"][0] == {"to": [{"podSelector": {
        "matchLabels": {"network.berth/back": "true"}}}]}
    assert {p["port"] for p in egress["egress"][1]["ports"]} == {53}
    assert ("NetworkPolicy", "net-front-egress") not in objects(c)


def test_host_network_pods_are_on_no_network_policy(tmp_path):
    c = convert_text(tmp_path, "services: {agent: {image: a, network_mode: host}}")
    assert pod_spec(c, "Deployment", "agent")["hostNetwork"] is True
    assert not [m for m in c.manifests if m.kind == "NetworkPolicy"]
