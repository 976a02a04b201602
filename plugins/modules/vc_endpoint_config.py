#!/usr/bin/python
"""Documentation of the vc_endpoint_config action (the work is done on the controller)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: vc_endpoint_config
short_description: Bring a room codec to the province standard
version_added: "0.1.0"
description:
  - Reads the codec over its own API (Poly REST for Group Series and Poly OS, the Cisco
    xAPI for RoomOS), plans the changes that bring it to the effective province standard
    computed by M(vcprov.network.vc_standard), takes a snapshot on the controller, applies
    them, reads them back and restores the snapshot if anything fails.
  - One session per device, always logged out.
  - Changes that need a restart are never applied to a codec in a call; they are returned
    in RV(deferred). Otherwise the codec is restarted and waited for.
  - This is an action plugin; it runs on the controller and needs no Python on the device.
author: vcprov developers
options:
  host:
    description: Address of the codec's HTTPS API.
    type: str
    required: true
  port:
    description: HTTPS port (default 443).
    type: int
  family:
    description: Device family.
    type: str
    required: true
    choices: [poly-group-series, poly-os, cisco-roomos]
  username:
    description: Administrator account.
    type: str
    required: true
  password:
    description: Its password (vaulted; never logged).
    type: str
    required: true
  timeout:
    description: Seconds a request may take.
    type: float
    default: 30.0
  codec_port:
    description: Not used by codecs (shared argument set).
    type: str
  reboot:
    description: Restart the codec when an applied change needs it (never during a call).
    type: bool
    default: true
  reboot_timeout:
    description: Seconds to wait for the restarted codec.
    type: float
    default: 600.0
  site_failed:
    description:
      - Name of the site's other device when its change failed in this run; the codec is
        then left as it is (a site is one change set).
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
    description: Returns the exact vendor keys and values it would write; writes nothing.
  diff_mode:
    support: full
    description: Before and after per setting, with the vendor key.
notes:
  - The desired state comes from the run's C(vc_run_dir), written by
    M(vcprov.network.vc_standard) (run it first, C(run_once)).
seealso:
  - module: vcprov.network.vc_switch_config
  - module: vcprov.network.vc_standard
"""

EXAMPLES = r"""
- name: Codec holds the province standard
  vcprov.network.vc_endpoint_config:
    host: "{{ ansible_host }}"
    family: "{{ vc_family }}"
    username: "{{ vc_username }}"
    password: "{{ vc_password }}"
  register: endpoint_standard_result
"""

RETURN = r"""
changes:
  description:
    - One entry per setting changed (or, in check mode, to change).
    - Secrets are shown as <secret>.
  returned: always
  type: list
  elements: dict
  sample:
    - {"setting": "qos.dscp.audio", "vendor_key": "qos.diffServ.audio", "before": 0,
       "after": 46, "reboot": false, "lines": []}
writes:
  description: The exact vendor keys and values sent (or that would be sent in check mode).
  returned: always
  type: dict
  sample: {"qos.diffServ.audio": "46"}
deferred:
  description: Changes that need a restart, held back because the codec is in a call.
  returned: always
  type: list
  elements: dict
snapshot:
  description: Path of the snapshot taken on the controller before the change.
  returned: when something was applied
  type: str
restored:
  description: True when a failure was undone from the snapshot.
  returned: always
  type: bool
rebooted:
  description: True when the codec was restarted for a change.
  returned: always
  type: bool
unsupported:
  description: Settings of the standard this family has no key for, with the reason.
  returned: always
  type: dict
"""

if __name__ == "__main__":
    raise SystemExit("vc_endpoint_config is an action plugin: run it from a playbook")
