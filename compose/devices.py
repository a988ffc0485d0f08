"""Device reservations (`gpus:`, deploy.resources.reservations.devices) -> the host's
device nodes a container gets, with their cgroup rules. Pure: the host's GPUs are given.

berth passes NVIDIA GPUs through as docker's nvidia runtime does at its core: the device
node of each GPU asked for (by count, all, or index in device_ids) and the driver's
shared nodes (nvidiactl, nvidia-uvm...). The driver's libraries are the image's to
bring (CUDA images do). Anything it cannot give is an error naming the service, before
anything is created.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import ComposeError
from .model import Device, Service


@dataclass(frozen=True)
class HostGpus:
    gpus: tuple[str, ...] = ()  # each GPU's device node, by index (/dev/nvidia0...)
    shared: tuple[str, ...] = ()  # what every GPU user needs (/dev/nvidiactl...)


def gpu_devices(svc: Service, host: HostGpus) -> tuple[Device, ...]:
    """The devices `svc`'s reservations come to on this host."""
    chosen: dict[str, None] = {}
    for request in svc.device_requests:
        what = f"service {svc.name!r}"
        unknown = [c for c in request.capabilities if c not in ("gpu", "nvidia", "compute",
                                                                "utility")]
        if unknown:
            raise ComposeError(f"{what}: device capability {unknown[0]!r} is not supported "
                               "by berth (it passes GPUs through)")
        if request.driver not in (None, "nvidia"):
            raise ComposeError(f"{what}: device driver {request.driver!r} is not supported "
                               "by berth (it passes NVIDIA GPUs through: driver nvidia)")
        if not host.gpus:
            raise ComposeError(f"{what} asks for GPUs, and this host has none (no "
                               "/dev/nvidia[0-9]* device; is the NVIDIA driver loaded?)")
        if request.device_ids:
            for index in request.device_ids:
                if not index.isdigit() or int(index) >= len(host.gpus):
                    raise ComposeError(f"{what} asks for GPU {index!r}; this host has "
                                       f"{len(host.gpus)} (0 to {len(host.gpus) - 1})")
                chosen[host.gpus[int(index)]] = None
        elif request.count is None:
            chosen.update(dict.fromkeys(host.gpus))
        elif request.count > len(host.gpus):
            raise ComposeError(f"{what} asks for {request.count} GPUs; this host has "
                               f"{len(host.gpus)}")
        else:
            chosen.update(dict.fromkeys(host.gpus[:request.count]))
    if not chosen:
        return ()
    return tuple(Device(source=node, target=node) for node in [*chosen, *host.shared])
