#!/usr/bin/python
"""Documentation of the vc_switch_config action (the work is done on the controller)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: vc_switch_config
short_description: Bring the codec's switch port to the province standard
version_added: "0.1.0"
description:
  - Reads the running configuration over SSH (netmiko; Catalyst IOS, IOS-XE, Huawei VRP),
    computes the remediation with hier-config, scoped to the codec's interface and the QoS
    globals it needs (nothing outside those sections is ever negated), takes a snapshot,
    sends the lines in one configuration session and saves (C(write memory) / C(save))
    only after every line succeeded. A refused line or a dropped session restores the
    snapshot.
  - No line is sent when the port already holds the standard (no port bounce, VLAN 1 untouched).
  - This is an action plugin; it runs on the controller.
author: vcprov developers
options:
  host:
    description: Address of the switch's SSH server.
    type: str
    required: true
  port:
    description: SSH port (default 22).
    type: int
  family:
    description: Device family.
    type: str
    required: true
    choices: [cisco-ios, cisco-iosxe, huawei-vrp]
  username:
    description: Account with configuration rights.
    type: str
    required: true
  password:
    description: Its password (vaulted; never logged).
    type: str
    required: true
  timeout:
    description: Seconds a command may take.
    type: float
    default: 30.0
  codec_port:
    description: The interface the site's codec is plugged into.
    type: str
  reboot:
    description: Not used by switches (shared argument set).
    type: bool
    default: true
  reboot_timeout:
    description: Not used by switches (shared argument set).
    type: float
    default: 600.0
  site_failed:
    description: Name of the site's other device when its change failed in this run.
    type: str
    default: ""
  only:
    description:
      - Change only these settings (neutral names); the others are left as they are.
      - C(vcprov check --fix) passes the settings its heal policy allows.
    type: list
    elements: str
attributes:
  check_mode:
    support: full
    description: Returns the exact CLI lines it would send; sends none.
  diff_mode:
    support: full
    description: Before and after per setting, with the CLI lines.
seealso:
  - module: vcprov.network.vc_endpoint_config
"""

EXAMPLES = r"""
- name: Codec port holds the province standard
  vcprov.network.vc_switch_config:
    host: "{{ ansible_host }}"
    family: "{{ vc_family }}"
    username: "{{ vc_username }}"
    password: "{{ vc_password }}"
    codec_port: "{{ vc_codec_port }}"
  register: switch_qos_result
"""

RETURN = r"""
changes:
  description: One entry per setting changed (or to change), with its CLI lines.
  returned: always
  type: list
  elements: dict
writes:
  description: The exact CLI lines sent (or that would be sent in check mode).
  returned: always
  type: list
  elements: str
  sample: ["interface GigabitEthernet1/0/5", "switchport access vlan 120", "exit"]
snapshot:
  description: Path of the snapshot of the owned sections, taken before the change.
  returned: when something was applied
  type: str
restored:
  description: True when a failure was undone from the snapshot.
  returned: always
  type: bool
"""

if __name__ == "__main__":
    raise SystemExit("vc_switch_config is an action plugin: run it from a playbook")
