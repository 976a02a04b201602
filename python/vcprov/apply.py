"""Bring one device to its standard: plan, snapshot, apply, verify; restore on failure.

This is the one place a configuration change happens; the Ansible modules
(``vc_endpoint_config``, ``vc_switch_config``) and the CLI call :func:`apply_device`.

For every device:

1. open one session (always closed again), plan the changes against ``desired``;
2. nothing to change: done, ``changed`` false;
3. a codec in a call: changes that need a restart are *deferred* (never applied);
4. check mode stops here: the exact vendor keys/values or CLI lines are returned, the
   device received no write;
5. snapshot (to the controller, no secrets), apply, read back (verify);
6. any failure after the snapshot: restore it (a new session, retried: a dropped SSH
   session keeps what it sent, the rollback lines are recomputed each time) and report
   the failure with what was restored;
7. a codec whose applied changes need a restart is restarted and waited for.

:func:`restore_device` undoes a device's change from its snapshot (the site change set: a
codec's failure rolls back its switch port and the other way round).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import snapshots
from .devices import driver_for
from .devices.base import (
    ApplyError,
    AuthFailed,
    Change,
    DeviceError,
    Endpoint,
    Snapshot,
    Switch,
    Target,
    Unreachable,
)

RESTORE_ATTEMPTS = 5


@dataclass
class Outcome:
    """What happened to one device, in the shape Ansible modules return."""

    name: str
    role: str
    changed: bool = False
    failed: bool = False
    unreachable: bool = False
    msg: str = ""
    changes: list[dict[str, Any]] = field(default_factory=list)
    # What goes to the device: vendor key -> value (codecs) or CLI lines (switches).
    writes: dict[str, str] | list[str] = field(default_factory=list)
    deferred: list[dict[str, Any]] = field(default_factory=list)
    unsupported: dict[str, str] = field(default_factory=dict)
    snapshot: str | None = None
    restored: bool = False
    rebooted: bool = False
    check: bool = False
    diff: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "[]"
    return str(value)


def diff_of(changes: list[Change]) -> dict[str, str]:
    """Ansible's ``--diff`` before/after text: one line per setting, vendor key beside it."""
    before, after = [], []
    for c in changes:
        shown = c.as_dict()
        label = f"{c.setting} ({c.vendor_key})"
        before.append(f"{label}: {_shown(shown['before'])}\n")
        after.append(f"{label}: {_shown(shown['after'])}\n")
        for line in shown["lines"]:
            after.append(f"    {line}\n")
    return {"before": "".join(before), "after": "".join(after)}


def _restore(target: Target, snap: Snapshot) -> str:
    """Restore ``snap`` on a new session, a few times if the device drops us.  '' or why not."""
    last = ""
    for attempt in range(RESTORE_ATTEMPTS):
        try:
            with driver_for(target) as drv:
                drv.restore(snap)  # type: ignore[attr-defined]
            return ""
        except DeviceError as exc:
            last = exc.message
            time.sleep(0.2 * (attempt + 1))
    return last


def wait_back(target: Target, timeout: float, poll: float = 1.0) -> bool:
    """After a restart: True once the device answers a login again (within ``timeout``)."""
    deadline = time.monotonic() + timeout
    time.sleep(min(poll, timeout / 10))
    while time.monotonic() < deadline:
        try:
            with driver_for(target) as drv:
                drv.facts()
            return True
        except DeviceError:
            time.sleep(min(poll, max(0.05, timeout / 50)))
    return False


def apply_device(
    target: Target,
    desired: Mapping[str, Any],
    *,
    check: bool = False,
    state: Path | None = None,
    reboot: bool = True,
    reboot_timeout: float = 600.0,
    only: set[str] | None = None,
) -> Outcome:
    """Bring ``target`` to ``desired`` (neutral settings, secrets resolved); with ``only``,
    just those settings (``vcprov check --fix`` heals the classes the policy allows)."""
    drv = driver_for(target)
    assert isinstance(drv, (Endpoint, Switch))
    role = "switch" if isinstance(drv, Switch) else "endpoint"
    out = Outcome(target.name, role, check=check)
    snap: Snapshot | None = None
    try:
        with drv:
            changes = drv.plan(desired)
            if only is not None:
                changes = [c for c in changes if c.setting in only]
            if isinstance(drv, Endpoint):
                out.unsupported = {s: why for s, why in drv.unsupported().items() if s in desired}
            if not changes:
                out.msg = "holds the standard"
                return out
            restart = any(c.reboot for c in changes)
            if restart and isinstance(drv, Endpoint) and drv.status().in_call:
                deferred = [c for c in changes if c.reboot]
                changes = [c for c in changes if not c.reboot]
                out.deferred = [c.as_dict() for c in deferred]
            out.changes = [c.as_dict() for c in changes]
            out.writes = _writes(drv, changes)
            out.diff = diff_of(changes)
            out.changed = bool(changes)
            if check or not changes:
                out.msg = _summary(out)
                return out
            snap = drv.snapshot()
            if state is not None:
                out.snapshot = str(snapshots.save(state, snap, "apply"))
            drv.apply(changes)
            held_back = {d["setting"] for d in out.deferred}
            left = drv.plan({k: v for k, v in desired.items() if k not in held_back})
            if only is not None:
                left = [c for c in left if c.setting in only]
            if left:
                raise ApplyError(
                    target.name,
                    "the device did not keep " + ", ".join(c.setting for c in left),
                )
            needs_restart = any(c.reboot for c in changes)
            if needs_restart and reboot and isinstance(drv, Endpoint):
                drv.reboot()
        if needs_restart and reboot:
            out.rebooted = True
            if not wait_back(target, reboot_timeout):
                out.failed = True
                out.msg = (
                    f"restarted for {_reboot_settings(changes)} and not back in "
                    f"{reboot_timeout:.0f} s"
                )
                return out
        out.msg = _summary(out)
        return out
    except Unreachable as exc:
        return _failed(out, target, snap, exc, unreachable=snap is None)
    except AuthFailed as exc:
        return _failed(out, target, snap, exc)
    except DeviceError as exc:
        return _failed(out, target, snap, exc)


def _writes(drv: Endpoint | Switch, changes: list[Change]) -> dict[str, str] | list[str]:
    """The exact vendor writes, secrets shown as <secret>."""
    secret_keys = {c.vendor_key for c in changes if c.secret}
    if isinstance(drv, Endpoint):
        values = drv.writes(changes)
        hidden = {str(c.after) for c in changes if c.secret}
        return {
            k: "<secret>" if (k in secret_keys or v in hidden) else v for k, v in values.items()
        }
    if any(c.secret for c in changes):
        hidden = {str(c.after) for c in changes if c.secret}
        return [
            "<secret>" if any(h and h in line for h in hidden) else line
            for line in drv.lines(changes)
        ]
    return drv.lines(changes)


def _reboot_settings(changes: list[Change]) -> str:
    return ", ".join(c.setting for c in changes if c.reboot)


def _summary(out: Outcome) -> str:
    verb = "would change" if out.check else "changed"
    parts = []
    if out.changes:
        parts.append(f"{verb} {len(out.changes)} setting(s)")
    if out.deferred:
        names = ", ".join(d["setting"] for d in out.deferred)
        parts.append(f"deferred {len(out.deferred)} needing a restart (in a call): {names}")
    if out.rebooted:
        parts.append("restarted")
    return "; ".join(parts) or "holds the standard"


def _failed(
    out: Outcome,
    target: Target,
    snap: Snapshot | None,
    exc: DeviceError,
    *,
    unreachable: bool = False,
) -> Outcome:
    out.failed = not unreachable
    out.unreachable = unreachable
    out.changed = False
    if snap is None:
        out.msg = exc.message if exc.device == target.name else str(exc)
        return out
    problem = _restore(target, snap)
    if problem:
        out.msg = (
            f"{exc.message}; RESTORE FAILED ({problem}): the device may be half-changed, "
            f"snapshot {out.snapshot or '(not saved)'}"
        )
    else:
        out.restored = True
        out.msg = f"{exc.message}; snapshot restored, the device is as it was"
    return out


def restore_device(target: Target, snapshot_path: str | Path) -> str:
    """Put back the snapshot a change took (site change set): '' when done, else why not."""
    return _restore(target, snapshots.load(snapshot_path))
