"""The lab fleet: which devices exist, where they listen, what they run.

``build_fleet`` turns the 31 sites (or N synthetic ones) into ``lab.json`` rows: one codec
and one access switch per site, in the mix documented in docs/devices.md (an assumption:
the equipment per site is not public).  Everything is derived from ``seed``, so the same
seed gives the same fleet, passwords included.
"""

from __future__ import annotations

import random
import string
from pathlib import Path
from typing import Any

import yaml

from . import catalog, firmware_pkg, province

SITES_FILE = Path(__file__).resolve().parent.parent / "data" / "thanhhoa-sites.yml"

HTTPS_PORT = 8443
SSH_PORT = 8022
DEFAULT_NET = 31  # 127.31.0.0/16
MAX_SITES = 2000

# The mix, per site index modulo 31 (the 31 real sites in their published order): mostly
# Group Series, five Poly OS G7500 and five Cisco RoomOS codecs; mostly Catalyst IOS,
# five Catalyst 9200 (IOS-XE) and five Huawei S5720.  Sites 0-3 cover every family, so a
# 4-site lab (the tests' default) has one device of each.
POLY_OS_AT = {0, 4, 9, 19, 25}
ROOMOS_AT = {2, 7, 12, 22, 27}
IOSXE_AT = {0, 3, 13, 24, 29}
HUAWEI_AT = {2, 10, 16, 21, 28}
DEVIATION_SHARE = 0.25


def load_sites(count: int) -> list[dict[str, Any]]:
    """The real sites first, then synthetic commune sites up to ``count``."""
    if not 1 <= count <= MAX_SITES:
        raise ValueError(f"--sites must be between 1 and {MAX_SITES}, not {count}")
    real = yaml.safe_load(SITES_FILE.read_text(encoding="utf-8"))["sites"]
    sites = [dict(s) for s in real[:count]]
    for n in range(len(sites), count):
        sites.append(
            {"id": f"xa-{n + 1:04d}", "kind": "commune", "name": f"Điểm cầu xã số {n + 1:04d}"}
        )
    return sites


def codec_family(index: int) -> str:
    i = index % 31
    if i in POLY_OS_AT:
        return "poly-os"
    if i in ROOMOS_AT:
        return "cisco-roomos"
    return "poly-group-series"


def switch_family(index: int) -> str:
    i = index % 31
    if i in IOSXE_AT:
        return "cisco-iosxe"
    if i in HUAWEI_AT:
        return "huawei-vrp"
    return "cisco-ios"


def address(net: int, index: int, role: str) -> str:
    """Loopback address of a site's codec (even third octet) or switch (odd)."""
    block, host = divmod(index, 250)
    third = block * 2 + (1 if role == "switch" else 0)
    return f"127.{net}.{third}.{host + 1}"


def _password(rng: random.Random, length: int = 16) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(rng.choice(alphabet) for _ in range(length))


def _serial(rng: random.Random, family: str) -> str:
    digits = "".join(rng.choice(string.digits) for _ in range(8))
    prefix = {
        "poly-group-series": "8215",
        "poly-os": "8L20",
        "cisco-roomos": "FOC",
        "cisco-ios": "FOC",
        "cisco-iosxe": "JAE",
        "huawei-vrp": "2102",
    }[family]
    return (
        f"{prefix}{digits}{rng.choice(string.ascii_uppercase)}{rng.choice(string.ascii_uppercase)}"
    )


def switch_port(family: str) -> str:
    return "GigabitEthernet0/0/5" if family == "huawei-vrp" else "GigabitEthernet1/0/5"


def build_fleet(
    sites: int = 31,
    *,
    seed: int = 0,
    net: int = DEFAULT_NET,
    factory: bool = False,
    deviations: bool = True,
    vendor_defaults: bool = False,
) -> list[dict[str, Any]]:
    """The lab.json device rows (secrets included: lab.json is the lab's own file)."""
    if not 1 <= net <= 254 or net == 0:
        raise ValueError(f"--net must be between 1 and 254, not {net}")
    rows: list[dict[str, Any]] = []
    for index, site in enumerate(load_sites(sites)):
        rng = random.Random(f"{seed}:{site['id']}")
        cfam = codec_family(index)
        sfam = switch_family(index)
        cmodel = catalog.FAMILIES[cfam]["models"][index % len(catalog.FAMILIES[cfam]["models"])]
        smodel = catalog.FAMILIES[sfam]["models"][index % len(catalog.FAMILIES[sfam]["models"])]
        codec_name = f"{site['id']}-codec"
        switch_name = f"{site['id']}-sw"
        port = switch_port(sfam)
        community = _password(rng, 12)
        common = {
            "site": site["id"],
            "site_name": site["name"],
            "site_kind": site.get("kind", ""),
            "hub": site.get("role") == "hub",
            "vlan": province.VIDEO_VLAN,
            "snmp_community": community,
            "factory": factory,
            "vendor_defaults": vendor_defaults and not factory,
        }
        codec_serial = _serial(rng, cfam)
        factory_pw = catalog.FACTORY_PASSWORDS[cfam]
        codec = {
            "name": codec_name,
            "role": "endpoint",
            "family": cfam,
            "model": cmodel,
            "host": address(net, index, "endpoint"),
            "port": HTTPS_PORT,
            "username": "admin",
            "password": _password(rng),
            "version": catalog.factory_version(cfam) if factory else catalog.target_version(cfam),
            "factory_username": catalog.FAMILIES[cfam]["factory_username"],
            "factory_password": codec_serial if factory_pw is None else factory_pw,
            "serial": codec_serial,
            "switch": switch_name,
            "switch_port": port,
            "system_name": site["name"],
            "sip_user": site["id"],
            "e164": f"237{index + 1:04d}",
            "deviate": deviations and not factory and rng.random() < DEVIATION_SHARE,
            **common,
        }
        if cfam == "poly-group-series":
            codec["ssh_port"] = SSH_PORT
        # Switch hostnames in capitals as operators write them; the hub's (an IOS-XE switch)
        # is longer than the 16 characters IOS keeps in config-mode prompts.
        hostname = f"SW-{site['id'].upper()}"
        if index % 31 == 3:
            hostname += "-VIDEO-ACCESS"
        switch = {
            "name": switch_name,
            "role": "switch",
            "family": sfam,
            "model": smodel,
            "host": address(net, index, "switch"),
            "port": SSH_PORT,
            "username": "vcprov",
            "password": _password(rng),
            "version": catalog.target_version(sfam),
            "factory_username": catalog.FAMILIES[sfam]["factory_username"],
            "factory_password": catalog.FACTORY_PASSWORDS[sfam],
            "serial": _serial(rng, sfam),
            "hostname": hostname,
            "codec": codec_name,
            "codec_port": port,
            "codec_model": cmodel,
            "deviate": deviations and not factory and rng.random() < DEVIATION_SHARE,
            **common,
        }
        rows.extend([codec, switch])
    return rows


def build_packages(directory: Path) -> list[dict[str, str]]:
    """Firmware packages the lab offers: every version of every codec family."""
    rows: list[dict[str, str]] = []
    for family, info in catalog.FAMILIES.items():
        if info["role"] != "endpoint":
            continue
        versions = list(dict.fromkeys(info["versions"].values()))
        rows.extend(
            firmware_pkg.write_packages(directory / family, family, info["models"], versions)
        )
    return rows
