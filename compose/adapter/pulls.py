"""When each image was last pulled, under BERTH_ROOT (compose/pulls.json): what the
refreshing pull policies (daily, weekly, every_<duration>, refresh) compare with now."""
from __future__ import annotations

import time
from pathlib import Path

from runtime.fsutil import locked, make_dir, read_json, write_json


class PullRecord:
    def __init__(self, root: Path, locks: Path) -> None:
        self.path = root / "compose" / "pulls.json"
        self.lock = locks / "compose-pulls.lock"

    def last(self, ref: str) -> float | None:
        value = (read_json(self.path, {}) or {}).get(ref)
        return float(value) if isinstance(value, (int, float)) else None

    def note(self, ref: str, when: float | None = None) -> None:
        """Record a pull of `ref` (now, unless `when` says otherwise)."""
        with locked(self.lock):
            make_dir(self.path.parent, 0o700)
            record = read_json(self.path, {}) or {}
            record[ref] = time.time() if when is None else when
            write_json(self.path, record)
