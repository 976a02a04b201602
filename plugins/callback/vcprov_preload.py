"""Callback: import vcprov's drivers once, in the controller process, before Ansible forks.

Ansible runs each host-task in a worker forked from the controller process.  vcprov's
action plugins are loaded in the worker, so every worker used to import the drivers
(netmiko, paramiko, hier-config, httpx: about 1 s of CPU) for a task that then talks to
one device for 20-500 ms.  Importing them here, once, lets every fork inherit them.  On
this 2-core machine this took a 62-device check from ~16 s to ~5 s (docs/architecture.md).
It prints nothing and changes no result.
"""

from __future__ import annotations

import importlib

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: vcprov_preload
type: aggregate
short_description: Import vcprov's device drivers before Ansible forks its workers
description:
  - Loads vcprov's drivers in the controller process so that forked workers inherit them
    instead of importing them once per host-task. Prints nothing.
author: vcprov developers
"""

MODULES = (
    "vcprov.ansible_glue",
    "vcprov.apply",
    "vcprov.check",
    "vcprov.devices.poly",
    "vcprov.devices.cisco_roomos",
    "vcprov.devices.switch",
)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "vcprov_preload"
    CALLBACK_NEEDS_ENABLED = False

    def __init__(self) -> None:
        super().__init__()
        for name in MODULES:
            try:
                importlib.import_module(name)
            except ImportError:  # vcprov not installed here: the tasks will say so
                break
