"""depends_on conditions, judged on a container's observed state (pure)."""
from __future__ import annotations

from .labels import ContainerInfo

STARTED, HEALTHY, COMPLETED = ("service_started", "service_healthy",
                               "service_completed_successfully")


def judge(info: ContainerInfo, condition: str) -> bool | None:
    """True: reached; False: can no longer reach it; None: not yet."""
    if condition == COMPLETED:
        if info.status in ("exited", "dead"):
            return info.exit_code == 0
        return None
    if info.status in ("exited", "dead"):
        return False
    if condition == HEALTHY:
        if info.health is None or info.health == "unhealthy":
            return False
        return True if info.health == "healthy" else None
    return True if info.status in ("running", "paused") else None


def failure(info: ContainerInfo, condition: str) -> str:
    """Why `info` can no longer reach `condition`."""
    if condition == HEALTHY and info.health is None and info.status == "running":
        return f"container {info.name} has no healthcheck, so it can never be healthy"
    if info.health == "unhealthy":
        return f"container {info.name} is unhealthy"
    if condition == COMPLETED:
        return f"container {info.name} exited with code {info.exit_code}"
    detail = f": {info.error}" if info.error else ""
    return f"container {info.name} exited with code {info.exit_code}{detail}"
