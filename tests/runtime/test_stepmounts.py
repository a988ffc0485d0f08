"""What RUN's mounts are made of, without a build: cache directories and their sharing
modes, and the socket that forwards an ssh agent."""
import os
import socket
import threading

from runtime.images.cachemounts import CacheMounts
from runtime.images.runmounts import parse_mount
from runtime.images.stepmounts import AgentProxy


def cache(text: str):
    me = f"uid={os.getuid()},gid={os.getgid()}"
    return parse_mount(f"type=cache,{text},{me}", {}, "/")


def test_a_cache_is_made_once_owned_as_asked_and_kept(tmp_path):
    caches = CacheMounts(tmp_path / "mounts")
    use = caches.acquire(cache("target=/c,mode=0700"), None)
    assert oct(os.stat(use.path).st_mode & 0o777) == "0o700"
    open(os.path.join(use.path, "kept"), "w").close()
    use.release()
    again = caches.acquire(cache("target=/c"), None)
    assert os.listdir(again.path) == ["kept"]
    again.release()
    assert [e.id for e in caches.entries()] == ["/c"]


def test_a_cache_from_a_stage_starts_with_its_files(tmp_path):
    def seed(data):
        os.mkdir(data)
        open(os.path.join(data, "seeded"), "w").close()

    caches = CacheMounts(tmp_path)
    use = caches.acquire(cache("target=/c,id=seeded"), seed)
    assert os.listdir(use.path) == ["seeded"]
    use.release()


def test_sharing_modes(tmp_path):
    caches = CacheMounts(tmp_path)
    private = caches.acquire(cache("target=/p,sharing=private"), None)
    second = caches.acquire(cache("target=/p,sharing=private"), None)
    assert second.path != private.path and second.scratch  # busy: a directory of its own
    second.release()
    assert not os.path.exists(second.scratch)
    private.release()
    locked = caches.acquire(cache("target=/l,sharing=locked"), None)
    waited = threading.Event()

    def other_step():
        caches.acquire(cache("target=/l,sharing=locked"), None).release()
        waited.set()

    thread = threading.Thread(target=other_step)
    thread.start()
    assert not waited.wait(0.3)  # the next step waits for the lock
    locked.release()
    assert waited.wait(5)
    thread.join()


def test_prune_leaves_caches_in_use(tmp_path):
    caches = CacheMounts(tmp_path)
    busy = caches.acquire(cache("target=/busy"), None)
    caches.acquire(cache("target=/idle"), None).release()
    caches.prune()
    assert [e.id for e in caches.entries()] == ["/busy"]
    busy.release()
    caches.prune()
    assert list(caches.entries()) == []


def test_the_agent_socket_is_forwarded_with_its_own_mode(tmp_path):
    agent_path = str(tmp_path / "agent.sock")
    agent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    agent.bind(agent_path)
    agent.listen(1)

    def answer():
        conn, _ = agent.accept()
        conn.sendall(b"agent says " + conn.recv(100))
        conn.close()

    threading.Thread(target=answer, daemon=True).start()
    (tmp_path / "proxy").mkdir()
    proxy = AgentProxy(agent_path, str(tmp_path / "proxy"), os.getuid(), os.getgid(), 0o660)
    try:
        assert oct(os.stat(proxy.path).st_mode & 0o777) == "0o660"
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect(proxy.path)
        client.sendall(b"hello")
        reply = b""
        while chunk := client.recv(100):
            reply += chunk
        assert reply == b"agent says hello"
        client.close()
    finally:
        proxy.close()
        agent.close()
