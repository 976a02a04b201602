#!/usr/bin/python
"""Documentation of the vc_standard action (the work is done on the controller)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: vc_standard
short_description: Check the province standard of every device in the play, once
version_added: "0.1.0"
description:
  - Computes the effective standard (province, group, site layers of C(vc_standard)) of
    every host in the play and validates it; any error (a DSCP of 70, an unknown setting
    name, a rate outside the device's value space, a codec without a switch port) fails
    the play before any device is touched, naming the file, host and key.
  - Writes each host's desired state to the run directory (secrets as the name of their
    vaulted variable only) and sets the fact C(vc_run_dir) for every host.
  - Run it with C(run_once) and C(any_errors_fatal).
author: vcprov developers
options:
  hosts:
    description: Hosts to check (default every host of the play).
    type: list
    elements: str
attributes:
  check_mode:
    support: full
    description: Reads only; writes the run directory on the controller in both modes.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Check the standard of every device in this run
  vcprov.network.vc_standard:
  run_once: true
  any_errors_fatal: true
"""

RETURN = r"""
run_dir:
  description: Directory holding each host's desired state for this run.
  returned: success
  type: str
errors:
  description: Every problem found, each naming the file, host and key.
  returned: failure
  type: list
  elements: str
"""

if __name__ == "__main__":
    raise SystemExit("vc_standard is an action plugin: run it from a playbook")
