"""Snapshots on the controller: what a device held before vcprov changed it.

One JSON file per snapshot, ``<state>/snapshots/<device>/<UTC time>-<reason>.json``, mode
0600, never holding a secret (drivers leave secrets out; :func:`save` refuses any value
that still looks like one).  The newest is the one a failed change or a rollback restores.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

from .devices.base import Snapshot

_SECRET_KEY = re.compile(r"(password|passphrase|secret|community|\bkey$)", re.IGNORECASE)
_SECRET_LINE = re.compile(
    r"^\s*(snmp-server community|snmp-server host|snmp-agent community|"
    r"snmp-agent target-host .* securityname|username \S+ (secret|password)|"
    r"enable (secret|password)|local-user \S+ password)",
    re.IGNORECASE,
)


def _dir(state: Path, device: str) -> Path:
    return Path(state) / "snapshots" / device


def _check_clean(snapshot: Snapshot) -> None:
    for key, value in snapshot.data.items():
        if _SECRET_KEY.search(str(key)) and value not in ("", None):
            raise ValueError(f"{snapshot.device}: snapshot would keep the secret {key}")
        if isinstance(value, str):
            for line in value.splitlines():
                if _SECRET_LINE.match(line) and "<removed>" not in line:
                    raise ValueError(f"{snapshot.device}: snapshot would keep a secret line")


def save(state: Path, snapshot: Snapshot, reason: str = "change") -> Path:
    _check_clean(snapshot)
    folder = _dir(state, snapshot.device)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    path = folder / f"{stamp}-{reason}.json"
    n = 1
    while path.exists():
        n += 1
        path = folder / f"{stamp}-{reason}-{n}.json"
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(snapshot.as_dict(), fh, ensure_ascii=False, indent=1, sort_keys=True)
    os.replace(tmp, path)
    return path


def load(path: str | Path) -> Snapshot:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return Snapshot(**data)


def list_for(state: Path, device: str) -> list[Path]:
    """The device's snapshots, oldest first."""
    folder = _dir(state, device)
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def latest(state: Path, device: str) -> Snapshot | None:
    paths = list_for(state, device)
    return load(paths[-1]) if paths else None
