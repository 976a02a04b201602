"""Waivers: known, accepted differences from the standard, each with an owner and an end.

``waivers.yml`` in the inventory directory is a list of entries::

    - device: ha-trung-*          # fnmatch glob on the device name
      setting: qos.*              # a setting name, or a glob over setting names
      reason: the district's WAN router re-marks DSCP until the link upgrade (ticket 4711)
      owner: Nguyễn Văn An (Sở TT&TT)
      expires: 2026-12-31         # YYYY-MM-DD; the waiver holds until the end of that day

A finding that a waiver covers keeps its data and gets the waiver attached
(:attr:`vcprov.findings.Finding.waiver`); a device whose findings are all waived has the
status ``waived``.  A waiver whose expiry date is past no longer waives: the finding is
drift again and carries the waiver with ``"expired": true`` so that the report says so.

Every entry is checked when the file is read; all problems are reported together, each
naming the file, the line, the entry (number and device pattern) and the key
(:class:`WaiverError`, collected in :class:`InvalidWaivers`).  A file that is not there
means no waivers.
"""

from __future__ import annotations

import datetime as dt
import difflib
import fnmatch
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .findings import CheckRun, DeviceResult, Finding, finalise_status, known_settings
from .inventory import InvalidStandard, StandardError, display_path

__all__ = [
    "KEYS",
    "WAIVERS_FILE",
    "InvalidWaivers",
    "Waiver",
    "WaiverError",
    "apply",
    "load",
    "load_file",
    "parse",
]

WAIVERS_FILE = "waivers.yml"
KEYS = ("device", "setting", "reason", "owner", "expires")
_GLOB = re.compile(r"[*?\[]")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATE_TIME = re.compile(r"\d{4}-\d{1,2}-\d{1,2}([Tt]|[ \t]+)\d{1,2}:\d{2}")


class _Loader(yaml.SafeLoader):
    """Safe YAML with dates left as text: this module checks them itself (an impossible
    date such as 2026-13-01 is then a named error, not a crash in the YAML library)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class WaiverError(StandardError):
    """One problem of a waivers file: ``FILE:LINE: entry N (device PATTERN): key KEY:
    problem``."""

    def __init__(
        self,
        file: str,
        problem: str,
        *,
        line: int | None = None,
        index: int | None = None,
        device: str | None = None,
        key: str | None = None,
    ):
        super().__init__(file, None, key, problem)
        self.line = line
        self.index = index
        self.device = device
        parts = [f"{file}:{line}" if line else file]
        if index is not None:
            parts.append(f"entry {index}" + (f" (device {device})" if device else ""))
        if key:
            parts.append(f"key {key}")
        parts.append(problem)
        self.args = (": ".join(parts),)


class InvalidWaivers(InvalidStandard):
    """Every :class:`WaiverError` of a waivers file (an :class:`InvalidStandard`, so that
    the commands report it as they report a bad standard)."""


@dataclass(frozen=True)
class Waiver:
    """One entry of ``waivers.yml``.  ``index``: its number in the file (1 = first)."""

    device: str
    setting: str
    reason: str
    owner: str
    expires: dt.date
    file: str = ""
    index: int = 0
    line: int = 0

    def expired(self, today: dt.date) -> bool:
        """Past its expiry date (it holds through the whole expiry day)."""
        return self.expires < today

    def covers(self, device: str, finding: Finding) -> bool:
        """The finding of ``device`` falls under this waiver: the device pattern matches
        the device (or, for a finding across two devices, either of them) and the setting
        pattern matches the finding's setting."""
        names = [device, *finding.devices]
        return fnmatch.fnmatchcase(finding.setting, self.setting) and any(
            fnmatch.fnmatchcase(n, self.device) for n in names
        )

    def as_dict(self, today: dt.date | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "device": self.device,
            "setting": self.setting,
            "reason": self.reason,
            "owner": self.owner,
            "expires": self.expires.isoformat(),
        }
        if today is not None:
            out["expired"] = self.expired(today)
        return out


# --- reading -------------------------------------------------------------------------


def load(inventory_dir: str | os.PathLike[str]) -> list[Waiver]:
    """The waivers of an inventory (``<inventory_dir>/waivers.yml``; none when absent).

    ``inventory_dir`` may also be the inventory's hosts file (its directory is used).
    Raises :class:`InvalidWaivers` with every problem of the file.
    """
    path = Path(inventory_dir)
    if path.is_file():
        path = path.parent
    return load_file(path / WAIVERS_FILE)


def load_file(path: str | os.PathLike[str]) -> list[Waiver]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidWaivers([WaiverError(display_path(p), f"cannot read: {exc}")]) from None
    return parse(text, display_path(p))


def parse(text: str, file: str = WAIVERS_FILE) -> list[Waiver]:
    """The waivers in ``text`` (the content of ``file``, named in errors)."""
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise InvalidWaivers(
            [WaiverError(file, f"not valid YAML: {problem}", line=mark.line + 1 if mark else None)]
        ) from None
    if data is None:
        return []
    if not isinstance(data, list) or not isinstance(node, yaml.SequenceNode):
        raise InvalidWaivers(
            [
                WaiverError(
                    file,
                    "must be a list of waivers (device, setting, reason, owner, expires)",
                    line=1,
                )
            ]
        )
    errors: list[WaiverError] = []
    waivers: list[Waiver] = []
    for i, (entry, item_node) in enumerate(zip(data, node.value, strict=True), start=1):
        waiver = _entry(entry, item_node, file, i, errors)
        if waiver is not None:
            waivers.append(waiver)
    if errors:
        raise InvalidWaivers(errors)
    return waivers


def _entry(
    entry: Any, node: yaml.Node, file: str, index: int, errors: list[WaiverError]
) -> Waiver | None:
    start = node.start_mark.line + 1
    if not isinstance(entry, Mapping):
        errors.append(
            WaiverError(
                file,
                "must be a mapping with device, setting, reason, owner and expires",
                line=start,
                index=index,
            )
        )
        return None
    key_lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for knode, _ in node.value:
            key_lines[str(knode.value)] = knode.start_mark.line + 1
    device = entry.get("device")
    shown_device = device if isinstance(device, str) and device.strip() else None
    before = len(errors)

    def err(key: str | None, problem: str) -> None:
        line = key_lines.get(key, start) if key else start
        errors.append(
            WaiverError(file, problem, line=line, index=index, device=shown_device, key=key)
        )

    for key in entry:
        if key not in KEYS:
            close = difflib.get_close_matches(str(key), KEYS, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            err(str(key), f"unknown key{hint}; a waiver has {', '.join(KEYS)}")
    for key in KEYS:
        if key not in entry or entry[key] is None or entry[key] == "":
            err(key, "is missing (every waiver needs device, setting, reason, owner, expires)")
            continue
        if key != "expires" and (not isinstance(entry[key], str) or not entry[key].strip()):
            err(key, f"must be a non-empty text, not {entry[key]!r}")

    setting = entry.get("setting")
    if isinstance(setting, str) and setting.strip():
        known = known_settings()
        if _GLOB.search(setting):
            if not any(fnmatch.fnmatchcase(s, setting) for s in known):
                err("setting", f"the pattern {setting!r} matches no setting of the standard")
        elif setting not in known:
            close = difflib.get_close_matches(setting, sorted(known), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            err("setting", f"{setting!r} is not a setting of the standard{hint}")

    expires = _date(entry.get("expires"))
    if entry.get("expires") not in (None, "") and isinstance(expires, str):
        err("expires", expires)

    if len(errors) != before or not isinstance(expires, dt.date):
        return None
    return Waiver(
        device=str(entry["device"]).strip(),
        setting=str(entry["setting"]).strip(),
        reason=str(entry["reason"]).strip(),
        owner=str(entry["owner"]).strip(),
        expires=expires,
        file=file,
        index=index,
        line=start,
    )


def _date(value: Any) -> dt.date | str:
    """The expiry date, or why ``value`` is not one."""
    if isinstance(value, dt.datetime):
        return f"{value.isoformat()} has a time; give a date (YYYY-MM-DD)"
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    if isinstance(value, str) and _DATE_TIME.match(value.strip()):
        return f"{value!r} has a time; give a date (YYYY-MM-DD)"
    return f"{value!r} is not a date (YYYY-MM-DD)"


# --- applying ------------------------------------------------------------------------


def apply(
    run_or_devices: CheckRun | Iterable[DeviceResult],
    waivers: Iterable[Waiver],
    today: dt.date | None = None,
) -> list[dict[str, Any]]:
    """Attach waivers to the findings they cover and set every device's status.

    For each finding the first waiver (in file order) that covers it and has not expired
    wins; when only expired waivers cover it, the first of those is attached with
    ``"expired": True`` and the finding stays drift.  Re-applying replaces earlier
    waivers.  ``today`` defaults to the run's date (``run.started``) for a
    :class:`CheckRun`, else to the local date.

    Returns (and sets as ``run.waivers``) every waiver with ``expired`` and ``findings``
    (how many findings of this run it covers), so that reports can show unused ones.
    """
    run = run_or_devices if isinstance(run_or_devices, CheckRun) else None
    devices = run.devices if run is not None else list(run_or_devices)
    if today is None:
        today = dt.date.fromisoformat(run.date) if run is not None else dt.date.today()
    rules = list(waivers)
    used: dict[int, int] = dict.fromkeys(range(len(rules)), 0)
    for dev in devices:
        for finding in dev.findings:
            finding.waiver = None
            covering = [i for i, w in enumerate(rules) if w.covers(dev.name, finding)]
            if not covering:
                continue
            active = [i for i in covering if not rules[i].expired(today)]
            chosen = active[0] if active else covering[0]
            finding.waiver = rules[chosen].as_dict(today)
            used[chosen] += 1
        finalise_status(dev)
    state = [dict(w.as_dict(today), findings=used[i]) for i, w in enumerate(rules)]
    if run is not None:
        run.waivers = state
    return state
