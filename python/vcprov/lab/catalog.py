"""The lab's device catalogue: families, models and the firmware each model can run.

This is lab data, written from ``shared/reference`` independently of the drivers.  Versions
are in each family's canonical form, the string the device itself reports in its main
version field:

- ``poly-group-series``: ``6.2.2.8-670021`` (``/rest/system`` says ``Release - 6.2.2.8-670021``)
- ``poly-os``: ``4.1.0`` (``/rest/system`` ``softwareVersion``; the build is in ``BUILDS``)
- ``cisco-roomos``: ``ce11.14.4.0.b7ab7ab3b9f`` (``SystemUnit Software Version``)
- switches: the IOS / VRP version string of ``show version`` / ``display version``.

Every codec family has three versions: ``old`` (what a factory-fresh box from the supplier
runs), ``target`` (what the province runs) and ``next`` (a newer release to roll out).  The
version numbers and builds are assumptions of the lab (docs/devices.md).
"""

from __future__ import annotations

from typing import Any

FAMILIES: dict[str, dict[str, Any]] = {
    "poly-group-series": {
        "role": "endpoint",
        "vendor": "Poly",
        "models": ["RealPresence Group 500", "RealPresence Group 310", "RealPresence Group 700"],
        "versions": {
            "old": "6.2.1.2-600047",
            "target": "6.2.2.8-670021",
            "next": "6.2.2.10-690087",
        },
        "factory_username": "admin",
    },
    "poly-os": {
        "role": "endpoint",
        "vendor": "Poly",
        "models": ["G7500"],
        "versions": {"old": "3.14.2", "target": "4.1.0", "next": "4.2.1"},
        "factory_username": "admin",
    },
    "cisco-roomos": {
        "role": "endpoint",
        "vendor": "Cisco",
        "models": ["Room Kit", "Codec Plus", "Room Bar"],
        "versions": {
            "old": "ce11.9.2.4.0d5a0e3e6bc",
            "target": "ce11.14.4.0.b7ab7ab3b9f",
            "next": "ce11.17.3.0.81a0d1f5a64",
        },
        "factory_username": "admin",
    },
    "cisco-ios": {
        "role": "switch",
        "vendor": "Cisco",
        "models": ["WS-C2960X-48FPD-L", "WS-C3750X-48P-S"],
        "versions": {"old": "15.2(7)E8", "target": "15.2(7)E8", "next": "15.2(7)E8"},
        "factory_username": "cisco",
    },
    "cisco-iosxe": {
        "role": "switch",
        "vendor": "Cisco",
        "models": ["C9200L-48P-4G"],
        "versions": {"old": "17.09.04a", "target": "17.09.04a", "next": "17.09.04a"},
        "factory_username": "cisco",
    },
    "huawei-vrp": {
        "role": "switch",
        "vendor": "Huawei",
        "models": ["S5720-28X-PWR-LI-AC"],
        "versions": {
            "old": "V200R019C10SPC500",
            "target": "V200R019C10SPC500",
            "next": "V200R019C10SPC500",
        },
        "factory_username": "admin",
    },
}

# Poly OS reports its build separately from the version.
BUILDS = {
    "3.14.2": "412019",
    "4.1.0": "466026",
    "4.2.1": "481034",
}

# Factory passwords as a new box arrives (assumptions, docs/devices.md): Poly's documented
# defaults are the serial number (Group Series) and "Polycom12#$" (Poly OS); Cisco RoomOS
# ships with user admin and an empty passphrase; switches get a supplier's day-0 account.
FACTORY_PASSWORDS = {
    "poly-group-series": None,  # the serial number
    "poly-os": "Polycom12#$",
    "cisco-roomos": "",
    "cisco-ios": "cisco",
    "cisco-iosxe": "cisco",
    "huawei-vrp": "admin@huawei.com",
}


def versions(family: str) -> dict[str, str]:
    return dict(FAMILIES[family]["versions"])


def target_version(family: str) -> str:
    return str(FAMILIES[family]["versions"]["target"])


def factory_version(family: str) -> str:
    return str(FAMILIES[family]["versions"]["old"])


def previous_version(family: str, version: str) -> str | None:
    """The version a device that runs ``version`` ran before (its previous image)."""
    order = [FAMILIES[family]["versions"][k] for k in ("old", "target", "next")]
    if version in order:
        i = order.index(version)
        if i > 0 and order[i - 1] != version:
            return str(order[i - 1])
    return None


def is_endpoint(family: str) -> bool:
    return bool(FAMILIES[family]["role"] == "endpoint")
