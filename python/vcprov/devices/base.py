"""The two interfaces every device driver implements, and what they return.

Callers never branch on the vendor: they ask :func:`vcprov.devices.driver_for` for a
driver and use :class:`Endpoint` or :class:`Switch`.  A driver opens one session per device
per run (``with driver:``) and always closes it (Poly devices lock up when sessions leak).
Drivers know nothing of Ansible.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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


class ApplyError(DeviceError):
    """The device refused part of a change (per-var error, CLI error, 503, drop)."""

    kind = "apply"


class Unreadable:
    """A value the device does not reveal (a secret read back as *** or hidden)."""

    def __repr__(self) -> str:
        return "<unreadable>"


UNREADABLE = Unreadable()


@dataclass
class Change:
    """One setting to change: neutral name, vendor key, value before and after.

    ``before``/``after`` are in the neutral form of the standard (ints, bools, strings,
    lists).  A secret change is shown redacted everywhere (``as_dict``).  ``reboot``: the
    device needs a reboot for the change to take effect (never applied to a codec in a
    call; reported as deferred).  For switches, ``lines`` are the CLI lines that make it.
    """

    setting: str
    vendor_key: str
    before: Any
    after: Any
    secret: bool = False
    reboot: bool = False
    lines: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        hide = "<secret>" if self.secret else None
        before = self.before
        if isinstance(before, Unreadable):
            before = "<unreadable>"
        return {
            "setting": self.setting,
            "vendor_key": self.vendor_key,
            "before": hide or before,
            "after": hide or self.after,
            "reboot": self.reboot,
            "lines": ["<secret>"] * len(self.lines) if self.secret else list(self.lines),
        }


@dataclass
class Snapshot:
    """What a device held before a change: enough to restore it.  Never holds secrets."""

    device: str
    family: str
    version: str
    taken: str  # ISO 8601 time
    data: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class EndpointStatus:
    sip_registered: bool
    h323_registered: bool
    in_call: bool
    reboot_needed: bool = False
    items: dict[str, str] = field(default_factory=dict)


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
    """A room codec (Poly REST, Cisco xAPI).

    Settings are named as in the standard (``qos.dscp.audio``); the driver maps each to its
    vendor key.  Settings the family has no key for are in ``unsupported()``.
    """

    def keymap(self) -> dict[str, str]:
        """Neutral setting -> the vendor key an operator finds on the device's own pages."""
        raise NotImplementedError

    def unsupported(self) -> dict[str, str]:
        """Neutral setting -> why this family has no such setting."""
        return {}

    def read(self, settings: Iterable[str]) -> dict[str, Any]:
        """Current values, neutral form; ``UNREADABLE`` for secrets the device hides."""
        raise NotImplementedError

    def plan(self, desired: Mapping[str, Any]) -> list[Change]:
        """The changes that bring the device to ``desired`` (empty when it holds it)."""
        raise NotImplementedError

    def apply(self, changes: list[Change]) -> None:
        """Write the changes; raise ApplyError when any is refused (caller restores)."""
        raise NotImplementedError

    def snapshot(self) -> Snapshot:
        raise NotImplementedError

    def restore(self, snapshot: Snapshot) -> None:
        raise NotImplementedError

    def status(self) -> EndpointStatus:
        raise NotImplementedError

    def reboot(self) -> None:
        """Ask the codec to restart now (it goes away and comes back on its own)."""
        raise NotImplementedError

    def writes(self, changes: list[Change]) -> dict[str, str]:
        """The exact vendor keys and values ``apply(changes)`` sends (check mode shows them)."""
        raise NotImplementedError

    # --- firmware (issue 6: vcprov.firmware drives these; see docs/firmware.md) ---------
    def start_upgrade(self, url: str) -> None:
        """Make the codec fetch the package at ``url`` and install it.  Returns once the
        device accepted the request; it then reboots on its own (the session may be gone)."""
        raise NotImplementedError

    def upgrade_status(self) -> dict[str, str]:
        """What the codec says of its software: ``version`` always; ``status``, ``phase``,
        ``message``, ``url`` where the family reports an upgrade under way (else "")."""
        raise NotImplementedError

    def upgrade_settings(self) -> dict[str, str]:
        """The device's own update settings that :meth:`start_upgrade` changes (vendor key
        -> value), so that the caller can put them back; empty when it changes none."""
        raise NotImplementedError

    def restore_upgrade_settings(self, values: Mapping[str, str]) -> None:
        """Put back what :meth:`upgrade_settings` returned (keys it does not name are left)."""
        raise NotImplementedError

    # --- onboarding
    def set_password(self, old: str, new: str) -> None:
        """Change the password of the account this session logged in with, from ``old`` to
        ``new``.  ``AuthFailed`` when the device says ``old`` is wrong, ``ApplyError`` when
        it refuses the change otherwise (or does not say why); neither password ever
        appears in an error."""
        raise NotImplementedError

    def dial(self, address: str, rate: int) -> dict[str, Any]:
        """Place a video call over SIP to ``address`` at ``rate`` kbps.  Returns the call as
        :meth:`calls` shows it (it may still be ringing); ``ApplyError`` when the device
        refuses to place it (not registered, far end not found...)."""
        raise NotImplementedError

    def calls(self) -> list[dict[str, Any]]:
        """The active calls, each ``{"id", "remote", "state", "rate", "encrypted",
        "protocol", "direction"}``: ``state`` lower case (``connected``, ``ringing``...),
        ``rate`` in kbps (int), ``encrypted`` a bool, ``protocol`` ``SIP`` or ``H323``,
        ``direction`` ``outgoing`` or ``incoming``."""
        raise NotImplementedError

    def hangup_all(self) -> int:
        """End every active call; returns how many the device was asked to end."""
        raise NotImplementedError


class Switch(Driver):
    """An access switch (CLI over SSH through netmiko).

    The standard owns the codec's port and the QoS globals that port needs; nothing else of
    the configuration is read into a plan or ever negated.
    """

    def running(self) -> str:
        raise NotImplementedError

    def plan(self, desired: Mapping[str, Any]) -> list[Change]:
        raise NotImplementedError

    def lines(self, changes: list[Change]) -> list[str]:
        """The exact configuration lines ``apply(changes)`` sends."""
        raise NotImplementedError

    def actual(self, desired: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Neutral values of the owned sections (``desired`` only names the settings)."""
        raise NotImplementedError

    def apply(self, changes: list[Change]) -> None:
        """Send the lines, then save only after every line succeeded."""
        raise NotImplementedError

    def snapshot(self) -> Snapshot:
        raise NotImplementedError

    def restore(self, snapshot: Snapshot) -> None:
        raise NotImplementedError
