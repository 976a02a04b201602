"""The lab as an Ansible inventory: ``DIR/ansible/hosts.yml`` (mode 0600, it holds the lab's
device passwords like ``lab.json`` does).

Hosts, groups and rings are the ones :mod:`vcprov.hosts` gives the lab; the standard is not
copied here: the ``vc_standard`` task computes it from the inventory named by
``vc_inventory`` (``inventory/thanhhoa``) over ``lab.json``, exactly as ``vcprov standard
show --lab DIR`` does.  Plain ``ansible-playbook -i DIR/ansible playbooks/site.yml`` works.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import yaml

from . import hosts
from .lab import manage

ROOT = Path(__file__).resolve().parent.parent.parent
ROLE_GROUP = {"endpoint": "endpoints", "switch": "switches"}


def reboot_timeout(doc: dict[str, Any]) -> float:
    """How long vcprov waits for a restarted codec of this lab (600 s, time-scaled)."""
    scale = float(doc.get("settings", {}).get("time_scale", 1.0))
    return round(600.0 * scale + 30.0, 1)


def build(lab: str | Path, inventory: str | Path | None = None) -> dict[str, Any]:
    lab = Path(lab).resolve()
    inv_dir = Path(inventory or hosts.default_inventory()).resolve()
    doc = hosts.lab_doc(lab)
    inv = hosts.load_inventory(lab, inv_dir)
    rows = {row["name"]: row for row in doc["devices"]}
    groups: dict[str, dict[str, Any]] = {}
    for name, host in inv.hosts.items():
        row = rows[name]
        for group in host.groups:
            if group != "all":
                groups.setdefault(str(group), {"hosts": {}})["hosts"][str(name)] = None
    host_vars: dict[str, Any] = {}
    for name in inv.hosts:
        row = rows[name]
        v: dict[str, Any] = {
            "ansible_host": row["host"],
            "ansible_port": row["port"],
            "vc_role": row["role"],
            "vc_family": row["family"],
            "vc_model": row.get("model", ""),
            "vc_site": row["site"],
            "vc_site_name": row.get("site_name", row["site"]),
            "vc_username": row["username"],
            "vc_password": row["password"],
            "vault_snmp_community": row.get("snmp_community", ""),
        }
        if row["role"] == "endpoint":
            v["vc_switch"], v["vc_switch_port"] = row.get("switch"), row.get("switch_port")
            v["vc_serial"] = row.get("serial", "")
        else:
            v["vc_codec"], v["vc_codec_port"] = row.get("codec"), row.get("codec_port")
        host_vars[str(name)] = v
    return {
        "all": {
            "vars": {
                "ansible_connection": "local",
                "ansible_python_interpreter": sys.executable,
                "vc_lab": str(lab),
                "vc_inventory": str(inv_dir),
                "vc_state_dir": str(hosts.state_dir(lab)),
                "vc_reboot_timeout": reboot_timeout(doc),
            },
            "hosts": host_vars,
            "children": groups,
        }
    }


def write(lab: str | Path, inventory: str | Path | None = None) -> Path:
    """(Re)write ``DIR/ansible/hosts.yml``; returns the inventory directory."""
    out = Path(lab).resolve() / "ansible"
    out.mkdir(mode=0o700, exist_ok=True)
    data = build(lab, inventory)
    header = (
        "# The lab as an Ansible inventory, written by vcprov from lab.json (do not edit:\n"
        "# `vcprov lab up` and `vcprov apply --lab` rewrite it).  Holds the lab's passwords.\n"
    )
    text = header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
    tmp = out / "hosts.yml.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, out / "hosts.yml")
    (out / ".standard-from").write_text(data["all"]["vars"]["vc_inventory"], encoding="utf-8")
    return out


def ensure(lab: str | Path, inventory: str | Path | None = None) -> Path:
    """The lab's inventory directory, rewritten when lab.json is newer than it."""
    lab = Path(lab)
    manage.read_lab(lab)  # a clear error when there is no lab
    target = lab.resolve() / "ansible" / "hosts.yml"
    source = target.parent / ".standard-from"
    wanted = str(Path(inventory or hosts.default_inventory()).resolve())
    if (
        not target.exists()
        or not source.exists()
        or source.read_text(encoding="utf-8") != wanted
        or target.stat().st_mtime < (lab / "lab.json").stat().st_mtime
    ):
        return write(lab, inventory)
    return target.parent
