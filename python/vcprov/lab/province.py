"""The province standard as the lab knows it: what a correctly set-up site holds.

The lab seeds every device from this (``SimDevice.standard_config``) before it adds the
hand-made deviations.  It is the lab's own reading of the standard in issue "Push the
province standard" (vendor-neutral values); each family simulator turns it into its own
keys.  vcprov's inventory holds the real standard; the two are kept equal by the tests, not
by shared code.
"""

from __future__ import annotations

from typing import Any

CALL_RATE_KBPS = 2048
DSCP_AUDIO = 46  # EF
DSCP_VIDEO = 34  # AF41
DSCP_SIGNALLING = 24  # CS3
TIME_ZONE = "Asia/Ho_Chi_Minh"
TLS_MIN = "1.2"
VIDEO_VLAN = 120


def site_values(spec: dict[str, Any], hub: dict[str, Any]) -> dict[str, Any]:
    """The per-site values of a lab.json row, with the hub's servers."""
    return {
        "system_name": spec.get("system_name", spec["site"]),
        "sip_user": spec.get("sip_user", spec["site"]),
        "sip_uri": f"{spec.get('sip_user', spec['site'])}@{hub['domain']}",
        "e164": spec.get("e164", ""),
        "h323_name": spec.get("sip_user", spec["site"]),
        "sip_registrar": hub["sip_registrar"],
        "sip_proxy": hub["sip_proxy"],
        "gatekeeper": hub["gatekeeper"],
        "ntp_servers": list(hub["ntp_servers"]),
        "snmp_trap": hub["snmp_trap"],
        "snmp_community": spec.get("snmp_community", ""),
        "vlan": int(spec.get("vlan", VIDEO_VLAN)),
    }
