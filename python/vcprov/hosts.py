"""The devices of a run: from a lab (``--lab DIR``) or an inventory (``-i DIR``).

Every vcprov command that talks to devices starts here: :func:`load_devices` gives one
:class:`Device` per host (its role, family, site, groups and how to reach it), and
:func:`select` narrows them with an Ansible ``--limit`` pattern.  A lab is the inventory's
standard (``group_vars``) over the lab's own hosts (``lab.json``): the same standard the
province is held to.  Lab hosts that the inventory does not name (a synthetic lab of
``xa-NNNN`` sites) get firmware rings by rule (:func:`lab_rings`).
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import standard
from .devices.base import Target
from .inventory import InvalidStandard, StandardError

ROOT = Path(__file__).resolve().parent.parent.parent
# The province inventory: relative to the working directory when there is one there (an
# operator's checkout), else the one beside this package.
DEFAULT_INVENTORY = "inventory/thanhhoa"


def default_inventory() -> str:
    if Path(DEFAULT_INVENTORY, "hosts.yml").exists():
        return DEFAULT_INVENTORY
    return str(ROOT / DEFAULT_INVENTORY)


RINGS = ("ring_canary", "ring1", "ring2", "ring_leadership")
DEFAULT_PORTS = {"endpoint": 443, "switch": 22}


@dataclass
class Device:
    name: str
    role: str  # endpoint | switch
    family: str
    model: str
    site: str
    site_name: str
    groups: list[str]
    target: Target
    vars: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def peer(self) -> str | None:
        """The other device of the site: a codec's switch, a switch's codec."""
        return self.vars.get("vc_switch" if self.role == "endpoint" else "vc_codec")


def lab_doc(lab: str | Path) -> dict[str, Any]:
    path = Path(lab) / "lab.json"
    try:
        doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidStandard(
            [StandardError(str(path), None, None, "no lab here (start one: vcprov lab up)")]
        ) from None
    return doc


def state_dir(lab: str | Path | None, inventory: str | Path | None = None) -> Path:
    """Where vcprov keeps snapshots, journals and run files for this network."""
    if lab is not None:
        return Path(lab).resolve() / "vcprov"
    root = Path(inventory or default_inventory()).resolve()
    return root.parent.parent / ".vcprov" / root.name


def lab_rings(doc: dict[str, Any]) -> dict[str, str]:
    """Site -> ring for a lab: the hub and the first district are the canary, the province
    offices (leadership) go last, the other districts split in half (ring1, ring2)."""
    sites: dict[str, dict[str, Any]] = {}
    for row in doc.get("devices", []):
        sites.setdefault(row["site"], row)
    rings: dict[str, str] = {}
    districts = [
        s for s, r in sites.items() if r.get("site_kind") == "district" and not r.get("hub")
    ]
    for site, row in sites.items():
        if row.get("hub"):
            rings[site] = "ring_canary"
        elif row.get("site_kind") == "province":
            rings[site] = "ring_leadership"
    if districts:
        rings[districts[0]] = "ring_canary"
        rest = districts[1:]
        half = (len(rest) + 1) // 2
        for i, site in enumerate(rest):
            rings[site] = "ring1" if i < half else "ring2"
    for site in sites:
        rings.setdefault(site, "ring2")
    return rings


def load_inventory(
    lab: str | Path | None = None,
    inventory: str | Path | None = None,
    vault_password_file: str | None = None,
) -> standard.Inventory:
    """The inventory of a run (the lab's hosts over the inventory's group_vars for a lab)."""
    inv_dir = str(inventory or default_inventory())
    if lab is not None:
        doc = lab_doc(lab)
        specs = standard.lab_overrides(doc, str(Path(lab) / "lab.json"))
        rings = lab_rings(doc)
        site_of = {row["name"]: row["site"] for row in doc["devices"]}
        for spec in specs:
            spec.groups.append(rings[site_of[spec.name]])
        inv = standard.load(inv_dir, vault_password_file, hosts=specs)
        for host in inv.hosts.values():  # a real ring from hosts.yml wins over the rule
            mine = [g for g in host.groups if g in RINGS]
            if len(mine) > 1:
                host.groups.remove(rings[site_of[host.name]])
        return inv
    return standard.load(inv_dir, vault_password_file)


def device_of(inv: standard.Inventory, name: str, timeout: float = 30.0) -> Device:
    host = inv.hosts[name]
    role = str(host.get("vc_role", ""))
    extra: dict[str, Any] = {}
    if role == "switch":
        extra["codec_port"] = host.get("vc_codec_port")
    target = Target(
        name=name,
        family=str(host.get("vc_family", "")),
        host=str(host.resolve("ansible_host") or name),
        port=int(host.get("ansible_port") or DEFAULT_PORTS.get(role, 443)),
        username=str(host.resolve("vc_username") or ""),
        password=str(host.resolve("vc_password") or ""),
        model=str(host.get("vc_model", "")),
        timeout=timeout,
        extra=extra,
    )
    return Device(
        name=name,
        role=role,
        family=target.family,
        model=target.model,
        site=str(host.get("vc_site", "")),
        site_name=str(host.get("vc_site_name", host.get("vc_site", ""))),
        groups=[g for g in host.groups if g != "all"],
        target=target,
        vars={k: v for k, v in host.vars.items() if k.startswith("vc_") and k != "vc_password"},
    )


def load_devices(
    lab: str | Path | None = None,
    inventory: str | Path | None = None,
    vault_password_file: str | None = None,
) -> list[Device]:
    inv = load_inventory(lab, inventory, vault_password_file)
    return [device_of(inv, name) for name in inv.hosts]


# --- --limit ------------------------------------------------------------------------


def _matches(device: Device, pattern: str) -> bool:
    if pattern in ("all", "*"):
        return True
    if pattern.startswith("~"):
        rx = re.compile(pattern[1:])
        return bool(rx.search(device.name)) or any(rx.search(g) for g in device.groups)
    return fnmatch.fnmatchcase(device.name, pattern) or any(
        fnmatch.fnmatchcase(g, pattern) for g in device.groups
    )


def select(devices: list[Device], limit: str | None) -> list[Device]:
    """The devices an Ansible ``--limit`` pattern names (``a,b``, ``a:b``, ``!x``, ``&g``,
    globs, ``~regex``), in inventory order.  Raises ValueError when a plain name or
    pattern matches nothing (a typo must not turn into an empty, "successful" run)."""
    if not limit:
        return list(devices)
    parts = [p.strip() for p in re.split(r"[,:](?![^\[]*\])", limit) if p.strip()]
    chosen: set[str] = set()
    plus = [p for p in parts if not p.startswith(("!", "&"))]
    for part in plus or ["all"]:
        hits = {d.name for d in devices if _matches(d, part)}
        if not hits:
            raise ValueError(f"--limit {limit!r}: {part!r} matches no host or group")
        chosen |= hits
    for part in parts:
        if part.startswith("&"):
            chosen &= {d.name for d in devices if _matches(d, part[1:])}
        elif part.startswith("!"):
            chosen -= {d.name for d in devices if _matches(d, part[1:])}
    return [d for d in devices if d.name in chosen]
