"""The mounts of one RUN step, made before it runs and undone after: cache directories
(runtime.images.cachemounts), copies of the context or of another stage for bind mounts
(so a read-write bind's writes are discarded, and a context bind honours
.dockerignore), secret files readable by the step alone, an ssh-agent socket forwarded
to the step with the owner and mode it asks for, and tmpfs."""
from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
from typing import Callable

from ..securejoin import secure_join
from ..spec import Mount
from .copyplan import CopyPlan
from .rootview import with_root
from .runmounts import RunMount
from .unpack import unpack


class StepMounts:
    """Set up by `prepare`, undone by `close` (also after a failed step)."""

    def __init__(self, builder, instr) -> None:
        self.builder, self.instr = builder, instr
        self.mounts: list[Mount] = []
        self.env: dict[str, str] = {}
        self.key: list = []
        self.stubs: list[str] = []  # targets of file mounts: no part of the step's layer
        self._undo: list[Callable[[], None]] = []
        self._tmp = tempfile.mkdtemp(prefix="mounts-", dir=str(builder.store.tmp))

    def prepare(self, specs: list[RunMount]) -> None:
        ssh_seen = False
        for spec in specs:
            self.key.append(spec.key())
            prepare = {"cache": self._cache, "bind": self._bind, "secret": self._secret,
                       "ssh": self._ssh, "tmpfs": self._tmpfs}[spec.type]
            prepare(spec)
            if spec.type == "ssh" and not ssh_seen and self.mounts and \
                    self.mounts[-1].target == spec.target:
                self.env.setdefault("SSH_AUTH_SOCK", spec.target)
                ssh_seen = True

    def close(self) -> None:
        for undo in reversed(self._undo):
            undo()
        shutil.rmtree(self._tmp, ignore_errors=True)

    # --- each type ---------------------------------------------------------------------

    def _cache(self, spec: RunMount) -> None:
        def seed(data: str) -> None:  # a new cache `from` a stage starts with its files
            self._copy_tree(spec.from_, spec.source or "/", data, keep=True)

        use = self.builder.cache_mounts.acquire(spec, seed if spec.from_ else None)
        self._undo.append(use.release)
        self.mounts.append(Mount("bind", spec.target, source=use.path))

    def _bind(self, spec: RunMount) -> None:
        tree = os.path.join(self._tmp, f"bind{len(self.mounts)}")
        digest, is_dir = self._copy_tree(spec.from_, spec.source or ".", tree,
                                         keep=bool(spec.from_))
        self.key.append(digest)
        source = tree
        if not is_dir:  # one file, copied into the tree under its own name
            source = os.path.join(tree, os.listdir(tree)[0])
            self.stubs.append(spec.target)
        self.mounts.append(Mount("bind", spec.target, source=source, read_only=spec.read_only))

    def _secret(self, spec: RunMount) -> None:
        value = self.builder.opts.secrets.get(spec.id)
        if value is None:
            if spec.required:
                raise self.builder.fail(self.instr, f"secret {spec.id} is required but the build "
                                                     f"was not given it (--secret id={spec.id},...)")
            return
        if spec.env:
            self.env[spec.env] = value.decode(errors="replace")
            if not spec.target:
                return
        directory = tempfile.mkdtemp(prefix="secret-", dir=self._tmp)
        path = os.path.join(directory, "secret")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o400)
        try:
            os.write(fd, value)
            os.fchown(fd, spec.uid or 0, spec.gid or 0)
            os.fchmod(fd, 0o400 if spec.mode is None else spec.mode)
        finally:
            os.close(fd)
        self.mounts.append(Mount("bind", spec.target, source=path, read_only=True))
        self.stubs.append(spec.target)

    def _ssh(self, spec: RunMount) -> None:
        agent = self.builder.opts.ssh.get(spec.id)
        if agent is None:
            if spec.required:
                raise self.builder.fail(self.instr, f"ssh {spec.id} is required but the build was "
                                                     f"not given it (--ssh {spec.id}=SOCKET)")
            return
        # a short path of its own: a unix socket's path has a length limit
        directory = tempfile.mkdtemp(prefix="berth-ssh-")
        self._undo.append(lambda: shutil.rmtree(directory, ignore_errors=True))
        proxy = AgentProxy(agent, directory, spec.uid or 0, spec.gid or 0,
                           0o600 if spec.mode is None else spec.mode)
        self._undo.append(proxy.close)
        self.mounts.append(Mount("bind", spec.target, source=proxy.path))
        self.stubs.append(spec.target)

    def _tmpfs(self, spec: RunMount) -> None:
        self.mounts.append(Mount("tmpfs", spec.target, tmpfs_size=spec.size))

    # --- trees -------------------------------------------------------------------------

    def _copy_tree(self, origin: str, source: str, dest: str, keep: bool) -> tuple[str, bool]:
        """Copy `source` of the context (origin ""), of a named context, of a stage or of
        an image into directory `dest` (a file source: into it, under its name); the
        digest of what was copied, and whether the source is a directory. `keep`: the
        files keep their owners (a stage's or image's files), else they are root's."""
        builder, instr = self.builder, self.instr
        plan = CopyPlan("/", 0, 0, None, adding=False, keep_owner=keep)
        tar_path = dest + ".tar"

        def copy(root: str, ignore) -> tuple[str, bool]:
            digest = plan.collect(root, [source], ignore, "", instr, builder)
            plan.write(tar_path, [])
            return digest, os.path.isdir(secure_join(root, source))

        if not origin:
            digest, is_dir = copy(builder.context, builder.ignore)
        elif origin in builder.opts.contexts:
            digest, is_dir = copy(os.path.realpath(builder.opts.contexts[origin]), None)
        else:
            _, is_dir = with_root(builder.source_layers(origin, instr), lambda root: copy(root, None))
            digest = builder.source_key(origin) + ":" + source
        os.makedirs(dest, mode=0o755, exist_ok=True)
        os.chmod(dest, 0o755)
        try:
            with open(tar_path, "rb") as handle:
                unpack(handle, dest)
        finally:
            os.unlink(tar_path)
        return digest, is_dir


class AgentProxy:
    """A socket the step may use (its owner and mode as the mount asks) that relays each
    connection to the ssh agent the build was given; the agent's own socket stays as it
    is."""

    def __init__(self, agent: str, directory: str, uid: int, gid: int, mode: int) -> None:
        self.agent = agent
        self.path = os.path.join(directory, "agent.sock")
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        os.chown(self.path, uid, gid)
        os.chmod(self.path, mode)
        self.server.listen(8)
        self.connections: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            try:
                upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                upstream.connect(self.agent)
            except OSError:
                client.close()
                continue
            self.connections += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_relay, args=(a, b), daemon=True).start()

    def close(self) -> None:
        try:
            self.server.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.server.close()
        self.thread.join(timeout=5)
        for sock in self.connections:
            sock.close()


def _relay(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

