"""The rootless session's pure parts: id ranges, the one-line errors, limits, paths."""
from __future__ import annotations

import os

import pytest

from runtime.rootless import checks, enter, idmap, limits
from runtime.spec import Resources


def test_the_first_range_of_the_user_by_name_or_id():
    text = "other:100000:65536\n# a comment\nalice:200000:0\nalice:300000:65536\n1001:400000:10\n"
    assert idmap.subordinate(text, "alice", 1000) == idmap.IdRange(300000, 65536)
    assert idmap.subordinate(text, "bob", 1001) == idmap.IdRange(400000, 10)
    assert idmap.subordinate(text, "carol", 1002) is None


def test_map_args_make_the_user_root_and_the_range_the_rest():
    assert idmap.map_args(1000, idmap.IdRange(100000, 65536)) == \
        ["0", "1000", "1", "1", "100000", "65536"]
    assert idmap.map_args(1000, None) == ["0", "1000", "1"]  # BERTH_SINGLE_ID=1


def test_a_missing_range_names_the_file_and_the_command(tmp_path, monkeypatch):
    monkeypatch.setattr(idmap, "user_name", lambda uid: "alice")
    subuid, subgid = tmp_path / "subuid", tmp_path / "subgid"
    subuid.write_text("alice:100000:65536\n")
    subgid.write_text("bob:100000:65536\n")
    with pytest.raises(checks.RootlessError) as err:
        checks.id_ranges(1000, 1000, str(subuid), str(subgid))
    assert str(err.value) == (f"no range for alice in {subgid}: as root, run `usermod "
                              "--add-subuids 100000-165535 --add-subgids 100000-165535 alice` "
                              "(any free range), or set BERTH_SINGLE_ID=1 to map your own ids "
                              "only")


@pytest.mark.parametrize("missing, message", [
    ("newuidmap", "newuidmap is not installed (Debian: apt-get install uidmap)"),
    ("newgidmap", "newgidmap is not installed (Debian: apt-get install uidmap)"),
    ("network", "neither pasta nor slirp4netns is installed (Debian: apt-get install passt)"),
])
def test_each_missing_tool_is_one_line(missing, message):
    def which(tool):
        gone = ("pasta", "slirp4netns") if missing == "network" else (missing,)
        return None if tool in gone else f"/usr/bin/{tool}"

    with pytest.raises(checks.RootlessError) as err:
        checks.check_tools(which)
    assert str(err.value) == message


def test_slirp4netns_does_without_pasta():
    checks.check_tools(lambda tool: None if tool == "pasta" else f"/usr/bin/{tool}")


def test_limits_are_named_and_berths_default_pids_limit_is_not():
    assert limits.unapplied(Resources()) == ()
    assert limits.unapplied(Resources(pids=2048)) == ()
    assert limits.unapplied(Resources(memory=1 << 26, cpus=0.5, pids=100)) == (
        "limits not applied without root (this machine's cgroups are not delegated to the "
        "user): memory, cpus, pids_limit",)


def test_state_goes_to_the_users_own_directories(tmp_path):
    assert enter.data_home({"HOME": "/home/alice"}) == \
        enter.Path("/home/alice/.local/share/berth")
    assert enter.data_home({"HOME": "/h", "XDG_DATA_HOME": "/d"}) == enter.Path("/d/berth")
    assert enter.run_dir({"XDG_RUNTIME_DIR": str(tmp_path)}, 1000) == tmp_path / "berth"


def test_udp_publications_relay_each_client_s_datagrams_both_ways():
    """The forwarder's UDP half (the namespaces aside): two clients of one published port
    each get their own flow to the target, and its answers come back to them alone."""
    import socket
    import threading

    from runtime.rootless import forward, ports

    echo = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    echo.bind(("127.0.0.1", 0))

    def answer() -> None:
        try:
            while True:
                data, peer = echo.recvfrom(100)
                echo.sendto(b"echo " + data, peer)
        except OSError:
            return  # closed at the end

    threading.Thread(target=answer, daemon=True).start()
    listener, port = ports.bind("udp", "127.0.0.1", 0, 0)
    stop = threading.Event()
    relay = threading.Thread(target=forward.relay_datagrams,
                             args=(listener, echo.getsockname(), stop.is_set), daemon=True)
    relay.start()
    clients = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
    try:
        for number, client in enumerate(clients):
            client.settimeout(5)
            client.sendto(f"hi {number}".encode(), ("127.0.0.1", port))
        assert [c.recv(100) for c in clients] == [b"echo hi 0", b"echo hi 1"]
    finally:
        stop.set()
        relay.join(5)
        for sock in clients + [listener, echo]:
            sock.close()
    with pytest.raises(ports.PortError, match="publishes TCP and UDP ports"):
        ports.bind("sctp", "127.0.0.1", 0, 0)


def test_a_bad_publication_request_is_answered_and_the_agent_goes_on():
    import json
    import socket

    from runtime.rootless import ports

    for request in (b"[]\n", b'{"protocol": "tcp"}\n', b"not json\n"):
        ours, theirs = socket.socketpair()
        with ours, theirs:
            theirs.sendall(request)
            assert ports.handle(ours, session=None) is None
            answer = json.loads(theirs.makefile("rb").readline())
            assert answer["error"].startswith("bad publication request"), request


def test_ending_a_stale_session_touches_only_berth_s_own(tmp_path):
    """A record of another boot (or of a namespace whose inode was reused) kills nothing;
    of the run directory only berth's entries go (BERTH_RUN may be a shared directory)."""
    from runtime.rootless import session

    run = tmp_path / "run"
    for name in ("netns", "session", "dns"):
        (run / name).mkdir(parents=True)
    (run / "bus").write_text("the user's own\n")
    (run / "session.lock").write_text("")
    mine = os.stat("/proc/self/ns/user").st_ino
    stale = session.Session(agent=1, holder=1, helper=1, userns=mine, boot="another-boot")
    assert not session.ours(stale, [os.getpid()])
    session.end(run, stale)  # this process is in that namespace: it must survive
    assert sorted(p.name for p in run.iterdir()) == ["bus", "session.lock"]
    assert session.ours(session.Session(1, os.getpid(), 1, 0, session.boot_id()), [os.getpid()])
