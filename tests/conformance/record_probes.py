"""Re-record what `docker run` prints for each probe: `python3 -m
tests.conformance.record_probes [GROUP/NAME...]` where `dockerd` runs (Debian's
docker.io). Probes marked `by_hand` are left as they are."""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from .probes import expected, load_probes, write_expected
from .record import DOCKER, import_base, version


def main(selected: list[str]) -> None:
    probes = [p for p in load_probes() if not selected or p.id in selected or p.group in selected]
    env = {**os.environ, "PROBE_FROM_HOST": "from the host"}
    env.pop("PROBE_UNSET_VARIABLE", None)
    with tempfile.TemporaryDirectory() as tmp:
        import_base(Path(tmp))
        groups: dict[str, dict] = {}
        for probe in probes:
            values = groups.setdefault(probe.group, expected(probe.group))
            if probe.by_hand:
                continue
            result = probe.run([DOCKER], Path(tmp) / probe.name, env)
            values[probe.name] = {**result, "recorded": f"docker {version()}"}
            print(f"{probe.id}: exit {result['exit']}")
        for group, values in groups.items():
            write_expected(group, values)
        if not selected or "inspect" in selected:
            from .inspect_cases import CASES, EXPECTED_PATH, inspect_case

            recorded = {name: inspect_case([DOCKER], name) for name in CASES}
            EXPECTED_PATH.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
