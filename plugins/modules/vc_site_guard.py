#!/usr/bin/python
"""Documentation of the vc_site_guard action (the work is done on the controller)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: vc_site_guard
short_description: Roll a device's change back when the other device of its site failed
version_added: "0.1.0"
description:
  - A site (codec and switch port) is one change set. Run after both devices' tasks; when
    the partner failed, this device's change of the run is restored from its snapshot and
    the host is reported failed with the reason.
author: vcprov developers
extends_documentation_fragment:
  - vcprov.network.device
options:
  codec_port:
    description: The codec's interface (switches).
    type: str
  partner:
    description: The site's other device.
    type: str
    required: true
  partner_failed:
    description: Whether the partner's change failed.
    type: bool
    default: false
  result:
    description: This device's registered result of the run (its snapshot path).
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    description: Never restores in check mode (nothing was applied).
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Site change set
  vcprov.network.vc_site_guard:
    host: "{{ ansible_host }}"
    family: "{{ vc_family }}"
    username: "{{ vc_username }}"
    password: "{{ vc_password }}"
    codec_port: "{{ vc_codec_port }}"
    partner: "{{ vc_codec }}"
    partner_failed: "{{ hostvars[vc_codec].endpoint_standard_result.failed | default(false) }}"
    result: "{{ switch_qos_result }}"
"""

RETURN = r"""
restored:
  description: True when this device's change was rolled back.
  returned: when the partner failed
  type: bool
"""

if __name__ == "__main__":
    raise SystemExit("vc_site_guard is an action plugin: run it from a playbook")
