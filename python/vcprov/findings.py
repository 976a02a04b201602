"""The data model of the nightly drift check: findings, device results, one run.

The check engine (:mod:`vcprov.check`) fills a :class:`CheckRun` with one
:class:`DeviceResult` per device and their :class:`Finding` objects; everything downstream
works on that: waivers (:mod:`vcprov.waivers`), history and ``first_seen``
(:mod:`vcprov.history`), the JSON, HTML and JUnit reports (:mod:`vcprov.report`) and the
morning mail (:mod:`vcprov.mail`).

Device statuses: ``compliant``, ``drifted``, ``unreachable`` (no answer), ``error`` (refused
credentials, an answer the driver does not understand) and ``waived`` (every finding is
covered by a waiver that has not expired).  Finding kinds: ``drifted`` (the value differs),
``missing`` (a line or key the standard needs is absent), ``extra`` (something the
standard forbids is present).

Secrets: a finding about a secret setting (``SETTINGS[name].secret``) holds ``<secret>``
as its expected and actual value from the moment it is made, so that no output (report,
history, mail, ``repr``) can ever show the value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .standard import SETTINGS

__all__ = [
    "CHECK_SETTINGS",
    "KINDS",
    "PROBLEM_STATUSES",
    "ROLES",
    "SECRET",
    "STATUSES",
    "UNKNOWN_STATUSES",
    "CheckRun",
    "DeviceResult",
    "Finding",
    "finalise_status",
    "is_secret",
    "known_settings",
    "plain",
    "sites",
]

SECRET = "<secret>"
STATUSES = ("compliant", "drifted", "unreachable", "error", "waived")
# A device in one of these was not read: its findings are unknown, not absent.
UNKNOWN_STATUSES = ("unreachable", "error")
# Statuses that fail a run (JUnit failure, mail subject).
PROBLEM_STATUSES = ("drifted", "unreachable", "error")
KINDS = ("drifted", "missing", "extra")
ROLES = ("endpoint", "switch")

# Settings the check reports that are not settings of the standard: checks across two
# devices of a site.  Waivers may name them as they name the settings of the standard.
CHECK_SETTINGS: dict[str, str] = {
    "qos.codec_switch_consistency": "the codec's DSCP marking is trusted by its switch port "
    "and EF (46) lands in the port's priority queue",
}

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def known_settings() -> set[str]:
    """Every setting name a finding (and so a waiver) may carry."""
    return set(SETTINGS) | set(CHECK_SETTINGS)


def is_secret(setting: str) -> bool:
    s = SETTINGS.get(setting)
    return s is not None and s.secret


def plain(value: Any) -> Any:
    """``value`` as JSON can hold it: containers recursively, anything else as ``str``."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    return str(value)


@dataclass
class Finding:
    """One difference between a device and the standard.

    ``first_seen`` and ``new`` are set by :func:`vcprov.history.record` from the previous
    run; ``waiver`` by :func:`vcprov.waivers.apply` (``{"device", "setting", "reason",
    "owner", "expires"}``, plus ``"expired": True`` when the waiver matched but expired and
    so no longer waives).  ``devices``: the devices a cross-device finding is about (the
    codec and its switch), empty for a finding about its own device only.
    """

    setting: str
    vendor_key: str
    kind: str  # drifted | missing | extra
    expected: Any
    actual: Any
    first_seen: str | None = None  # ISO date (YYYY-MM-DD) or date and time
    new: bool = True
    waiver: dict[str, Any] | None = None
    devices: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(
                f"finding {self.setting}: kind {self.kind!r} is not one of {', '.join(KINDS)}"
            )
        if is_secret(self.setting):
            self.expected = SECRET
            self.actual = SECRET
        self.devices = [str(d) for d in self.devices]

    @property
    def secret(self) -> bool:
        return is_secret(self.setting)

    @property
    def waived(self) -> bool:
        """Covered by a waiver that has not expired."""
        return self.waiver is not None and not self.waiver.get("expired", False)

    @property
    def waiver_expired(self) -> bool:
        return self.waiver is not None and bool(self.waiver.get("expired", False))

    def key(self) -> tuple[str, str, tuple[str, ...]]:
        """Identity across runs on one device: setting and kind (and the devices of a
        cross-device finding).  The vendor key and the values may change while the finding
        stays the same finding (its ``first_seen`` is kept)."""
        return (self.setting, self.kind, tuple(sorted(self.devices)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "setting": self.setting,
            "vendor_key": self.vendor_key,
            "kind": self.kind,
            "expected": plain(self.expected),
            "actual": plain(self.actual),
            "first_seen": self.first_seen,
            "new": self.new,
            "waiver": dict(self.waiver) if self.waiver is not None else None,
            "devices": list(self.devices),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        return cls(
            setting=str(data["setting"]),
            vendor_key=str(data.get("vendor_key", "")),
            kind=str(data["kind"]),
            expected=data.get("expected"),
            actual=data.get("actual"),
            first_seen=data.get("first_seen"),
            new=bool(data.get("new", True)),
            waiver=dict(data["waiver"]) if data.get("waiver") else None,
            devices=list(data.get("devices") or []),
        )


@dataclass
class DeviceResult:
    """One device in one run.  ``config``: what was collected from it (already redacted by
    the caller), for the history: a switch's running configuration (text) or a codec's
    key/values (mapping); None when the device was not read."""

    name: str
    site: str
    site_name: str
    family: str
    role: str  # endpoint | switch
    status: str = "compliant"
    findings: list[Finding] = field(default_factory=list)
    error: str = ""
    config: dict[str, Any] | str | None = field(default=None, repr=False)
    model: str = ""
    version: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(
                f"device {self.name}: status {self.status!r} is not one of {', '.join(STATUSES)}"
            )

    @property
    def reached(self) -> bool:
        """The device was read (its findings are known)."""
        return self.status not in UNKNOWN_STATUSES

    def to_dict(self) -> dict[str, Any]:
        """The report's view of the device (no configuration)."""
        return {
            "name": self.name,
            "site": self.site,
            "site_name": self.site_name,
            "family": self.family,
            "role": self.role,
            "model": self.model,
            "version": self.version,
            "status": self.status,
            "error": self.error,
            "findings": [f.to_dict() for f in self.findings],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DeviceResult:
        """From a report's device (or the check engine's row); ``findings`` may be dicts."""
        findings = [
            f if isinstance(f, Finding) else Finding.from_dict(f)
            for f in data.get("findings") or []
        ]
        return cls(
            name=str(data["name"]),
            site=str(data.get("site", "")),
            site_name=str(data.get("site_name", "")),
            family=str(data.get("family", "")),
            role=str(data.get("role", "")),
            status=str(data.get("status", "compliant")),
            findings=findings,
            error=str(data.get("error") or ""),
            config=data.get("config"),
            model=str(data.get("model") or ""),
            version=str(data.get("version") or ""),
        )


def finalise_status(device: DeviceResult) -> None:
    """Set ``device.status`` from its findings: unreachable and error are kept (nothing is
    known); no finding -> compliant; every finding waived -> waived; else drifted."""
    if device.status in UNKNOWN_STATUSES:
        return
    if not device.findings:
        device.status = "compliant"
    elif all(f.waived for f in device.findings):
        device.status = "waived"
    else:
        device.status = "drifted"


@dataclass
class CheckRun:
    """One run of the check.  ``started``/``finished``: ISO 8601 date and time (with the
    UTC offset); ``inventory``: the inventory it ran on; ``limit``: the ``--limit`` given
    (None: every device).  ``resolved``: findings of the previous run that are gone (set by
    :func:`vcprov.history.record`), each ``{"device", "site", "setting", "vendor_key",
    "kind", "expected", "actual", "first_seen", "devices"}``.  ``waivers``: the waivers of
    the inventory with their state in this run (set by :func:`vcprov.waivers.apply`).
    ``previous_status``: device -> status of the previous run (set by ``history.record``;
    None: no history)."""

    started: str
    finished: str
    inventory: str
    limit: str | None = None
    devices: list[DeviceResult] = field(default_factory=list)
    resolved: list[dict[str, Any]] = field(default_factory=list)
    waivers: list[dict[str, Any]] = field(default_factory=list)
    previous_status: dict[str, str] | None = None

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for dev in self.devices:
            if dev.name in seen:
                raise ValueError(f"device {dev.name} appears twice in the run")
            seen.add(dev.name)

    def __iter__(self) -> Iterator[DeviceResult]:
        return iter(self.devices)

    def device(self, name: str) -> DeviceResult:
        for dev in self.devices:
            if dev.name == name:
                return dev
        raise KeyError(name)

    def summary(self) -> dict[str, int]:
        """Devices per status; all five statuses always present."""
        counts = dict.fromkeys(STATUSES, 0)
        for dev in self.devices:
            counts[dev.status] += 1
        return counts

    def finalise(self) -> None:
        for dev in self.devices:
            finalise_status(dev)

    def findings(self) -> Iterator[tuple[DeviceResult, Finding]]:
        for dev in self.devices:
            for f in dev.findings:
                yield dev, f

    def new_findings(self) -> list[tuple[DeviceResult, Finding]]:
        return [(d, f) for d, f in self.findings() if f.new]

    def status_changes(self) -> list[tuple[str, str | None, str]]:
        """(device, previous status or None for a device new to the history, status now),
        for every device whose status changed since the previous run; empty without a
        history."""
        if self.previous_status is None:
            return []
        return [
            (d.name, self.previous_status.get(d.name), d.status)
            for d in self.devices
            if self.previous_status.get(d.name) != d.status
        ]

    @property
    def date(self) -> str:
        """The run's date (YYYY-MM-DD), from ``started``."""
        m = _DATE.match(self.started)
        if m is None:
            raise ValueError(f"run started {self.started!r} is not an ISO 8601 date and time")
        return m.group(0)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> CheckRun:
        """From a ``--json`` report (or the check engine's document of the same shape)."""
        run = doc.get("run") or {}
        return cls(
            started=str(run.get("started", "")),
            finished=str(run.get("finished", "")),
            inventory=str(run.get("inventory", "")),
            limit=run.get("limit"),
            devices=[DeviceResult.from_dict(d) for d in doc.get("devices") or []],
            resolved=[dict(r) for r in run.get("resolved") or []],
            waivers=[dict(w) for w in doc.get("waivers") or []],
        )


def sites(devices: Iterable[DeviceResult]) -> list[tuple[str, str, list[DeviceResult]]]:
    """(site, site name, its devices) in the order of first appearance."""
    grouped: dict[str, tuple[str, list[DeviceResult]]] = {}
    for dev in devices:
        grouped.setdefault(dev.site, (dev.site_name, []))[1].append(dev)
    return [(site, name, devs) for site, (name, devs) in grouped.items()]
