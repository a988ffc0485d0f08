"""Dockerfile parsing, .dockerignore, layer diffs, and real builds."""
import io
import os
import tarfile
import time

import pytest

from runtime.create import RunOptions
from runtime.images.build import Builder, BuildError, BuildOptions
from runtime.images.dockerfile import DockerfileError, parse
from runtime.images.shellwords import word
from common.patterns import Ignore
from runtime.images.layerdiff import write_layer
from runtime.images.unpack import unpack_bytes


# --- parsing ---------------------------------------------------------------------------------

def test_parse_continuations_comments_heredocs_and_forms():
    df = parse(
        "# syntax=docker/dockerfile:1\n"
        "ARG BASE=alpine\n"
        "FROM $BASE AS build\n"
        "RUN apt-get update && \\\n"
        "    # a comment inside\n"
        "\n"
        "    apt-get install -y x\n"
        'CMD ["sh", "-c", "echo hi"]\n'
        "COPY --from=build --chown=1:2 a b /dst/\n"
        "RUN <<EOF\n"
        "echo one\n"
        "EOF\n"
        "from scratch\n")
    assert [a.args for a in df.global_args] == ["BASE=alpine"]
    build, scratch = df.stages
    assert (build.base, build.name, scratch.base) == ("$BASE", "build", "scratch")
    run, cmd, copy, heredoc = build.instructions
    assert run.args == "apt-get update &&     apt-get install -y x" and run.line == 4
    assert cmd.json_args() == ["sh", "-c", "echo hi"] and run.json_args() is None
    assert copy.flags == {"from": ["build"], "chown": ["1:2"]} and copy.args == "a b /dst/"
    assert [(h.name, h.body, h.expand) for h in heredoc.heredocs] == [("EOF", "echo one\n", True)]


def test_escape_directive():
    df = parse("# escape=`\nFROM x\nRUN echo a `\n  b\n")
    assert df.stages[0].instructions[0].args == "echo a   b"


@pytest.mark.parametrize("text, line, message", [
    ("FROM x\nRUNN echo\n", 2, "unknown instruction: RUNN"),
    ("RUN echo\n", 1, "before the first FROM"),
    ("\n", None, "no FROM"),
    ("FROM x\nRUN <<EOF\necho\n", 2, "heredoc EOF is not terminated"),
    ("FROM x\nCOPY\n", 2, "requires at least one argument"),
])
def test_parse_errors_have_lines(text, line, message):
    with pytest.raises(DockerfileError) as err:
        parse(text)
    assert err.value.line == line and message in str(err.value)


def test_substitution():
    values = {"A": "1", "E": ""}
    assert word("$A ${A} ${B:-d} ${E:-d} ${E-d} ${A:+x} ${B:+x} \\$A", values) == \
        "1 1 d d  x  $A"


def test_dockerignore():
    ignore = Ignore(["*.log", "**/node_modules", "!keep.log", "build/", "# comment", "tmp?"])
    assert ignore.ignored("a.log") and not ignore.ignored("keep.log")
    assert not ignore.ignored("sub/a.log")  # patterns are anchored at the context root
    assert ignore.ignored("web/node_modules/x/y.js") and ignore.ignored("node_modules")
    assert ignore.ignored("build/out.bin") and ignore.ignored("tmp1")
    assert not ignore.ignored("src/main.py")


def test_layer_diff_whiteouts_and_opaque(tmp_path):
    upper = tmp_path / "upper"
    (upper / "etc").mkdir(parents=True)
    os.mknod(upper / "etc" / "gone", 0o020000, os.makedev(0, 0))
    (upper / "fresh").mkdir()
    os.setxattr(upper / "fresh", "trusted.overlay.opaque", b"y")
    (upper / "fresh" / "new.txt").write_text("new")
    buf = io.BytesIO()
    write_layer(str(upper), buf)
    names = tarfile.open(fileobj=io.BytesIO(buf.getvalue())).getnames()
    assert "etc/.wh.gone" in names and "fresh/.wh..wh..opq" in names and "fresh/new.txt" in names
    back = tmp_path / "back"
    unpack_bytes(buf.getvalue(), str(back))
    assert os.lstat(back / "etc" / "gone").st_rdev == 0
    assert os.getxattr(back / "fresh", "trusted.overlay.opaque") == b"y"


# --- real builds -----------------------------------------------------------------------------

privileged = pytest.mark.privileged


def build(engine, context, dockerfile, **options):
    (context / "Dockerfile").write_text(dockerfile)
    lines = []
    image = Builder(engine, output=lines.append).build(BuildOptions(context=str(context), **options))
    return image, lines


def run(engine, image, *command):
    c = engine.create(image, RunOptions(command=list(command) or None))
    engine.start(c.id)
    code = engine.wait(c.id)
    out = "".join(l.text for l in engine.logs(c.id))
    engine.remove(c.id)
    return code, out


@privileged
def test_multi_stage_args_env_user_and_cache(engine, busybox, tmp_path):
    ctx = tmp_path / "ctx"
    (ctx / "src").mkdir(parents=True)
    (ctx / "src" / "app.sh").write_text("echo app says $GREETING\n")
    (ctx / "secret.log").write_text("do not copy")
    (ctx / ".dockerignore").write_text("*.log\n")
    dockerfile = (
        "ARG BASE=busybox\n"
        "FROM ${BASE} AS build\n"
        "ARG GREETING=hello\n"
        "ENV GREETING=${GREETING}\n"
        "WORKDIR /work\n"
        "COPY src/ ./\n"
        "RUN sh app.sh > /out.txt\n"
        "FROM busybox\n"
        "COPY --from=build /out.txt /result/out.txt\n"
        "COPY . /ctx/\n"
        "RUN rm /bin/vi && echo builder:x:2000:2000::/tmp:/bin/sh >> /etc/passwd\n"
        "USER builder\n"
        'CMD ["cat", "/result/out.txt"]\n')
    image, lines = build(engine, ctx, dockerfile, tags=["app:1"], args={"GREETING": "hi"})
    assert run(engine, image) == (0, "app says hi\n")
    code, out = run(engine, image, "sh", "-c", "id -u; ls /ctx; ls /bin/vi 2>&1; echo $GREETING")
    assert out.splitlines()[0] == "2000"
    assert "secret.log" not in out and "Dockerfile" in out  # .dockerignore applies
    assert "No such file" in out  # deleted in a later step: really gone
    assert engine.images.get("app:1").id == image.id
    assert any(line.startswith("[6/12] RUN sh app.sh") for line in lines)

    started = time.monotonic()
    again, lines = build(engine, ctx, dockerfile, tags=["app:1"], args={"GREETING": "hi"})
    assert time.monotonic() - started < 2.0  # about 0.4 s on an idle machine
    assert again.id == image.id, "\n".join(lines)  # an unchanged rebuild is the same image
    assert sum("CACHED" in line for line in lines) >= 9

    (ctx / "src" / "app.sh").write_text("echo changed $GREETING\n")
    changed, lines = build(engine, ctx, dockerfile, tags=["app:1"], args={"GREETING": "hi"})
    cached = [line for line in lines if "CACHED" in line]
    assert any("ENV GREETING" in line for line in cached)
    assert not any("COPY src/" in line for line in cached)
    assert run(engine, changed) == (0, "changed hi\n")


@privileged
def test_failing_run_stops_the_build_and_tags_nothing(engine, busybox, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    with pytest.raises(BuildError) as err:
        build(engine, ctx, "FROM busybox\nRUN echo about to fail; exit 3\nRUN echo never\n",
              tags=["broken:1"])
    assert err.value.exit_code == 3
    assert "Dockerfile:2: RUN: the command returned a non-zero code: 3" in str(err.value)
    assert not engine.images.exists("broken:1")
    assert engine.list() == []  # the step's container is gone


@privileged
@pytest.mark.parametrize("dockerfile, message", [
    ("FROM busybox\nCOPY ../outside /x\n", "forbidden path outside the build context"),
    ("FROM busybox\nCOPY missing.txt /x\n", "file not found in build context"),
    ("FROM busybox\nBOGUS x\n", "Dockerfile:2: unknown instruction: BOGUS"),
    ("FROM nosuch/base:1\n", "FROM: image nosuch/base:1 not found"),
])
def test_bad_builds_are_clear(engine, busybox, tmp_path, dockerfile, message):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (tmp_path / "outside").write_text("secret")
    with pytest.raises(BuildError, match=message):
        build(engine, ctx, dockerfile)


@privileged
def test_context_symlinks_cannot_reach_outside(engine, busybox, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    os.symlink(str(outside), ctx / "escape")  # a symlink to a directory outside
    os.symlink("/etc/passwd", ctx / "passwd-link")
    image, _ = build(engine, ctx, "FROM busybox\nCOPY passwd-link /copied-link\n")
    code, out = run(engine, image, "readlink", "/copied-link")
    assert out.strip() == "/etc/passwd"  # the link itself, not the host's file
    with pytest.raises(BuildError, match="not found"):
        build(engine, ctx, "FROM busybox\nCOPY escape/secret.txt /x\n")


@privileged
def test_add_extracts_local_archives_safely(engine, busybox, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    with tarfile.open(ctx / "files.tar.gz", "w:gz") as tar:
        data = b"inside the archive\n"
        info = tarfile.TarInfo("pkg/readme.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    image, _ = build(engine, ctx, "FROM busybox\nADD files.tar.gz /opt/\n")
    assert run(engine, image, "cat", "/opt/pkg/readme.txt") == (0, "inside the archive\n")
    with tarfile.open(ctx / "evil.tar", "w") as tar:
        info = tarfile.TarInfo("../../escaped")
        tar.addfile(info, io.BytesIO(b""))
    with pytest.raises(BuildError, match="outside its root"):
        build(engine, ctx, "FROM busybox\nADD evil.tar /opt/\n")


@privileged
def test_scratch_heredoc_and_config_instructions(engine, busybox, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile")
    image, _ = build(engine, ctx, (
        "FROM busybox AS tools\n"
        "FROM scratch\n"
        "COPY --from=tools /bin/busybox /bin/busybox\n"
        "COPY <<EOF /etc/motd\nwelcome\nEOF\n"
        "EXPOSE 8080/udp 9090\n"
        "LABEL a=1 b=\"two words\"\n"
        "STOPSIGNAL SIGQUIT\n"
        "HEALTHCHECK --interval=5s --retries=2 CMD [\"/bin/busybox\", \"true\"]\n"
        "ENTRYPOINT [\"/bin/busybox\"]\n"
        "CMD [\"cat\", \"/etc/motd\"]\n"))
    cfg = image.config["config"]
    assert set(cfg["ExposedPorts"]) == {"8080/udp", "9090/tcp"}
    assert cfg["Labels"] == {"a": "1", "b": "two words"} and cfg["StopSignal"] == "SIGQUIT"
    assert cfg["Healthcheck"]["Retries"] == 2 and cfg["Healthcheck"]["Interval"] == 5_000_000_000
    assert run(engine, image) == (0, "welcome\n")
