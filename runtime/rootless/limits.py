"""Resource limits without root: a user namespace may not write this machine's cgroups
(cgroup v1, or v2 without systemd's delegation), so a container runs without its own
cgroup, and the limits it asked for are named, never silently dropped."""
from __future__ import annotations

import dataclasses

from ..spec import Resources

# Resources field -> the name a compose file or `docker run` gives it
NAMES = {"memory": "memory", "memory_swap": "memswap_limit", "cpus": "cpus",
         "cpu_shares": "cpu_shares", "pids": "pids_limit",
         "memory_reservation": "mem_reservation", "cpuset": "cpuset",
         "swappiness": "mem_swappiness", "cpu_quota": "cpu_quota", "cpu_period": "cpu_period",
         "cpuset_mems": "cpuset_mems", "oom_kill_disable": "oom_kill_disable",
         "blkio_weight": "blkio weight", "blkio_weight_device": "blkio weight_device",
         "device_read_bps": "device_read_bps", "device_write_bps": "device_write_bps",
         "device_read_iops": "device_read_iops", "device_write_iops": "device_write_iops"}


def unapplied(resources: Resources) -> tuple[str, ...]:
    """One warning naming every limit of `resources` (none when it sets none)."""
    from ..create import DEFAULT_PIDS_LIMIT

    asked = dataclasses.replace(resources, pids=None) if resources.pids == DEFAULT_PIDS_LIMIT \
        else resources  # berth's own default limit is not the user's to be told about
    names = [name for field, name in NAMES.items() if getattr(asked, field)]
    if not names:
        return ()
    return ("limits not applied without root (this machine's cgroups are not delegated to "
            "the user): " + ", ".join(names),)
