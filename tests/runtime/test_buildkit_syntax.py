"""BuildKit's Dockerfile syntax, read without building anything (no root): words and
$VAR expansion, parser directives, flags, RUN --mount options, platforms, symbolic
--chmod and which stages a target needs."""
import pytest

from runtime.images import platforms
from runtime.images.build import _needed
from runtime.images.buildcopy import is_git, symbolic_mode
from runtime.images.buildrun import PIPES, command
from runtime.images.dockerfile import DockerfileError, parse
from runtime.images.imageconfig import InstructionError, apply, exposed_ports, parse_pairs
from runtime.images.runmounts import MountError, parse_mount, parse_mounts
from runtime.images.shellwords import WordError, split_raw, word, words

VALUES = {"A": "1", "B": "two words", "E": "", "P": "/usr/lib/app.tar.gz"}


@pytest.mark.parametrize("text, expanded", [
    ("$A ${A}2 $A-x", "1 12 1-x"),
    ("'$A' \"$A\" \\$A", "$A 1 $A"),
    ('"a \\"quoted\\" \\x"', 'a "quoted" \\x'),
    ("${U:-d} ${E:-d} ${E-d} ${A:+alt} ${U:+alt} ${U+alt} ${E+alt}", "d d  alt   alt"),
    ("${P#*/} ${P##*/} ${P%.*} ${P%%.*}", "usr/lib/app.tar.gz app.tar.gz /usr/lib/app.tar /usr/lib/app"),
    ("${P/a/X} ${P//a/X}", "/usr/lib/Xpp.tar.gz /usr/lib/Xpp.tXr.gz"),
    ("$ alone, $1 and ${A}", "$ alone,  and 1"),
])
def test_words_expand_as_buildkit_does(text, expanded):
    assert word(text, VALUES) == expanded


def test_words_split_after_expansion_unless_quoted():
    assert words('a "b c" $B', VALUES) == ["a", "b c", "two", "words"]
    assert split_raw('a="x y" b=z\\ w c=\'q r\'') == ['a="x y"', "b=z\\ w", "c='q r'"]
    assert word("C:\\\\path", {}, escape="`") == "C:\\\\path"  # backslash is no escape then


@pytest.mark.parametrize("text, message", [
    ("'open", "matching single-quote"), ('"open', "matching double-quote"),
    ("${A", "missing '}'"), ("${:x}", "bad substitution"), ("${U:?must be set}", "must be set"),
    ("${A^^}", "unsupported modifier"),
])
def test_bad_words(text, message):
    with pytest.raises(WordError, match=message):
        word(text, VALUES)


def test_env_and_label_forms():
    assert parse_pairs('A=1 B="two words" C=$A D=\'$A\'', "ENV", VALUES) == \
        [("A", "1"), ("B", "two words"), ("C", "1"), ("D", "$A")]
    assert parse_pairs('KEY "spaced value"', "ENV", {}) == [("KEY", "spaced value")]
    assert parse_pairs("KEY spaced   value", "ENV", {}) == [("KEY", "spaced   value")]
    with pytest.raises(InstructionError, match="a value is needed"):
        parse_pairs("KEY", "ENV", {})
    assert exposed_ports("80 53/UDP 8000-8002 $A", VALUES) == \
        ["80/tcp", "53/udp", "8000/tcp", "8001/tcp", "8002/tcp", "1/tcp"]


def test_entrypoint_resets_a_cmd_the_stage_did_not_set():
    config = {"config": {"Cmd": ["bash"]}}
    apply(config, "ENTRYPOINT", '["/entry.sh"]', cmd_set=False)
    assert config["config"] == {"Cmd": None, "Entrypoint": ["/entry.sh"]}
    config = {"config": {"Cmd": ["mine"]}}
    apply(config, "ENTRYPOINT", "run me", cmd_set=True)
    assert config["config"] == {"Cmd": ["mine"], "Entrypoint": ["/bin/sh", "-c", "run me"]}


def test_directives():
    assert parse("# syntax=docker/dockerfile:1.7-labs\n# check=skip=all\nFROM x\n").checks == \
        "skip=all"
    parse("# syntax=docker.io/docker/dockerfile:1@sha256:" + "a" * 64 + "\nFROM x\n")
    with pytest.raises(DockerfileError, match="runs no other frontend image") as err:
        parse("# syntax=example/frontend:2\nFROM x\n")
    assert err.value.line == 1
    with pytest.raises(DockerfileError, match="invalid escape"):
        parse("# escape=x\nFROM x\n")
    with pytest.raises(DockerfileError, match="only one escape directive"):
        parse("# escape=`\n# escape=\\\nFROM x\n")
    # after a comment, a directive is a comment
    assert parse("# hello\n# escape=`\nFROM x\nRUN a\\\n b\n").escape == "\\"


def test_flags_are_checked_per_instruction():
    df = parse("FROM --platform=$BUILDPLATFORM x AS b\n"
               "RUN --mount=type=cache,target=/c --mount=type=tmpfs,target=/t --network=none true\n"
               "COPY --exclude=*.log --exclude=tmp --link --chmod=644 a /b/\n")
    assert df.stages[0].platform == "$BUILDPLATFORM"
    run, copy = df.stages[0].instructions
    assert run.flags == {"mount": ["type=cache,target=/c", "type=tmpfs,target=/t"],
                         "network": ["none"]}
    assert copy.flag("link") == "" and copy.flags["exclude"] == ["*.log", "tmp"]
    for text, message in [("FROM x\nCOPY --bogus=1 a b\n", "COPY: unknown flag --bogus"),
                          ("FROM x\nRUN --from=x true\n", "RUN: unknown flag --from"),
                          ("FROM x\nCOPY --from=a --from=b a b\n", "--from given twice")]:
        with pytest.raises(DockerfileError, match=message) as err:
            parse(text)
        assert err.value.line == 2


def test_heredocs():
    df = parse("FROM x\nRUN <<EOF\necho $A\nEOF\nCOPY <<'one' <<-two /d/\n1 $A\none\n\t2\n\ttwo\n")
    run, copy = df.stages[0].instructions
    assert [(h.name, h.body, h.expand) for h in copy.heredocs] == \
        [("one", "1 $A\n", False), ("two", "2\n", True)]
    assert command(run, ["/bin/sh", "-c"]) == (["/bin/sh", "-c", "echo $A\n"], None)
    shebang = parse("FROM x\nRUN <<S\n#!/usr/bin/env python3\nprint(1)\nS\n").stages[0].instructions[0]
    assert command(shebang, ["/bin/sh", "-c"]) == \
        ([f"{PIPES}/S"], ("S", "#!/usr/bin/env python3\nprint(1)\n"))
    several = parse("FROM x\nRUN cat <<A > /a && cat <<B\n1\nA\n2\nB\n").stages[0].instructions[0]
    assert command(several, ["sh", "-c"])[0] == ["sh", "-c", "cat <<A > /a && cat <<B\n1\nA\n2\nB"]


@pytest.mark.parametrize("text, fields", [
    ("type=cache,target=/root/.cache", dict(type="cache", target="/root/.cache",
                                             id="/root/.cache", read_only=False)),
    ("target=src", dict(type="bind", target="/work/src", read_only=True)),
    ("type=bind,src=app,dst=/a,rw", dict(source="app", target="/a", read_only=False)),
    ("type=cache,id=$A,target=/c,sharing=locked,mode=0700,uid=1000,gid=50",
     dict(id="1", sharing="locked", mode=0o700, uid=1000, gid=50)),
    ("type=secret,id=npmrc", dict(target="/run/secrets/npmrc", required=False)),
    ("type=secret,target=/etc/token,required", dict(id="token", required=True)),
    ("type=secret,id=t,env=TOKEN", dict(target="", env="TOKEN")),
    ("type=tmpfs,target=/t,size=64m", dict(size=64 * 1024 * 1024)),
    ("type=bind,from=build,source=/out,target=/in", dict(from_="build", source="/out")),
])
def test_mount_options(text, fields):
    mount = parse_mount(text, VALUES, "/work")
    assert {k: getattr(mount, k) for k in fields} == fields


def test_ssh_mounts_are_numbered_among_themselves():
    mounts = parse_mounts(["type=ssh", "type=tmpfs,target=/t", "type=ssh,id=other"], {}, "/")
    assert [m.target for m in mounts] == ["/run/buildkit/ssh_agent.0", "/t",
                                          "/run/buildkit/ssh_agent.1"]


@pytest.mark.parametrize("text, message", [
    ("type=volume,target=/v", "unsupported mount type 'volume'"),
    ("type=cache,target=/c,colour=blue", "unexpected key 'colour' for a cache mount"),
    ("type=cache", "a cache mount needs a target"),
    ("type=tmpfs,target=/t,id=x", "unexpected key 'id' for a tmpfs mount"),
    ("type=cache,target=/c,sharing=some", "invalid sharing"),
    ("type=cache,target=/c,mode=9", "invalid mode"),
    ("type=bind,target=/", "cannot cover /"),
    ("type=secret", "needs an id or a target"),
])
def test_bad_mounts(text, message):
    with pytest.raises(MountError, match=message):
        parse_mount(text, {}, "/")


def test_platforms():
    assert str(platforms.parse("linux/arm/v7")) == "linux/arm/v7"
    assert platforms.parse("x86_64") == platforms.Platform("linux", "amd64")
    assert platforms.parse("linux/arm64/v8") == platforms.Platform("linux", "arm64")
    args = platforms.build_args(platforms.Platform("linux", "amd64"),
                                platforms.Platform("linux", "arm", "v7"))
    assert (args["TARGETPLATFORM"], args["TARGETARCH"], args["TARGETVARIANT"],
            args["BUILDPLATFORM"]) == ("linux/arm/v7", "arm", "v7", "linux/amd64")
    with pytest.raises(platforms.PlatformError):
        platforms.parse("linux/")
    assert platforms.runnable(platforms.host())


def test_runnable_needs_a_binfmt_handler(tmp_path):
    foreign = platforms.Platform("linux", "riscv64" if platforms.host().arch != "riscv64"
                                 else "s390x")
    assert not platforms.runnable(foreign, str(tmp_path))
    (tmp_path / f"qemu-{foreign.arch}").write_text("enabled\ninterpreter /usr/bin/qemu\n")
    assert platforms.runnable(foreign, str(tmp_path))
    assert not platforms.runnable(platforms.Platform("windows", platforms.host().arch))


def test_symbolic_chmod():
    assert symbolic_mode("u+x,go-r", 0o644, False) == 0o700
    assert symbolic_mode("a=rX", 0o644, True) == 0o555
    assert symbolic_mode("a=rX", 0o644, False) == 0o444
    assert symbolic_mode("g+s,o=", 0o755, True) == 0o2750


def test_git_sources():
    assert is_git("https://example.com/x/y.git#main:sub") and is_git("git@host:x/y.git")
    assert not is_git("https://example.com/archive.tar.gz")


def test_only_the_stages_a_target_needs():
    df = parse("FROM x AS a\nFROM x AS unused\nRUN exit 1\nFROM x AS b\n"
               "RUN --mount=type=bind,from=a,target=/a true\nFROM b\nCOPY --from=0 / /\n")
    assert _needed(df.stages, 3) == [0, 2, 3]
    assert _needed(df.stages, 1) == [1]
    dynamic = parse("FROM x AS a\nFROM x\nCOPY --from=$STAGE / /\n")
    assert _needed(dynamic.stages, 1) == [0, 1]
