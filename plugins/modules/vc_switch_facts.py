#!/usr/bin/python
"""Documentation of the vc_switch_facts action (the work is done on the controller)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: vc_switch_facts
short_description: What an access switch is and holds on the codec's port
version_added: "0.1.0"
description:
  - Reads a Catalyst IOS, IOS-XE or Huawei VRP switch over SSH (netmiko) in one session and
    returns its identity (model, serial, version, host name) and the settings the standard
    owns on the codec's port and the QoS globals it needs, by neutral name
    (C(port.vlan), C(port.trust_dscp), C(port.ef_priority_queue), ...).
  - The read-only twin of M(vcprov.network.vc_switch_config). Never writes.
author: vcprov developers
extends_documentation_fragment:
  - vcprov.network.device
options:
  codec_port:
    description: The codec's interface.
    type: str
    required: true
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
- name: The codec's port as the switch has it
  vcprov.network.vc_switch_facts:
    host: "{{ ansible_host }}"
    port: "{{ ansible_port }}"
    family: "{{ vc_family }}"
    username: "{{ vc_username }}"
    password: "{{ vc_password }}"
    codec_port: "{{ vc_codec_port }}"
"""

RETURN = r"""
ansible_facts:
  description: Facts of the switch.
  returned: success
  type: dict
  contains:
    vc_device:
      description: family, vendor, model, serial, version, system_name.
      type: dict
    vc_settings:
      description: Neutral setting name to its current value on the codec's port.
      type: dict
      sample: {"port.vlan": 120, "port.trust_dscp": true}
"""

if __name__ == "__main__":
    raise SystemExit("vc_switch_facts is an action plugin: run it from a playbook")
