#!/usr/bin/python
"""Documentation of the vc_firmware_rollback action (the work is done on the controller)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: vc_firmware_rollback
short_description: Return codecs to a previous firmware version and its configuration
version_added: "0.1.0"
description:
  - The codecs of the play go back to the version and configuration of a snapshot (by
    default the last one vcprov took of each), the way C(vcprov rollback) does it -
    reinstall from the package server on the controller, restore the configuration,
    verify version, configuration and registration.
  - Run it with C(run_once) and C(--limit) naming the codecs. In check mode it says what
    it would do and touches nothing.
author: vcprov developers
options:
  snapshot:
    description: A snapshot file name or path (default the last one of each codec).
    type: str
  call_wait:
    description: Seconds to wait for a call to end (0 - a codec in a call is left as it is).
    type: float
    default: 0.0
  catalog:
    description: A firmware.yml to use instead of the inventory's.
    type: path
  serve:
    description: ADDRESS[:PORT] the package server binds.
    type: str
  serve_url:
    description: Base URL the codecs are given.
    type: str
attributes:
  check_mode:
    support: full
    description: Says what it would do; nothing is written to any device.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Back to the last snapshot's version and configuration
  vcprov.network.vc_firmware_rollback:
  run_once: true
"""

RETURN = r"""
devices:
  description: One entry per codec (name, from, to, result, steps).
  returned: always
  type: list
  elements: dict
rc:
  description: The exit code of C(vcprov rollback) (0 all rolled back, 2 some not, 1 bad input).
  returned: always
  type: int
"""

if __name__ == "__main__":
    raise SystemExit("vc_firmware_rollback is an action plugin: run it from a playbook")
