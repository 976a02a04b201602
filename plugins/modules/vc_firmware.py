#!/usr/bin/python
"""Documentation of the vc_firmware action (the work is done on the controller)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: vc_firmware
short_description: Upgrade codec firmware in rings, health-gated, with automatic rollback
version_added: "0.1.0"
description:
  - The codecs of the play are upgraded the way C(vcprov upgrade) does it (the same code),
    ring by ring from the inventory (C(ring_canary), C(ring1), C(ring2),
    C(ring_leadership)), each with its failure budget and soak; a ring starts only after
    the one before passed; a budget exceeded halts the rollout.
  - Per codec - precheck (reachable, an upgrade path, not in a call), snapshot, upgrade
    from the package server vcprov runs on the controller (checksums verified), wait for
    the reboot, verify (version, configuration equal to the snapshot, registered at the
    hub); on any failure the previous version is reinstalled and the snapshot restored.
  - Run it with C(run_once); switches in the play are left out (codec firmware only).
    Every transition goes to the journal, so C(vcprov upgrade --resume) can continue an
    interrupted run.
  - In check mode it prints the plan (codecs per ring, order, package, estimated time) and
    touches nothing.
author: vcprov developers
options:
  to:
    description: The version to install, several separated by commas, or C(target) (each
      family and model's catalogue target).
    type: str
    default: target
  ring:
    description: Only this ring.
    type: str
  now:
    description: Ignore the maintenance window (default 22:00-05:00 local).
    type: bool
    default: false
  soak:
    description: Soak seconds (device time) after every ring, instead of the ring's own.
    type: float
  call_wait:
    description: Seconds (device time) to wait for a call to end before deferring a codec.
    type: float
  catalog:
    description: A firmware.yml to use instead of the inventory's.
    type: path
  serve:
    description: ADDRESS[:PORT] the package server binds (default from firmware.yml).
    type: str
  serve_url:
    description: Base URL the codecs are given, when not http://ADDRESS:PORT.
    type: str
attributes:
  check_mode:
    support: full
    description: Prints the plan; nothing is written to any device.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Roll the catalogue's target out, canary first
  vcprov.network.vc_firmware:
    to: target
  run_once: true
  register: rollout
"""

RETURN = r"""
devices:
  description: One entry per codec, as C(vcprov upgrade --json) writes it.
  returned: always
  type: list
  elements: dict
  sample:
    - {"name": "so-tttt-codec", "ring": "ring_canary", "from": "6.2.2.8-670021",
       "to": "6.2.2.10-690087", "result": "rolled-back", "steps": []}
halted:
  description: A ring's failure budget was exceeded; later rings were not touched.
  returned: always
  type: bool
rc:
  description: The exit code of C(vcprov upgrade) (0 every codec on the target, 2 some
    not, 3 halted, 4 window closed, 1 bad input).
  returned: always
  type: int
stdout_lines:
  description: The progress lines, one per device transition.
  returned: always
  type: list
  elements: str
"""

if __name__ == "__main__":
    raise SystemExit("vc_firmware is an action plugin: run it from a playbook")
