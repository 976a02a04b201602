"""The two interfaces every device driver implements, and what they return.

Callers never branch on the vendor: they ask :func:`vcprov.devices.driver_for` for a
driver and use :class:`Endpoint` or :class:`Switch`.  A driver opens one session per device
per run (``with driver:``) and always closes it (Poly devices lock up when sessions leak).
Drivers know nothing of Ansible.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Self


class DeviceError(Exception):
    """A device could not do what was asked.  ``kind`` says why, for reports."""

    kind = "error"

    def __init__(self, device: str, message: str):
        super().__init__(f"{device}: {message}")
        self.device = device
        self.message = message


class Unreachable(DeviceError):
    """No answer (refused, timed out, dropped, rate-limited beyond retries)."""

    kind = "unreachable"


class AuthFailed(DeviceError):
    """The device refused the credentials."""

    kind = "auth"


class ProtocolError(DeviceError):
    """The device answered something the driver does not understand."""

    kind = "protocol"


@dataclass
class Target:
    """How to reach one device (from the inventory or lab.json)."""

    name: str
    family: str
    host: str
    port: int
    username: str
    password: str = field(repr=False)
    model: str = ""
    timeout: float = 30.0
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_lab(cls, row: dict[str, Any], **overrides: Any) -> Target:
        values = {
            "name": row["name"],
            "family": row["family"],
            "host": row["host"],
            "port": int(row["port"]),
            "username": row["username"],
            "password": row["password"],
            "model": row.get("model", ""),
        }
        values.update(overrides)
        return cls(**values)


@dataclass
class Facts:
    """Who a device is."""

    name: str
    family: str
    vendor: str
    model: str
    serial: str
    version: str
    system_name: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Driver:
    """Session handling shared by both interfaces: ``with driver: ...``."""

    family = ""
    vendor = ""

    def __init__(self, target: Target):
        self.target = target

    def open(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def facts(self) -> Facts:
        raise NotImplementedError


class Endpoint(Driver):
    """A room codec (Poly REST, Cisco xAPI)."""


class Switch(Driver):
    """An access switch (CLI over SSH through netmiko)."""
