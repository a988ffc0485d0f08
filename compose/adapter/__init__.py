"""The adapter: the Backend (compose.backend) on berth's own runtime. The only part of
the compose layer that imports the runtime (besides the docker-like commands, which use
its public facade, runtime.api)."""
from .runtime_backend import RuntimeBackend

__all__ = ["RuntimeBackend"]
