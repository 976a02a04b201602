"""Switch platform knowledge as data: hier-config driver rules and setting maps.

Three tables per platform, all consumed by :mod:`vcprov.devices.switch` without any
vendor branching:

* :func:`hconfig_driver` -- the hier-config 3.x driver with vcprov's rules
  (``shared/reference/switch-qos.md`` 6.1): idempotent commands (a new VLAN replaces the
  old one without a ``no switchport access vlan`` in between, so no VLAN-1 blip),
  Huawei's trailing ``return`` dropped, ``undo trust`` in its short form, ``port link-type``
  before ``port default vlan``.
* :data:`LINE_SETTINGS` -- which neutral setting a remediation line belongs to (for
  :class:`~vcprov.devices.base.Change` and reports), with the vendor key shown to operators.
* :data:`READERS` -- how to read a neutral value back from the owned sections (drift).

Never managed: the port's administrative state (``shutdown`` / ``no shutdown`` /
``undo shutdown``).  Those lines are dropped from both sides before remediation, so a plan
can never bounce the port.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hier_config import MatchRule, Platform, get_hconfig_driver
from hier_config.models import (
    IdempotentCommandsRule,
    NegationSubRule,
    OrderingRule,
    PerLineSubRule,
)
from hier_config.platforms.driver_base import HConfigDriverBase

# DSCP names as IOS and VRP print them in class-maps / classifiers.
DSCP_NAMES: dict[int, str] = {
    0: "default",
    8: "cs1",
    10: "af11",
    12: "af12",
    14: "af13",
    16: "cs2",
    18: "af21",
    20: "af22",
    22: "af23",
    24: "cs3",
    26: "af31",
    28: "af32",
    30: "af33",
    32: "cs4",
    34: "af41",
    36: "af42",
    38: "af43",
    40: "cs5",
    46: "ef",
    48: "cs6",
    56: "cs7",
}
DSCP_VALUES = {name: value for value, name in DSCP_NAMES.items()}


def dscp_name(value: int) -> str:
    """``46`` -> ``ef``; a value without a name is printed as its number."""
    return DSCP_NAMES.get(value, str(value))


def dscp_value(token: str) -> int | None:
    if token.isdigit():
        return int(token)
    return DSCP_VALUES.get(token)


def video_dscp_names(video: int) -> list[str]:
    """The DSCP values matched as video: the standard's value, its AF4x drop precedences
    when it is AF41, and CS4 (TelePresence room systems), per reference 1.1."""
    names = [dscp_name(video)]
    if video == 34:
        names += ["af42", "af43"]
    if video != 32:
        names.append("cs4")
    return names


# --- hier-config drivers ----------------------------------------------------------

# The volatile lines of a running configuration (timestamps, counters): never part of a
# plan, a snapshot digest or a drift report.
VOLATILE_LINES: tuple[str, ...] = (
    r"^Building configuration",
    r"^Current configuration\s*:",
    r"^! Last configuration change",
    r"^! NVRAM config last updated",
    r"^! No configuration change since last restart",
    r"^ntp clock-period ",
    r"^!Software Version",
    r"^!Last configuration was (updated|saved)",
    r"^!Time:",
    r"^Time source is",
    r"^\*?\d{2}:\d{2}:\d{2}\.\d+ \S+ \w{3} \w{3} +\d+ \d{4}$",  # IOS clock line
)

# Lines of the codec's interface that vcprov never manages (port admin state).
UNMANAGED_PORT_LINES = re.compile(r"^(no |undo )?shutdown$")


def _idempotent(section: str, prefix: str) -> IdempotentCommandsRule:
    return IdempotentCommandsRule(
        match_rules=(MatchRule(startswith=section), MatchRule(startswith=prefix))
    )


def _idempotent_nested(path: tuple[str, ...]) -> IdempotentCommandsRule:
    return IdempotentCommandsRule(match_rules=tuple(MatchRule(startswith=p) for p in path))


@dataclass(frozen=True)
class DriverRules:
    """vcprov's additions to a hier-config platform driver."""

    platform: Platform
    idempotent: tuple[tuple[str, ...], ...] = ()
    per_line_sub: tuple[tuple[str, str], ...] = ()
    negation_sub: tuple[tuple[str, str, str], ...] = ()  # (startswith, search, replace)
    ordering: tuple[tuple[tuple[str, ...], int], ...] = ()


_CISCO_IDEMPOTENT: tuple[tuple[str, ...], ...] = (
    ("interface ", "description "),
    ("interface ", "switchport access vlan "),
    ("interface ", "switchport mode "),
    ("interface ", "mls qos trust "),
    ("interface ", "service-policy output "),
    ("interface ", "service-policy input "),
    ("policy-map ", "class ", "priority "),
    ("policy-map ", "class ", "bandwidth "),
)

DRIVER_RULES: dict[str, DriverRules] = {
    "cisco-ios": DriverRules(Platform.CISCO_IOS, idempotent=_CISCO_IDEMPOTENT),
    "cisco-iosxe": DriverRules(Platform.CISCO_IOS, idempotent=_CISCO_IDEMPOTENT),
    "huawei-vrp": DriverRules(
        Platform.HUAWEI_VRP,
        idempotent=(
            ("interface ", "description "),
            ("interface ", "port default vlan "),
            ("interface ", "port link-type "),
            ("interface ", "trust "),
            ("interface ", "qos pq "),
        ),
        per_line_sub=((r"^return$", ""),),
        # VRP removes trust with a bare `undo trust` [inferred: the negation form is not in
        # the reference; `undo <command>` without arguments is VRP's usual form].
        negation_sub=(("undo trust ", r"^undo trust .*$", "undo trust"),),
        ordering=((("interface ", "port link-type "), -10),),
    ),
}


def hconfig_driver(family: str) -> HConfigDriverBase:
    """A fresh hier-config driver for ``family`` with vcprov's rules added."""
    spec = DRIVER_RULES[family]
    driver = get_hconfig_driver(spec.platform)
    rules = driver.rules
    for path in spec.idempotent:
        rules.idempotent_commands.append(_idempotent_nested(path))
    for search, replace in spec.per_line_sub:
        rules.per_line_sub.append(PerLineSubRule(search=search, replace=replace))
    for start, search, replace in spec.negation_sub:
        rules.negation_sub.append(
            NegationSubRule(
                match_rules=(MatchRule(startswith="interface "), MatchRule(startswith=start)),
                search=search,
                replace=replace,
            )
        )
    for path, weight in spec.ordering:
        rules.ordering.append(
            OrderingRule(match_rules=tuple(MatchRule(startswith=p) for p in path), weight=weight)
        )
    return driver


# --- remediation line -> neutral setting -----------------------------------------


@dataclass(frozen=True)
class LineSetting:
    """A remediation line (its section path and text, negation stripped) -> setting."""

    setting: str
    section: str  # regex on the root section's text ("" = a root-level line)
    line: str  # regex on the line's own text
    key: str  # the vendor key shown to operators


_CISCO_PORT: tuple[LineSetting, ...] = (
    LineSetting("port.description", r"^interface ", r"^description\b", "description"),
    LineSetting("port.vlan", r"^interface ", r"^switchport access vlan\b",
                "switchport access vlan"),
    LineSetting("port.vlan", r"^interface ", r"^switchport mode\b", "switchport mode"),
    LineSetting("port.vlan", r"^interface ", r"^switchport nonegotiate\b",
                "switchport nonegotiate"),
    LineSetting("port.edge", r"^interface ", r"^spanning-tree portfast\b",
                "spanning-tree portfast"),
    LineSetting("port.bpdu_guard", r"^interface ", r"^spanning-tree bpduguard\b",
                "spanning-tree bpduguard"),
    LineSetting("port.trust_dscp", r"^interface ", r"^mls qos trust\b", "mls qos trust"),
    LineSetting("port.ef_priority_queue", r"^interface ", r"^priority-queue\b",
                "priority-queue out"),
    LineSetting("port.ef_priority_queue", r"^interface ", r"^service-policy output\b",
                "service-policy output"),
    LineSetting("port.trust_dscp", r"^mls qos$", r"", "mls qos"),
    LineSetting("qos.dscp.audio", r"^class-map .*VC-AUDIO$", r"^match dscp\b",
                "class-map VC-AUDIO / match dscp"),
    LineSetting("qos.dscp.video", r"^class-map .*VC-VIDEO$", r"^match dscp\b",
                "class-map VC-VIDEO / match dscp"),
    LineSetting("port.ef_priority_queue", r"^class-map ", r"", "class-map"),
    LineSetting("port.ef_priority_queue", r"^policy-map ", r"", "policy-map"),
)  # fmt: skip

_HUAWEI_PORT: tuple[LineSetting, ...] = (
    LineSetting("port.description", r"^interface ", r"^description\b", "description"),
    LineSetting("port.vlan", r"^interface ", r"^port default vlan\b", "port default vlan"),
    LineSetting("port.vlan", r"^interface ", r"^port link-type\b", "port link-type"),
    LineSetting("port.edge", r"^interface ", r"^stp edged-port\b", "stp edged-port"),
    LineSetting("port.trust_dscp", r"^interface ", r"^trust\b", "trust"),
    LineSetting("port.ef_priority_queue", r"^interface ", r"^qos pq\b", "qos pq"),
    LineSetting("port.bpdu_guard", r"^stp bpdu-protection$", r"", "stp bpdu-protection"),
)  # fmt: skip

LINE_SETTINGS: dict[str, tuple[LineSetting, ...]] = {
    "cisco-ios": _CISCO_PORT,
    "cisco-iosxe": _CISCO_PORT,
    "huawei-vrp": _HUAWEI_PORT,
}
OTHER_SETTING = "port.other"  # a hand-made line of the owned interface that the standard lacks


def classify(family: str, path: tuple[str, ...], text: str) -> tuple[str, str]:
    """(setting, vendor key) of one remediation line at ``path`` (its ancestors)."""
    bare = re.sub(r"^(no|undo) ", "", text)
    root = path[0] if path else bare
    rest = bare if path else ""
    for rule in LINE_SETTINGS[family]:
        if re.search(rule.section, root) and (not rule.line or re.search(rule.line, rest)):
            key = " / ".join([*path, rule.key]) if path else rule.key
            return rule.setting, key
    return OTHER_SETTING, " / ".join([*path, bare])


# --- reading neutral values back --------------------------------------------------

# reader(port_lines, root_lines, owned_sections) -> value; owned_sections maps a root
# section's text to its descendants, each as "child / grandchild" relative to the section.
Reader = Callable[[list[str], list[str], Mapping[str, list[str]]], Any]


def _has(line: str) -> Reader:
    return lambda port, _root, _sec: line in port


def _has_re(pattern: str) -> Reader:
    return lambda port, _root, _sec: any(re.fullmatch(pattern, x) for x in port)


def _value(pattern: str, cast: Callable[[str], Any], default: Any) -> Reader:
    def read(port: list[str], _root: list[str], _sec: Mapping[str, list[str]]) -> Any:
        for x in port:
            if m := re.fullmatch(pattern, x):
                return cast(m.group(1))
        return default

    return read


def _all(*readers: Reader) -> Reader:
    return lambda port, root, sec: all(r(port, root, sec) for r in readers)


def _root_has(line: str) -> Reader:
    return lambda _port, root, _sec: line in root


def _class_dscp(class_map: str) -> Reader:
    def read(_port: list[str], _root: list[str], sec: Mapping[str, list[str]]) -> Any:
        for text, children in sec.items():
            if re.fullmatch(rf"class-map (match-any |match-all )?{class_map}", text):
                for child in children:
                    if m := re.fullmatch(r"match dscp (.+)", child):
                        return dscp_value(m.group(1).split()[0])
        return None

    return read


def _xe_priority(port: list[str], _root: list[str], sec: Mapping[str, list[str]]) -> bool:
    """EF in the priority queue: the port's output policy gives VC-AUDIO priority level 1."""
    if "service-policy output VC-EDGE-OUT" not in port:
        return False
    return any(
        line.startswith("class VC-AUDIO / priority level 1")
        for line in sec.get("policy-map VC-EDGE-OUT", [])
    )


READERS: dict[str, dict[str, Reader]] = {
    "cisco-ios": {
        "port.description": _value(r"description (.*)", str, None),
        "port.vlan": _value(r"switchport access vlan (\d+)", int, 1),
        "port.edge": _has_re(r"spanning-tree portfast( edge)?"),
        "port.bpdu_guard": _has("spanning-tree bpduguard enable"),
        "port.trust_dscp": _all(_root_has("mls qos"), _has("mls qos trust dscp")),
        "port.ef_priority_queue": _all(_root_has("mls qos"), _has("priority-queue out")),
    },
    "cisco-iosxe": {
        "port.description": _value(r"description (.*)", str, None),
        "port.vlan": _value(r"switchport access vlan (\d+)", int, 1),
        "port.edge": _has_re(r"spanning-tree portfast( edge)?"),
        "port.bpdu_guard": _has("spanning-tree bpduguard enable"),
        # Catalyst 9000 trusts DSCP by default (reference 2.2): nothing to read.
        "port.trust_dscp": lambda _p, _r, _s: True,
        "port.ef_priority_queue": _xe_priority,
        "qos.dscp.audio": _class_dscp("VC-AUDIO"),
        "qos.dscp.video": _class_dscp("VC-VIDEO"),
    },
    "huawei-vrp": {
        "port.description": _value(r"description (.*)", str, None),
        "port.vlan": _value(r"port default vlan (\d+)", int, 1),
        "port.edge": _has("stp edged-port enable"),
        "port.bpdu_guard": _root_has("stp bpdu-protection"),
        "port.trust_dscp": _has_re(r"trust dscp( override)?"),
        "port.ef_priority_queue": _all(
            _has_re(r"trust dscp( override)?"), _has("qos pq 5 to 7 drr 0 to 4")
        ),
    },
}
