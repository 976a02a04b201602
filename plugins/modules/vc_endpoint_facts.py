#!/usr/bin/python
"""Documentation of the vc_endpoint_facts action (the work is done on the controller)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: vc_endpoint_facts
short_description: What a codec is and holds - identity, settings, registrations
version_added: "0.1.0"
description:
  - Reads a Poly Group Series, Poly OS or Cisco RoomOS codec in one session and returns
    its identity (model, serial, version, system name), every setting its family maps, by
    the standard's neutral names (C(call.max_rate_kbps), C(qos.dscp.audio), ...), and its
    SIP/H.323 registrations and call state as facts. Secret settings are never returned.
  - The read-only twin of M(vcprov.network.vc_endpoint_config). Never writes.
author: vcprov developers
extends_documentation_fragment:
  - vcprov.network.device
attributes:
  check_mode:
    support: full
    description: Always read-only.
  diff_mode:
    support: none
  facts:
    support: full
"""

EXAMPLES = r"""
- name: Identity and settings of the codec
  vcprov.network.vc_endpoint_facts:
    host: "{{ ansible_host }}"
    family: "{{ vc_family }}"
    username: "{{ vc_username }}"
    password: "{{ vc_password }}"

- name: Which codecs are on which version
  ansible.builtin.debug:
    msg: "{{ vc_device.model }} {{ vc_device.version }}"
"""

RETURN = r"""
ansible_facts:
  description: Facts of the codec.
  returned: success
  type: dict
  contains:
    vc_device:
      description: family, vendor, model, serial, version, system_name.
      type: dict
    vc_settings:
      description: Neutral setting name to its current value (secrets left out).
      type: dict
      sample: {"call.max_rate_kbps": 2048, "qos.dscp.audio": 46}
    vc_status:
      description: sip_registered, h323_registered, in_call, and the status items read.
      type: dict
"""

if __name__ == "__main__":
    raise SystemExit("vc_endpoint_facts is an action plugin: run it from a playbook")
