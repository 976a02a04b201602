#!/usr/bin/python
"""Documentation of the vc_check action (the work is done on the controller)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: vc_check
short_description: Read a codec or switch and compare it with the province standard
version_added: "0.1.0"
description:
  - Reads the device over its own protocol (one session, always closed), compares what the
    standard owns with the device's effective standard and returns the findings
    (C(drifted), C(missing), C(extra)) with the neutral setting name, the vendor key, the
    expected and the actual value. Never writes to the device, in any mode.
  - Writes the device's result (findings, facts, configuration with secrets removed) to
    the run directory for C(vcprov check)'s report.
  - A device that does not answer is C(unreachable), one that refuses the credentials is
    C(error); neither is ever compliant.
author: vcprov developers
extends_documentation_fragment:
  - vcprov.network.device
options:
  codec_port:
    description: The codec's interface (switches).
    type: str
attributes:
  check_mode:
    support: full
    description: Always read-only.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Read the device and compare it with the standard
  vcprov.network.vc_check:
    host: "{{ ansible_host }}"
    family: "{{ vc_family }}"
    username: "{{ vc_username }}"
    password: "{{ vc_password }}"
    codec_port: "{{ vc_codec_port | default(omit) }}"
"""

RETURN = r"""
status:
  description: compliant, drifted, unreachable or error.
  returned: always
  type: str
findings:
  description: What differs from the standard (secrets shown as <secret>).
  returned: always
  type: list
  elements: dict
  sample:
    - {"setting": "qos.dscp.audio", "vendor_key": "qos.diffServ.audio", "kind": "drifted",
       "expected": 46, "actual": 0}
"""

if __name__ == "__main__":
    raise SystemExit("vc_check is an action plugin: run it from a playbook")
