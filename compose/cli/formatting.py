"""How the CLI shows things: tables, docker's `--format` templates, sizes, ages, CPU
shares, process rows."""
from __future__ import annotations

import os
import re
import time

import typer

from common.units import human_duration


def print_table(rows: list[list[str]], headers: list[str]) -> None:
    typer.echo(table_text(rows, headers))


def table_text(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    return "\n".join("   ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
                     for row in [headers] + rows)


def render_template(template: str, values: dict) -> str:
    """docker's `--format '{{.Name}}\\t{{.State}}'`: fields and \\t; nothing else of Go's
    templates."""
    def field(match: "re.Match") -> str:
        if match.group(1) not in values:
            raise typer.BadParameter(f"no field {match.group(1)!r} (there are "
                                     f"{', '.join(values)})", param_hint="--format")
        return str(values[match.group(1)])

    return re.sub(r"\{\{\s*\.(\w+)\s*\}\}", field, template.replace("\\t", "\t"))


def human_size(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.3g}{unit}" if unit != "B" else f"{int(size)}B"
        size /= 1000
    return f"{size:.3g}GB"


def human_ago(when: float) -> str:
    return f"{human_duration(time.time() - when)} ago"


def cpu_percent(used_ns: int, previous_ns: int, elapsed: float) -> float:
    """CPU use between two readings of a cumulative counter, as docker stats shows it."""
    return (used_ns - previous_ns) / max(1e-9, elapsed * 1e9) * 100


def process_rows(pids: list[int]) -> list[list[str]]:
    """PID, USER, TIME, COMMAND of host pids, read from /proc."""
    import pwd

    ticks = os.sysconf("SC_CLK_TCK")
    rows = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                stat = handle.read()
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace").strip()
            uid = os.stat(f"/proc/{pid}").st_uid
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2:].split()
        cpu = (int(fields[11]) + int(fields[12])) // ticks
        try:
            user = pwd.getpwuid(uid).pw_name
        except KeyError:
            user = str(uid)
        rows.append([str(pid), user, time.strftime("%H:%M:%S", time.gmtime(cpu)), cmdline])
    return rows
