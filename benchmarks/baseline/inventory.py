"""The stock-Ansible baseline's inventory, made from a lab's ``lab.json``.

    python benchmarks/baseline/inventory.py LAB_DIR OUT.yml [--vrp-network-os NAME]

One YAML inventory: groups ``poly`` and ``cisco_codec`` (``ansible.builtin.uri``, connection
local) and ``ios`` / ``vrp`` (``ansible.netcommon.network_cli``).  The Poly configuration
names each codec reads are written into the inventory as data (``bl_names_by_family``): the same
vendor keys vcprov's driver reads for the standard, computed here, so the playbook itself
runs no vcprov code.  The file holds the lab's passwords: it is written 0600.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "python"))

from vcprov.devices import Target  # noqa: E402
from vcprov.devices.poly import PolyEndpoint  # noqa: E402

# The network_os for each switch family.  Catalyst IOS and IOS-XE: cisco.ios.ios.  Huawei
# VRP: the ansible 12 package bundles no Huawei cliconf/terminal plugin (community.network,
# which had ``ce``, left the package in ansible 10); see benchmarks/README.md for what was
# tried and what works with the lab's ``<hostname>`` prompt.
NETWORK_OS = {"cisco-ios": "cisco.ios.ios", "cisco-iosxe": "cisco.ios.ios"}
DEFAULT_VRP_NETWORK_OS = "arista.eos.eos"
SHOW = {
    "cisco-ios": ("show version", "show running-config"),
    "cisco-iosxe": ("show version", "show running-config"),
    "huawei-vrp": ("display version", "display current-configuration"),
}


def poly_names(family: str) -> list[str]:
    """Every vendor key vcprov's Poly driver reads for the standard (primary and extra)."""
    drv = PolyEndpoint(Target("probe", family, "127.0.0.1", 443, "x", "x"))
    return drv._all_keys()


def build(doc: dict[str, Any], vrp_network_os: str = DEFAULT_VRP_NETWORK_OS) -> dict[str, Any]:
    poly: dict[str, Any] = {}
    cisco: dict[str, Any] = {}
    ios: dict[str, Any] = {}
    vrp: dict[str, Any] = {}
    names = {f: poly_names(f) for f in ("poly-os", "poly-group-series")}
    for row in doc["devices"]:
        host: dict[str, Any] = {
            "ansible_host": row["host"],
            "bl_family": row["family"],
        }
        family = row["family"]
        if family in names:
            host.update(
                bl_port=int(row["port"]),
                bl_user=row["username"],
                bl_password=row["password"],
                bl_login_action=family == "poly-group-series",
            )
            poly[row["name"]] = host
        elif family == "cisco-roomos":
            host.update(bl_port=int(row["port"]), bl_user=row["username"])
            host["bl_password"] = row["password"]
            cisco[row["name"]] = host
        elif family in SHOW:
            host.update(
                ansible_port=int(row["port"]),
                ansible_user=row["username"],
                ansible_password=row["password"],
                bl_show_version=SHOW[family][0],
                bl_show_running=SHOW[family][1],
            )
            if family == "huawei-vrp":
                host["ansible_network_os"] = vrp_network_os
                vrp[row["name"]] = host
            else:
                host["ansible_network_os"] = NETWORK_OS[family]
                ios[row["name"]] = host
        else:
            raise SystemExit(f"{row['name']}: unknown family {family}")
    return {
        "all": {
            "children": {
                "codecs": {
                    "children": {
                        "poly": {"hosts": poly, "vars": {"bl_names_by_family": names}},
                        "cisco_codec": {"hosts": cisco},
                    },
                    "vars": {
                        "ansible_connection": "local",
                        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                    },
                },
                "switches": {
                    "children": {"ios": {"hosts": ios}, "vrp": {"hosts": vrp}},
                    "vars": {"ansible_connection": "ansible.netcommon.network_cli"},
                },
            }
        }
    }


def write(lab: Path, out: Path, vrp_network_os: str = DEFAULT_VRP_NETWORK_OS) -> dict[str, int]:
    doc = json.loads((lab / "lab.json").read_text(encoding="utf-8"))
    inv = build(doc, vrp_network_os)
    text = yaml.safe_dump(inv, sort_keys=False, allow_unicode=True, width=1000)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    groups = inv["all"]["children"]
    return {
        g: len(groups[parent]["children"][g]["hosts"])
        for parent in ("codecs", "switches")
        for g in groups[parent]["children"]
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lab", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--vrp-network-os", default=DEFAULT_VRP_NETWORK_OS)
    args = parser.parse_args()
    print(json.dumps(write(args.lab, args.out, args.vrp_network_os)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
