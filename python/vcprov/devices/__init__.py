"""Device drivers: one module per device family, behind :class:`Endpoint` and :class:`Switch`."""

from __future__ import annotations

from .base import (
    UNREADABLE,
    ApplyError,
    AuthFailed,
    Change,
    DeviceError,
    Driver,
    Endpoint,
    EndpointStatus,
    Facts,
    ProtocolError,
    Snapshot,
    Switch,
    Target,
)
from .base import Unreachable as Unreachable

__all__ = [
    "UNREADABLE",
    "ApplyError",
    "AuthFailed",
    "Change",
    "DeviceError",
    "Driver",
    "Endpoint",
    "EndpointStatus",
    "Facts",
    "ProtocolError",
    "Snapshot",
    "Switch",
    "Target",
    "Unreachable",
    "driver_for",
]


def driver_for(target: Target) -> Driver:
    """The driver of a device's family."""
    if target.family in ("poly-group-series", "poly-os"):
        from .poly import PolyEndpoint

        return PolyEndpoint(target)
    if target.family == "cisco-roomos":
        from .cisco_roomos import RoomOSEndpoint

        return RoomOSEndpoint(target)
    if target.family in ("cisco-ios", "cisco-iosxe", "huawei-vrp"):
        from .switch import CliSwitch

        return CliSwitch(target)
    raise ValueError(f"{target.name}: unknown device family {target.family!r}")
