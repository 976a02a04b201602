"""The drift check of one device, read-only: findings against its effective standard.

:func:`check_device` opens one session, reads what the standard owns and compares it with
``desired`` through the driver's own ``plan`` (the same comparison ``apply`` acts on, so a
check and an apply never disagree), and never writes.  :func:`qos_consistency` compares a
codec's DSCP marking with what its switch port does with it.

Statuses: ``compliant``, ``drifted``, ``unreachable`` (no answer), ``error`` (refused
credentials, an answer the driver does not understand); never compliant without a read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .devices import driver_for
from .devices.base import AuthFailed, Change, DeviceError, Endpoint, Switch, Target, Unreachable
from .standard import SETTINGS

SECRET = "<secret>"
FIRMWARE_KEY = {"endpoint": "software version", "switch": "software version"}
_SECRET_LINE = re.compile(
    r"^(\s*(?:snmp-server community|snmp-server host \S+(?: version \S+)?|"
    r"snmp-agent target-host .*? securityname|snmp-agent community"
    r"(?: read| write)?(?: cipher)?|username \S+(?: privilege \d+)? (?:secret|password)(?: \d+)?|"
    r"enable (?:secret|password)(?: \d+)?|local-user \S+ password(?: \S+)?))\s+(\S+)(.*)$",
    re.IGNORECASE,
)


def redact_config(text: str) -> str:
    """A switch configuration with every secret value replaced by ``<removed>``."""
    out = []
    for line in text.splitlines():
        m = _SECRET_LINE.match(line)
        out.append(f"{m.group(1)} <removed>{m.group(3)}" if m else line)
    return "\n".join(out) + "\n"


def _kind(change: Change) -> str:
    """drifted (differs), missing (absent), extra (something the standard forbids)."""
    lines = [ln.strip() for ln in change.lines if ln.strip() and ln.strip() != "exit"]
    body = [ln for ln in lines if not ln.startswith(("interface ", "policy-map ", "class "))]
    if body and all(ln.startswith(("no ", "undo ")) for ln in body):
        return "extra"
    if change.before in (None, "", [], {}):
        return "missing"
    if change.lines and change.before is False and change.after is True:
        return "missing"  # a switch line the standard needs is not there
    if change.after is False and change.before is True:
        return "extra"  # telnet on, auto-update on, cloud provisioning on
    return "drifted"


def finding_of(change: Change) -> dict[str, Any]:
    secret = change.secret or (
        SETTINGS.get(change.setting) is not None and SETTINGS[change.setting].secret
    )
    return {
        "setting": change.setting,
        "vendor_key": change.vendor_key,
        "kind": _kind(change),
        "expected": SECRET if secret else change.after,
        "actual": SECRET if secret else change.before,
    }


def check_device(target: Target, desired: Mapping[str, Any]) -> dict[str, Any]:
    """Read one device and compare it with ``desired``; never writes."""
    out: dict[str, Any] = {
        "name": target.name,
        "status": "compliant",
        "findings": [],
        "facts": {},
        "qos": {},
        "config": None,
        "error": "",
    }
    drv = driver_for(target)
    try:
        with drv:
            assert isinstance(drv, (Endpoint, Switch))
            facts = drv.facts()
            out["facts"] = facts.as_dict()
            changes = drv.plan(desired)
            out["findings"] = [finding_of(c) for c in changes]
            want = desired.get("firmware.target")
            if want and facts.version and str(want) != facts.version:
                out["findings"].append(
                    {
                        "setting": "firmware.target",
                        "vendor_key": FIRMWARE_KEY[
                            "switch" if isinstance(drv, Switch) else "endpoint"
                        ],
                        "kind": "drifted",
                        "expected": str(want),
                        "actual": facts.version,
                    }
                )
            if isinstance(drv, Endpoint):
                keys = [
                    k
                    for k in ("qos.diffserv", "qos.dscp.audio", "qos.dscp.video")
                    if k in drv.keymap()
                ]
                out["qos"] = drv.read(keys)
                out["config"] = dict(sorted(drv.snapshot().data.items()))
            else:
                out["qos"] = drv.actual({"port.trust_dscp": True, "port.ef_priority_queue": True})
                out["config"] = redact_config(drv.running())
    except Unreachable as exc:
        out.update(status="unreachable", error=exc.message, findings=[])
        return out
    except AuthFailed as exc:
        out.update(status="error", error=f"credentials refused: {exc.message}", findings=[])
        return out
    except DeviceError as exc:
        out.update(status="error", error=exc.message, findings=[])
        return out
    if out["findings"]:
        out["status"] = "drifted"
    return out


def qos_consistency(
    codec: str, codec_result: Mapping[str, Any], switch: str, switch_result: Mapping[str, Any]
) -> dict[str, Any] | None:
    """One finding (on the codec's site, naming both devices) when the DSCP the codec marks
    is not trusted by its switch port, or EF does not land in the priority queue."""
    if codec_result.get("status") in ("unreachable", "error"):
        return None
    if switch_result.get("status") in ("unreachable", "error"):
        return None
    marks = codec_result.get("qos") or {}
    port = switch_result.get("qos") or {}
    if not marks.get("qos.diffserv"):
        return None  # the codec marks nothing: nothing for the switch to trust
    problems = []
    if port.get("port.trust_dscp") is not True:
        problems.append("the port does not trust DSCP (the marking is re-written)")
    if marks.get("qos.dscp.audio") == 46 and port.get("port.ef_priority_queue") is not True:
        problems.append("EF (46) does not go to the priority queue")
    if not problems:
        return None
    return {
        "setting": "qos.codec_switch_consistency",
        "vendor_key": f"{codec}: DSCP audio {marks.get('qos.dscp.audio')} video "
        f"{marks.get('qos.dscp.video')} / {switch}: trust and priority queue",
        "kind": "drifted",
        "expected": "the switch port trusts the codec's DSCP and queues EF first",
        "actual": "; ".join(problems),
        "devices": [codec, switch],
    }
