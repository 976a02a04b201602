#!/usr/bin/python
"""Documentation of the vc_check_all action (the work is done on the controller)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: vc_check_all
short_description: Compare every codec and switch of the play with the standard, in one task
version_added: "0.1.0"
description:
  - The drift check of M(vcprov.network.vc_check) for every host of the play at once:
    the devices are read by parallel threads of one controller process, so a network of
    thousands of devices does not pay Ansible's per-host task cost (docs/architecture.md
    has the measurements). Run it with C(run_once).
  - Yields one result per device in RV(results), and writes each device's result to the
    run directory for C(vcprov check)'s report. Never writes to a device.
  - Credentials come from the hosts' C(vc_username)/C(vc_password); a
    C({{ vaulted_variable }}) reference is resolved by Ansible.
author: vcprov developers
options:
  workers:
    description: Devices read at the same time.
    type: int
    default: 64
attributes:
  check_mode:
    support: full
    description: Always read-only.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Read every device and compare it with the standard
  vcprov.network.vc_check_all:
  run_once: true
"""

RETURN = r"""
results:
  description: One entry per device of the play.
  returned: always
  type: list
  elements: dict
  sample:
    - {"host": "ha-trung-codec", "status": "drifted", "error": "",
       "findings": [{"setting": "qos.dscp.audio", "vendor_key": "qos.diffServ.audio",
                     "kind": "drifted", "expected": 46, "actual": 0}]}
summary:
  description: Devices per status.
  returned: always
  type: dict
"""

if __name__ == "__main__":
    raise SystemExit("vc_check_all is an action plugin: run it from a playbook")
