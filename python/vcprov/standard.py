"""The province standard: desired state per device, from the inventory, with provenance.

The standard is data in the inventory (``inventory/thanhhoa``): every layer file may hold
``vc_standard``, a mapping of vendor-neutral setting names (``call.max_rate_in_kbps``,
``qos.dscp.audio``...) to values, and ``vc_standard_unsupported``, settings a device family
has no key for, each with the reason.  Ansible replaces dictionaries whole
(``hash_behaviour=replace``), so vcprov merges ``vc_standard`` itself, PER SETTING, in
Ansible's precedence order (:mod:`vcprov.inventory`): all < parent groups < child groups
(by depth, then ``ansible_group_priority``, then name) < the host.  Each value remembers
the file and the key it came from.

Below every file sit *derived* defaults, computed (no templating) from the host's own
inventory variables: ``identity.system_name`` = ``vc_site_name``, ``sip.user`` =
``h323.name`` = ``vc_site``, ``port.description`` = ``VC codec <vc_codec> <codec model>``.

Secrets: a secret setting (``snmp.community``) is never written as a literal; its value is
``{secret: <variable>}``, naming a variable that must be defined in an ansible-vault
encrypted file (or an inline ``!vault`` value).  Output shows ``<vaulted: <variable>>``.

:data:`SETTINGS` is the registry: type, range, role, secrecy and heal class of each
setting.  :func:`validate` collects every error (file, host, key) before anything is
touched.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .inventory import (
    LOCKED,
    HostSpec,
    InvalidStandard,
    Inventory,
    Layer,
    StandardError,
    display_path,
)
from .inventory import load as _load_inventory

__all__ = [
    "FAMILIES",
    "SETTINGS",
    "HostSpec",
    "InvalidStandard",
    "Inventory",
    "Setting",
    "Standard",
    "StandardError",
    "Value",
    "effective",
    "lab_overrides",
    "load",
    "main_show",
    "show",
    "validate",
]

Role = Literal["endpoint", "switch"]
ENDPOINT: tuple[Role, ...] = ("endpoint",)
SWITCH: tuple[Role, ...] = ("switch",)
BOTH: tuple[Role, ...] = ("endpoint", "switch")

# family -> (role, its inventory group)
FAMILIES: dict[str, tuple[Role, str]] = {
    "poly-group-series": ("endpoint", "poly_group_series"),
    "poly-os": ("endpoint", "poly_os"),
    "cisco-roomos": ("endpoint", "cisco_roomos"),
    "cisco-ios": ("switch", "cisco_ios"),
    "cisco-iosxe": ("switch", "cisco_iosxe"),
    "huawei-vrp": ("switch", "huawei_vrp"),
}
ROLE_GROUPS: dict[Role, str] = {"endpoint": "endpoints", "switch": "switches"}
HEAL_CLASSES = (
    "identity",
    "calls",
    "call-control",
    "qos",
    "time",
    "management",
    "firmware",
    "port",
)
DEFAULT_INVENTORY = "inventory/thanhhoa"


@dataclass(frozen=True)
class Setting:
    """One vendor-neutral setting of the standard."""

    name: str
    type: Literal["int", "bool", "str", "list", "enum"]
    roles: tuple[Role, ...]
    heal: str
    description: str
    secret: bool = False
    minimum: int | None = None  # int: value range; str: length; list: item count
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    pattern: str | None = None  # str and list items
    required: bool = True  # every device of its roles must have it (or declare it unsupported)

    def check(self, value: Any) -> str | None:
        """Why ``value`` is not valid for this setting (None when it is).

        Messages never contain the value of a secret setting.
        """
        shown = "the value" if self.secret else repr(value)
        if self.type == "bool":
            return None if isinstance(value, bool) else f"{shown} is not a boolean (true/false)"
        if self.type == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                return f"{shown} is not an integer"
            if (self.minimum is not None and value < self.minimum) or (
                self.maximum is not None and value > self.maximum
            ):
                return f"{value} is outside {self.minimum}-{self.maximum}"
            return None
        if self.type == "enum":
            if value not in self.choices:
                return f"{shown} is not one of {', '.join(self.choices)}"
            return None
        if self.type == "str":
            return self._check_str(value, shown)
        if self.type == "list":
            if not isinstance(value, list):
                return f"{shown} is not a list"
            if (self.minimum is not None and len(value) < self.minimum) or (
                self.maximum is not None and len(value) > self.maximum
            ):
                return f"has {len(value)} items, not {self.minimum}-{self.maximum}"
            for item in value:
                if problem := self._check_str(item, repr(item), lengths=False):
                    return f"item {problem}"
            return None
        return f"unknown type {self.type}"  # pragma: no cover - registry bug

    def _check_str(self, value: Any, shown: str, *, lengths: bool = True) -> str | None:
        if not isinstance(value, str):
            return f"{shown} is not a string"
        if lengths and self.minimum is not None and len(value) < self.minimum:
            return f"{shown} is shorter than {self.minimum} characters"
        if lengths and self.maximum is not None and len(value) > self.maximum:
            return f"{shown} is longer than {self.maximum} characters"
        if self.pattern and not re.fullmatch(self.pattern, value):
            return f"{shown} is not of the form {self.pattern}"
        return None


_HOST = r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?"

SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in (
        Setting("identity.system_name", "str", ENDPOINT, "identity",
                "system name shown in calls (the site's Vietnamese name where the device "
                "allows it)", minimum=1, maximum=64),
        Setting("call.max_rate_in_kbps", "int", ENDPOINT, "calls",
                "maximum incoming call rate (kbps)", minimum=64, maximum=6144),
        Setting("call.max_rate_out_kbps", "int", ENDPOINT, "calls",
                "outgoing (default) call rate (kbps)", minimum=64, maximum=6144),
        Setting("call.encryption", "enum", ENDPOINT, "calls", "AES media encryption",
                choices=("when_available", "required", "off")),
        Setting("call.auto_answer", "bool", ENDPOINT, "calls", "answer incoming calls"),
        Setting("call.auto_answer_mute", "bool", ENDPOINT, "calls",
                "microphones muted when a call is auto-answered"),
        Setting("sip.enabled", "bool", ENDPOINT, "call-control", "SIP on"),
        Setting("sip.domain", "str", ENDPOINT, "call-control",
                "SIP domain (the URI is <sip.user>@<sip.domain>)", pattern=_HOST),
        Setting("sip.registrar", "str", ENDPOINT, "call-control", "SIP registrar at the hub",
                pattern=_HOST),
        Setting("sip.proxy", "str", ENDPOINT, "call-control", "SIP proxy at the hub",
                pattern=_HOST),
        Setting("sip.user", "str", ENDPOINT, "call-control", "the site's SIP user",
                pattern=r"[A-Za-z0-9._+-]+"),
        Setting("h323.enabled", "bool", ENDPOINT, "call-control", "H.323 on"),
        Setting("h323.gatekeeper", "str", ENDPOINT, "call-control",
                "H.323 gatekeeper at the hub", pattern=_HOST),
        Setting("h323.name", "str", ENDPOINT, "call-control", "the site's H.323 ID",
                minimum=1, maximum=64),
        Setting("h323.e164", "str", ENDPOINT, "call-control", "the site's E.164 number",
                pattern=r"[0-9]{1,15}"),
        Setting("qos.diffserv", "bool", ENDPOINT, "qos", "DiffServ marking on"),
        Setting("qos.dscp.audio", "int", BOTH, "qos", "DSCP of audio (EF 46)",
                minimum=0, maximum=63),
        Setting("qos.dscp.video", "int", BOTH, "qos", "DSCP of video (AF41 34)",
                minimum=0, maximum=63),
        Setting("qos.dscp.signalling", "int", ENDPOINT, "qos",
                "DSCP of SIP/H.323 signalling (CS3 24)", minimum=0, maximum=63),
        Setting("time.ntp_servers", "list", ENDPOINT, "time", "NTP servers",
                minimum=1, maximum=2, pattern=_HOST),
        Setting("time.zone", "str", ENDPOINT, "time", "IANA time zone",
                pattern=r"[A-Za-z]+(/[A-Za-z0-9_+-]+)+|UTC"),
        Setting("snmp.enabled", "bool", ENDPOINT, "management", "SNMP agent on"),
        Setting("snmp.community", "str", ENDPOINT, "management",
                "SNMP read-only community", secret=True, minimum=1, maximum=64),
        Setting("snmp.trap_target", "str", ENDPOINT, "management",
                "SNMP trap receiver at the hub", pattern=_HOST),
        Setting("mgmt.telnet", "bool", ENDPOINT, "management", "telnet service"),
        Setting("mgmt.https_only", "bool", ENDPOINT, "management",
                "web interface over HTTPS only"),
        Setting("mgmt.tls_min", "enum", ENDPOINT, "management", "minimum TLS version",
                choices=("1.0", "1.1", "1.2", "1.3")),
        Setting("mgmt.auto_update", "bool", ENDPOINT, "management",
                "the device's own software auto-update (vcprov manages firmware)"),
        Setting("mgmt.provisioning", "bool", ENDPOINT, "management",
                "cloud / provisioning-server management"),
        Setting("firmware.target", "str", BOTH, "firmware", "firmware version to run",
                minimum=1, maximum=64),
        Setting("port.description", "str", SWITCH, "port",
                "description of the codec's port", minimum=1, maximum=80,
                pattern=r"[ -~]+"),
        Setting("port.vlan", "int", SWITCH, "port", "access VLAN of the codec's port",
                minimum=1, maximum=4094),
        Setting("port.edge", "bool", SWITCH, "port",
                "edge port (portfast / stp edged-port enable)"),
        Setting("port.bpdu_guard", "bool", SWITCH, "port", "BPDU guard on the port"),
        Setting("port.trust_dscp", "bool", SWITCH, "qos",
                "trust DSCP on the port (with the QoS globals the platform needs)"),
        Setting("port.ef_priority_queue", "bool", SWITCH, "qos",
                "EF (qos.dscp.audio) in the priority queue"),
    )
}  # fmt: skip


# --- the effective standard ------------------------------------------------------


@dataclass(frozen=True)
class Value:
    """A setting's value for one device, and where it comes from."""

    value: Any
    file: str
    key: str
    secret: bool = False
    ref: str | None = None  # the vaulted variable of a secret setting
    ref_file: str | None = None  # the file that defines it (None: vault locked)
    derived: bool = False

    @property
    def source(self) -> str:
        """``file:key``, and for a secret the file of its vaulted variable."""
        where = f"{self.file}:{self.key}"
        if self.secret:
            where += f" ({self.ref} in {self.ref_file or 'a locked vault file'})"
        return where

    def shown(self) -> str:
        if self.secret:
            return f"<vaulted: {self.ref}>"
        return _fmt(self.value)

    def __repr__(self) -> str:
        return f"Value({self.shown()!s}, {self.file}:{self.key})"


@dataclass(frozen=True)
class Unsupported:
    setting: str
    reason: str
    file: str


@dataclass
class Standard(Mapping[str, Value]):
    """The effective standard of one device: setting -> :class:`Value`."""

    host: str
    role: str
    family: str
    site: str
    settings: dict[str, Value] = field(default_factory=dict)
    unsupported: dict[str, Unsupported] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Value:
        return self.settings[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.settings)

    def __len__(self) -> int:
        return len(self.settings)

    def desired(self) -> dict[str, Any]:
        """setting -> value, secrets INCLUDED: for drivers and ``no_log`` module arguments."""
        return {k: v.value for k, v in self.settings.items()}

    def secrets(self) -> set[str]:
        return {k for k, v in self.settings.items() if v.secret}


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(_fmt(v) for v in value)
    return str(value)


def _is_secret_ref(value: Any) -> bool:
    return isinstance(value, Mapping) and set(value) == {"secret"}


class _Errors:
    """Errors of one host, as (file, key, problem) triples."""

    def __init__(self, host: str):
        self.host = host
        self.items: list[StandardError] = []

    def add(self, file: str, key: str | None, problem: str) -> None:
        self.items.append(StandardError(file, self.host, key, problem))


def _role_family(inv: Inventory, host: str, errs: _Errors) -> tuple[str, str]:
    h = inv.hosts[host]
    role, family = h.get("vc_role"), h.get("vc_family")
    where = h.file_of
    if family not in FAMILIES:
        errs.add(where("vc_family"), "vc_family", f"{family!r} is not one of {', '.join(FAMILIES)}")
        family = ""
    if role not in ROLE_GROUPS:
        errs.add(where("vc_role"), "vc_role", f"{role!r} is not endpoint or switch")
        role = FAMILIES[family][0] if family else ""
    elif family and FAMILIES[family][0] != role:
        errs.add(where("vc_family"), "vc_family", f"{family} is not a {role} family")
    if family:
        group = FAMILIES[family][1]
        if group not in h.groups:
            errs.add(h.file, "vc_family", f"{family} device is not in group {group}")
        others = [g for f, (_, g) in FAMILIES.items() if f != family and g in h.groups]
        if others:
            errs.add(h.file, "vc_family", f"{family} device is also in {', '.join(others)}")
    if role in ROLE_GROUPS and ROLE_GROUPS[role] not in h.groups:
        errs.add(h.file, "vc_role", f"{role} is not in group {ROLE_GROUPS[role]}")
    return str(role or ""), str(family or "")


def _derived(inv: Inventory, host: str, role: str) -> list[tuple[str, Value]]:
    """Template-free defaults from the host's inventory variables (lowest precedence)."""
    h = inv.hosts[host]
    out: list[tuple[str, Value]] = []

    def take(setting: str, var: str, value: Any) -> None:
        origin = h.origin(var)
        if value is not None and origin is not None:
            out.append((setting, Value(value, origin.file, var, derived=True)))

    if role == "endpoint":
        take("identity.system_name", "vc_site_name", h.get("vc_site_name"))
        take("sip.user", "vc_site", h.get("vc_site"))
        take("h323.name", "vc_site", h.get("vc_site"))
    elif role == "switch":
        codec = h.get("vc_codec")
        model = inv.hosts[codec].get("vc_model") if codec in inv.hosts else None
        if isinstance(codec, str):
            take("port.description", "vc_codec", f"VC codec {codec} {model or ''}".strip())
    return out


def _compute(inv: Inventory, host: str) -> tuple[Standard, list[StandardError], list[tuple]]:
    """The effective standard of ``host``, its errors, and (file, setting, role) uses."""
    h = inv.hosts[host]
    errs = _Errors(host)
    role, family = _role_family(inv, host, errs)
    std = Standard(host, role, family, str(h.get("vc_site", "")))
    uses: list[tuple[str, str, str]] = []  # (group file, setting, role): see validate()
    chosen: dict[str, tuple[Value, Any, Layer | None]] = {}
    for setting, value in _derived(inv, host, role):
        chosen[setting] = (value, value.value, None)

    for layer in h.layers:
        if layer.locked:
            continue
        raw = layer.vars.get("vc_standard")
        if raw is not None:
            if not isinstance(raw, Mapping):
                errs.add(layer.file, "vc_standard", "must be a mapping of setting: value")
            else:
                for key, value in raw.items():
                    if key not in SETTINGS:
                        errs.add(layer.file, key, _unknown(key))
                        continue
                    if role and role not in SETTINGS[key].roles and layer.level == "host":
                        errs.add(layer.file, key, f"does not apply to a {role}")
                        continue
                    if layer.level == "group":
                        uses.append((layer.file, key, role))
                    if role in SETTINGS[key].roles:
                        chosen[key] = (
                            Value(value, layer.file, layer.key_for(key)),
                            value,
                            layer,
                        )
        unsup = layer.vars.get("vc_standard_unsupported")
        if unsup is not None:
            if not isinstance(unsup, Mapping):
                errs.add(
                    layer.file,
                    "vc_standard_unsupported",
                    "must be a mapping of setting: reason",
                )
                continue
            for key, reason in unsup.items():
                if key not in SETTINGS:
                    errs.add(layer.file, key, _unknown(key))
                elif not isinstance(reason, str) or not reason.strip():
                    errs.add(layer.file, key, "an unsupported setting needs a reason (a string)")
                elif role in SETTINGS[key].roles:
                    std.unsupported[key] = Unsupported(key, " ".join(reason.split()), layer.file)

    for key, (val, raw_value, _layer) in chosen.items():
        if key in std.unsupported:
            continue
        spec = SETTINGS[key]
        if spec.secret:
            resolved = _resolve_secret(inv, host, key, val, raw_value, errs)
            if resolved is not None:
                std.settings[key] = resolved
            continue
        if _is_secret_ref(raw_value):
            errs.add(val.file, key, "is not a secret setting: give the value itself")
            continue
        if problem := spec.check(raw_value):
            errs.add(val.file, key, problem)
            continue
        std.settings[key] = val

    for key, spec in SETTINGS.items():
        if (
            spec.required
            and role in spec.roles
            and key not in std.settings
            and key not in std.unsupported
            and key not in chosen
        ):
            errs.add(
                h.file,
                key,
                f"is set nowhere: add it to group_vars or host_vars, or declare it in "
                f"vc_standard_unsupported of {family or 'the family'}",
            )
    _check_links(inv, host, role, errs)
    return std, errs.items, uses


def _unknown(key: str) -> str:
    close = [s for s in SETTINGS if s.split(".")[-1] == key.split(".")[-1]]
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"unknown setting{hint}"


def _resolve_secret(
    inv: Inventory, host: str, key: str, val: Value, raw: Any, errs: _Errors
) -> Value | None:
    h = inv.hosts[host]
    if not _is_secret_ref(raw) or not isinstance(raw["secret"], str):
        errs.add(
            val.file,
            key,
            "is a secret: give it as {secret: <vaulted variable>}, never the value itself",
        )
        return None
    ref = raw["secret"]
    origin = h.origin(ref)
    if origin is None:
        if h.vault_locked:  # it may be in a file we could not decrypt
            return Value(None, val.file, val.key, secret=True, ref=ref)
        errs.add(val.file, key, f"refers to {ref}, which is not defined in any vaulted file")
        return None
    if not origin.is_vaulted(ref):
        errs.add(
            origin.file,
            ref,
            f"holds the secret of {key} but the file is not vault-encrypted "
            "(ansible-vault encrypt it, or use an inline !vault value)",
        )
        return None
    secret = origin.vars[ref]
    if secret is LOCKED:
        return Value(None, val.file, val.key, secret=True, ref=ref)
    if problem := SETTINGS[key].check(secret):
        errs.add(origin.file, ref, f"(secret of {key}): {problem}")
        return None
    return Value(secret, val.file, val.key, secret=True, ref=ref, ref_file=origin.file)


def _check_links(inv: Inventory, host: str, role: str, errs: _Errors) -> None:
    """A codec names its switch and port; the switch names the codec back."""
    h = inv.hosts[host]
    where = h.file_of
    mine, peer_var, port_var, back_var, back_port = (
        ("endpoint", "vc_switch", "vc_switch_port", "vc_codec", "vc_codec_port")
        if role == "endpoint"
        else ("switch", "vc_codec", "vc_codec_port", "vc_switch", "vc_switch_port")
    )
    if role not in ("endpoint", "switch"):
        return
    want = "switch" if mine == "endpoint" else "endpoint"
    peer, port = h.get(peer_var), h.get(port_var)
    if not peer:
        errs.add(where(peer_var), peer_var, f"missing: every {mine} needs its {want}")
        return
    if not port:
        errs.add(where(port_var), port_var, f"missing: the {want} port is not given")
    if peer not in inv.hosts:
        errs.add(where(peer_var), peer_var, f"{peer!r} is not a host of the inventory")
        return
    other = inv.hosts[peer]
    if other.get("vc_role") != want:
        errs.add(where(peer_var), peer_var, f"{peer} is not a {want} (vc_role {want})")
        return
    if mine == "endpoint":  # report mismatches once, on the codec
        if other.get(back_var) != host:
            errs.add(where(peer_var), peer_var, f"{peer} names {other.get(back_var)!r} as codec")
        elif port and other.get(back_port) != port:
            errs.add(where(port_var), port_var, f"{port} but {peer} has {other.get(back_port)!r}")


# --- API ------------------------------------------------------------------------


def load(
    inventory_dir: str = DEFAULT_INVENTORY,
    vault_password_file: str | None = None,
    *,
    hosts: Iterable[HostSpec] | None = None,
) -> Inventory:
    """Read an inventory (see :func:`vcprov.inventory.load`)."""
    return _load_inventory(inventory_dir, vault_password_file, hosts=hosts)


def effective(inventory: Inventory, host: str) -> Standard:
    """The effective standard of ``host``; :class:`InvalidStandard` if its input is invalid."""
    if host not in inventory.hosts:
        raise InvalidStandard(
            [StandardError(inventory.hosts_file, host, None, "no such host in the inventory")]
        )
    std, errors, _ = _compute(inventory, host)
    errors += inventory.errors
    if errors:
        raise InvalidStandard(_unique(errors))
    return std


def validate(inventory: Inventory) -> list[StandardError]:
    """Every error of the inventory, each once (a group file's error names its first host)."""
    errors: list[StandardError] = list(inventory.errors)
    all_uses: list[tuple] = []
    for host in inventory.hosts:
        _, errs, uses = _compute(inventory, host)
        errors.extend(errs)
        all_uses.extend((*u, host) for u in uses)
    errors.extend(_role_misuse_hosts(all_uses))
    return _unique(errors)


def check(inventory: Inventory) -> None:
    """Raise :class:`InvalidStandard` with every error, or return when the inventory is valid."""
    if errors := validate(inventory):
        raise InvalidStandard(errors)


def _role_misuse_hosts(uses: Iterable[tuple]) -> list[StandardError]:
    """A setting in a file that applies to no host of the setting's roles."""
    by_file: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for file, key, role, host in uses:
        by_file.setdefault((file, key), []).append((role, host))
    out = []
    for (file, key), users in by_file.items():
        roles = SETTINGS[key].roles
        if users and not any(r in roles for r, _ in users):
            role, host = users[0]
            out.append(StandardError(file, host, key, f"does not apply to a {role}"))
    return out


def _unique(errors: Iterable[StandardError]) -> list[StandardError]:
    """One error per (file, key, problem): group-file errors would repeat for every host."""
    seen: dict[tuple[str, str | None, str], StandardError] = {}
    counts: dict[tuple[str, str | None, str], int] = {}
    for e in errors:
        k = (e.file, e.key, e.problem)
        counts[k] = counts.get(k, 0) + 1
        seen.setdefault(k, e)
    out = []
    for k, e in seen.items():
        if counts[k] > 1 and e.host:
            e = StandardError(
                e.file,
                e.host,
                e.key,
                f"{e.problem} (and {counts[k] - 1} other host{'s' if counts[k] > 2 else ''})",
            )
        out.append(e)
    return out


def show(inventory: Inventory, host: str) -> str:
    """A device's effective standard as a table: setting | value | from file:key."""
    std = effective(inventory, host)
    h = inventory.hosts[host]
    rows = [("setting", "value", "from file:key")]
    for key in sorted(std.settings, key=list(SETTINGS).index):
        v = std.settings[key]
        rows.append((key, v.shown(), v.source))
    widths = [max(len(r[i]) for r in rows) for i in range(2)]
    lines = [
        f"{host}: {std.role} {std.family} {h.get('vc_model', '')}, site {std.site}"
        + (
            " (vault locked: secrets not checked)"
            if any(v.secret and v.ref_file is None for v in std.settings.values())
            else ""
        ),
        "",
    ]
    for i, (a, b, c) in enumerate(rows):
        lines.append(f"{a:<{widths[0]}} | {b:<{widths[1]}} | {c}".rstrip())
        if i == 0:
            lines.append(f"{'-' * widths[0]}-+-{'-' * widths[1]}-+-{'-' * 20}")
    if std.unsupported:
        lines += ["", f"not available on {std.family}:"]
        for key, u in sorted(std.unsupported.items()):
            lines.append(f"  {key}: {u.reason} ({u.file})")
    return "\n".join(lines) + "\n"


def main_show(argv: Sequence[str] | None = None) -> int:
    """``vcprov standard show HOST [-i INVENTORY] [--vault-password-file FILE]``."""
    parser = argparse.ArgumentParser(
        prog="vcprov standard show",
        description="Print a device's effective standard with the file and key of each value.",
    )
    parser.add_argument("host")
    parser.add_argument("-i", "--inventory", default=DEFAULT_INVENTORY)
    parser.add_argument(
        "--vault-password-file",
        default=None,
        help="default: $ANSIBLE_VAULT_PASSWORD_FILE; without one, vaulted files stay locked",
    )
    parser.add_argument("--lab", help="lab state directory: the lab's devices and hub")
    args = parser.parse_args(argv)
    try:
        hosts = None
        if args.lab:
            lab_json = Path(args.lab) / "lab.json"
            doc = json.loads(lab_json.read_text(encoding="utf-8"))
            hosts = lab_overrides(doc, str(lab_json))
        inv = load(args.inventory, args.vault_password_file, hosts=hosts)
        sys.stdout.write(show(inv, args.host))
    except InvalidStandard as exc:
        for err in exc.errors:
            print(err, file=sys.stderr)
        return 2
    return 0


# --- the lab --------------------------------------------------------------------

# lab.json row field -> setting (per device), and hub field -> setting (every codec).
_LAB_SITE_FIELDS = {
    "identity.system_name": "system_name",
    "sip.user": "sip_user",
    "h323.name": "sip_user",
    "h323.e164": "e164",
}
_LAB_HUB_FIELDS = {
    "sip.domain": "domain",
    "sip.registrar": "sip_registrar",
    "sip.proxy": "sip_proxy",
    "h323.gatekeeper": "gatekeeper",
    "time.ntp_servers": "ntp_servers",
    "snmp.trap_target": "snmp_trap",
}


def lab_overrides(lab_doc: Mapping[str, Any], source: str = "lab.json") -> list[HostSpec]:
    """The lab's devices as hosts layered over the inventory's ``group_vars`` standard.

    Each device gets one host-level layer from ``source`` (lab.json, mode 0600, the lab's
    own secret store): its address, port and credentials, the per-site values the lab
    made it with (system name, SIP user, E.164, VLAN) and the lab hub's servers; the rest
    of the standard (rates, DSCP, time zone, TLS...) comes from the inventory's group_vars,
    so the lab is held to the same standard as the province.  Provenance keys point into
    lab.json (``devices[ha-trung-codec].e164``, ``hub.sip_registrar``).
    """
    shown = display_path(source) if source != "lab.json" else source
    hub = lab_doc.get("hub", {})
    specs: list[HostSpec] = []
    for row in lab_doc.get("devices", []):
        name, role, family = row["name"], row["role"], row["family"]
        here = f"devices[{name}]"
        variables: dict[str, Any] = {
            "ansible_host": row["host"],
            "ansible_port": row["port"],
            "ansible_connection": "local",
            "vc_role": role,
            "vc_family": family,
            "vc_model": row.get("model", ""),
            "vc_site": row["site"],
            "vc_site_name": row.get("site_name", row["site"]),
            "vc_serial": row.get("serial", ""),  # the box the site expects (onboarding)
            "vc_username": row["username"],
            "vc_password": row["password"],
            "vault_snmp_community": row.get("snmp_community", ""),
        }
        standard: dict[str, Any] = {}
        keys: dict[str, str] = {}
        if role == "endpoint":
            variables["vc_switch"] = row.get("switch")
            variables["vc_switch_port"] = row.get("switch_port")
            for setting, fld in _LAB_SITE_FIELDS.items():
                if row.get(fld) not in (None, ""):
                    standard[setting], keys[setting] = row[fld], f"{here}.{fld}"
            for setting, fld in _LAB_HUB_FIELDS.items():
                if fld in hub:
                    value = list(hub[fld]) if isinstance(hub[fld], list) else hub[fld]
                    standard[setting], keys[setting] = value, f"hub.{fld}"
        else:
            variables["vc_codec"] = row.get("codec")
            variables["vc_codec_port"] = row.get("codec_port")
            if "vlan" in row:
                standard["port.vlan"], keys["port.vlan"] = row["vlan"], f"{here}.vlan"
        variables["vc_standard"] = standard
        groups = [ROLE_GROUPS[role], FAMILIES[family][1]] if family in FAMILIES else []
        if row.get("hub"):
            groups.append("hub")
        kind = row.get("site_kind")
        if kind in ("province", "district"):
            groups.append("province_offices" if kind == "province" else "districts")
        layer = Layer(shown, variables, vaulted=True, keys=keys, level="host", owner=name)
        specs.append(HostSpec(name, groups, [layer]))
    return specs


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main_show())
