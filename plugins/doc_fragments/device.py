"""The connection options every vcprov device module takes (one place for their docs)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  host:
    description: Address of the device's API (codecs, HTTPS) or SSH server (switches).
    type: str
    required: true
  port:
    description: Its port (default 443 for codecs, 22 for switches).
    type: int
  family:
    description: Device family (cisco-ios, cisco-iosxe, huawei-vrp, poly-group-series,
      poly-os, cisco-roomos).
    type: str
    required: true
  username:
    description: Account.
    type: str
    required: true
  password:
    description: Its password (vaulted; never logged).
    type: str
    required: true
  timeout:
    description: Seconds a request or command may take.
    type: float
    default: 30.0
"""
