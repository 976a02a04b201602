"""Access switches over SSH with netmiko: Catalyst IOS, Catalyst IOS-XE, Huawei VRP.

Platform differences live in data: :data:`PLATFORMS` (netmiko device type, show commands,
version parsing, the save check), one jinja2 template per platform
(``devices/templates/<family>.j2``: the intended text of the sections vcprov owns) and
:mod:`vcprov.devices.switch_rules` (hier-config driver rules, which neutral setting a CLI
line belongs to, how to read a setting back).  The shared logic below never branches on
the vendor.

What vcprov owns on a switch (``shared/reference/switch-qos.md`` 6.1): the codec's
interface and the QoS globals that port needs.  A plan is the hier-config remediation from
the running configuration *scoped to those sections* to the intended text, so a line
outside the scope is never read into a plan and never negated.  The port's admin state
(``shutdown``) is never managed, so a plan cannot bounce the port.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from hier_config import HConfig, HConfigChild, WorkflowRemediation, get_hconfig
from hier_config.platforms.driver_base import HConfigDriverBase
from netmiko import BaseConnection, ConnectHandler
from netmiko.exceptions import (
    ConfigInvalidException,
    NetmikoAuthenticationException,
    NetmikoTimeoutException,
    ReadException,
    ReadTimeout,
)
from netmiko.huawei.huawei import HuaweiSSH
from paramiko.ssh_exception import SSHException

from . import switch_rules as rules
from .base import (
    ApplyError,
    AuthFailed,
    Change,
    Facts,
    ProtocolError,
    Snapshot,
    Switch,
    Target,
    Unreachable,
)

ERROR_PATTERN = r"^% Invalid|^Error:"
_DROPPED = (OSError, EOFError, SSHException, ReadTimeout, ReadException, NetmikoTimeoutException)


class HuaweiPromptSSH(HuaweiSSH):
    """netmiko's ``huawei_vrp`` class with a prompt-based config-mode check.

    netmiko's own ``check_config_mode`` for Huawei reads the channel by timing (about 2 s
    per call, reference 3.7), and ``send_config_set`` calls it twice.  This subclass reads
    until the prompt terminator (``>`` or ``]``) instead; everything else is netmiko's.
    Used only by this driver (no global monkeypatch); ``Target.extra["netmiko_timing"]``
    set to true falls back to the stock class.
    """

    def check_config_mode(
        self, check_string: str = "]", pattern: str = "", force_regex: bool = False
    ) -> bool:
        self.write_channel(self.RETURN)
        output = self.read_until_pattern(pattern=pattern or r"[>\]]\s*$", read_timeout=10.0)
        return check_string in output.strip().splitlines()[-1] if output.strip() else False


@dataclass(frozen=True)
class Platform:
    vendor: str
    netmiko_type: str
    show_version: str
    show_running: str
    version_re: str
    model_re: str
    hostname_re: str
    show_startup: str = "show startup-config"
    connection_class: type[BaseConnection] | None = None  # None: netmiko's ConnectHandler
    config_end: str = "end"  # the last line of a complete configuration display


PLATFORMS = {
    "cisco-ios": Platform(
        "Cisco",
        "cisco_ios",
        "show version",
        "show running-config",
        r"Version ([^,\s]+)",
        r"^[Mm]odel [Nn]umber\s*:\s*(\S+)",
        r"^(\S+) uptime is",
    ),
    "cisco-iosxe": Platform(
        "Cisco",
        "cisco_xe",
        "show version",
        "show running-config",
        r"Version ([^,\s]+)",
        r"^[Mm]odel [Nn]umber\s*:\s*(\S+)",
        r"^(\S+) uptime is",
    ),
    "huawei-vrp": Platform(
        "Huawei",
        "huawei_vrp",
        "display version",
        "display current-configuration",
        r"Version \S+ \(\S+ (\S+)\)",
        r"^(?:HUAWEI )?(S\d\S*)",
        r"^(\S+) uptime is",
        show_startup="display saved-configuration",
        connection_class=HuaweiPromptSSH,
        config_end="return",
    ),
}
SERIAL_RE = r"(?:System [Ss]erial [Nn]umber|Serial ?[Nn]um(?:ber)?|ESN)\s*:?\s*(\S+)"

_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)

# Placeholder values used to learn which sections a platform's template can own.
_SCOPE_PROBE: dict[str, Any] = {
    "port.description": "scope",
    "port.vlan": 1,
    "port.edge": True,
    "port.bpdu_guard": True,
    "port.trust_dscp": True,
    "port.ef_priority_queue": True,
    "qos.dscp.audio": 46,
    "qos.dscp.video": 34,
}


def strip_leading_prompt(text: str, base_prompt: str) -> str:
    """The output without a prompt left over in front of it.

    Under load a prompt the session had not yet read (``SW-1#``, ``<SW-1>``, ``[SW-1]``)
    arrives before the next command's echo; netmiko removes the echo and leaves the prompt
    glued to the first line of output (``SW-1#Building configuration...``), which would
    then read as a configuration line (seen at 250 lab sites, 50 sessions at once).  A
    prompt is never output, so it is cut wherever it starts the text.  netmiko's base
    prompt of a long Cisco hostname is its first 16 characters: the rest of the name may
    follow it."""
    if not base_prompt:
        return text
    name = re.escape(base_prompt)
    cisco = rf"{name}[\w.-]*(?:\([^)]*\))?[#>]"  # SW-1#  SW-1(config-if)#  SW-1>
    vrp = rf"<{name}[\w.-]*>|\[~?\*?{name}[^\]]*\]"  # <SW-1>  [SW-1]  [~SW-1-GE0/0/1]
    prompt = re.compile(rf"^(?:\s*(?:{cisco}|{vrp}))+")
    return prompt.sub("", text.lstrip("\r\n"), count=1)


def strip_volatile(text: str) -> str:
    """The configuration without the lines that change by themselves (timestamps...)."""
    volatile = [re.compile(p) for p in rules.VOLATILE_LINES]
    kept = [
        line.rstrip()
        for line in text.replace("\r\n", "\n").split("\n")
        if not any(p.search(line) for p in volatile)
    ]
    return "\n".join(kept).strip("\n") + "\n"


@dataclass
class SwitchChange(Change):
    """A :class:`Change` that remembers where each of its lines sits in the plan.

    ``items``: (position in the full remediation, section path, line).  :meth:`CliSwitch.apply`
    merges the items of all changes back into one ordered remediation, so applying a
    subset of a plan still sends each section once, in dependency order.
    """

    items: list[tuple[int, tuple[str, ...], str]] = field(default_factory=list)


class CliSwitch(Switch):
    def __init__(self, target: Target, codec_port: str | None = None):
        super().__init__(target)
        self.family = target.family
        self.platform = PLATFORMS[target.family]
        self.vendor = self.platform.vendor
        self.conn: BaseConnection | None = None
        self.dropped = False  # the session died mid-way: the next call opens a new one
        self.codec_port: str | None = codec_port or target.extra.get("codec_port")
        self._running_cache: str | None = None
        self.timings: dict[str, float] = {}  # last duration of send_config_set / save

    # --- session ---------------------------------------------------------------

    def open(self) -> None:
        params: dict[str, Any] = {
            "device_type": self.platform.netmiko_type,
            "host": self.target.host,
            "port": self.target.port,
            "username": self.target.username,
            "password": self.target.password,
            "secret": self.target.extra.get("secret", self.target.password),
            "timeout": self.target.timeout,
            "conn_timeout": min(self.target.timeout, 15),
            "fast_cli": True,
        }
        cls = self.platform.connection_class
        if self.target.extra.get("netmiko_timing"):
            cls = None
        try:
            self.conn = cls(**params) if cls is not None else ConnectHandler(**params)
            self.dropped = False
        except NetmikoAuthenticationException:
            raise AuthFailed(self.target.name, "SSH login refused") from None
        except (NetmikoTimeoutException, ReadTimeout, OSError, EOFError) as exc:
            raise Unreachable(self.target.name, f"SSH: {exc.__class__.__name__}") from None

    def close(self) -> None:
        self._running_cache = None
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.disconnect()
            self.conn = None

    def _session(self) -> BaseConnection:
        """The open session; a session that dropped (mid-config) is opened again."""
        if self.conn is None:
            raise ProtocolError(self.target.name, "no session (use `with driver:`)")
        if self.dropped:
            self.close()
            self.open()
        assert self.conn is not None
        return self.conn

    def send(self, command: str) -> str:
        conn = self._session()
        try:
            out = str(conn.send_command(command, read_timeout=self.target.timeout))
        except _DROPPED as exc:
            self.close_dropped()
            raise Unreachable(self.target.name, f"{command}: {exc.__class__.__name__}") from None
        return strip_leading_prompt(out, str(getattr(conn, "base_prompt", "") or ""))

    def facts(self) -> Facts:
        text = self.send(self.platform.show_version)

        def find(pattern: str) -> str:
            m = re.search(pattern, text, re.M)
            return m.group(1) if m else ""

        return Facts(
            name=self.target.name,
            family=self.family,
            vendor=self.vendor,
            model=find(self.platform.model_re),
            serial=find(SERIAL_RE),
            version=find(self.platform.version_re),
            system_name=find(self.platform.hostname_re),
        )

    # --- reading ---------------------------------------------------------------

    def running(self) -> str:
        """The running configuration without its volatile lines (read once per session
        until a configuration line is sent)."""
        if self._running_cache is None:
            self._running_cache = self._complete(self.platform.show_running)
        return self._running_cache

    def _complete(self, command: str) -> str:
        """A configuration display read to its last line (``end`` / ``return``), asked a
        second time if it came back cut short; never a partial text (that would be read as
        drift)."""
        base = str(getattr(self.conn, "base_prompt", "") or "")
        for _ in range(2):
            text = strip_volatile(self.send(command))
            lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
            prompt_inside = bool(base) and any(strip_leading_prompt(ln, base) != ln for ln in lines)
            if lines and lines[-1] == self.platform.config_end and not prompt_inside:
                return text
        raise ProtocolError(
            self.target.name,
            f"{command}: the configuration came back incomplete (no final "
            f"{self.platform.config_end!r}, or a CLI prompt inside it) twice",
        )

    def startup(self) -> str:
        """The saved (startup) configuration without its volatile lines."""
        return self._complete(self.platform.show_startup)

    # --- intended text and scope -------------------------------------------------

    def _port(self, codec_port: str | None = None) -> str:
        port = codec_port or self.codec_port
        if not port:
            raise ProtocolError(
                self.target.name,
                "the codec's port is not known (Target.extra['codec_port'] / vc_codec_port)",
            )
        return port

    def intended(self, desired: Mapping[str, Any], codec_port: str | None = None) -> str:
        """The intended text of the owned sections only (full interface names)."""
        port = self._port(codec_port)
        missing = [k for k in _SCOPE_PROBE if k not in desired]
        if missing:
            raise ProtocolError(self.target.name, f"standard lacks {', '.join(missing)}")
        audio, video = int(desired["qos.dscp.audio"]), int(desired["qos.dscp.video"])
        text = _TEMPLATES.get_template(f"{self.family}.j2").render(
            port=port,
            description=desired["port.description"],
            vlan=int(desired["port.vlan"]),
            edge=bool(desired["port.edge"]),
            bpdu_guard=bool(desired["port.bpdu_guard"]),
            trust_dscp=bool(desired["port.trust_dscp"]),
            ef_priority_queue=bool(desired["port.ef_priority_queue"]),
            audio_dscp=rules.dscp_name(audio),
            video_dscp=" ".join(rules.video_dscp_names(video)),
        )
        return "\n".join(line for line in text.splitlines() if line.strip()) + "\n"

    def _driver(self) -> HConfigDriverBase:
        return rules.hconfig_driver(self.family)

    def _scope(self, port: str) -> set[str]:
        """Every root section the platform's template can own for ``port``."""
        probe = get_hconfig(self._driver(), self.intended(_SCOPE_PROBE, port))
        return {child.text for child in probe.children}

    def _owned(self, running: HConfig, sections: Iterable[str]) -> HConfig:
        """A new HConfig with deep copies of ``sections`` of ``running`` (reference 6.1 step
        5), without the port lines vcprov never manages."""
        owned = get_hconfig(running.driver)
        for text in sections:
            child = running.get_child(equals=text)
            if child is not None:
                owned.add_deep_copy_of(child)
        for child in list(owned.all_children()):
            if child.parent is not owned and rules.UNMANAGED_PORT_LINES.match(child.text):
                child.delete()
        return owned

    def _remediation(
        self, desired: Mapping[str, Any], running_text: str | None = None
    ) -> tuple[HConfig, HConfig, HConfig]:
        """(owned running, intended, remediation)."""
        driver = self._driver()
        intended = get_hconfig(driver, self.intended(desired))
        running = get_hconfig(driver, running_text if running_text is not None else self.running())
        owned = self._owned(running, [c.text for c in intended.children])
        remediation = WorkflowRemediation(owned, intended).remediation_config
        return owned, intended, remediation

    # --- plan ------------------------------------------------------------------

    def remediation_lines(self, desired: Mapping[str, Any]) -> list[str]:
        """The full remediation, in order, with sectional exits (what apply would send)."""
        return self._lines_of(self._items(self._remediation(desired)[2]))

    def plan(self, desired: Mapping[str, Any]) -> list[Change]:
        """One :class:`SwitchChange` per neutral setting that differs (empty: compliant)."""
        running_text = self.running()
        owned, _intended, remediation = self._remediation(desired, running_text)
        before = self._read(owned)
        grouped: dict[str, SwitchChange] = {}
        for item in self._items(remediation):
            _, path, text = item
            setting, key = rules.classify(self.family, path, text)
            change = grouped.get(setting)
            if change is None:
                change = grouped[setting] = SwitchChange(
                    setting=setting,
                    vendor_key=key,
                    before=before.get(setting, None),
                    after=desired.get(setting) if setting in desired else None,
                )
            change.items.append(item)
        for change in grouped.values():
            change.lines = self._lines_of(change.items)
            if change.setting == rules.OTHER_SETTING:
                change.before = [" / ".join((*p, t)) for _, p, t in change.items]
        return list(grouped.values())

    def _items(self, remediation: HConfig) -> list[tuple[int, tuple[str, ...], str]]:
        """The leaves of a remediation in order: (position, section path, line)."""
        out: list[tuple[int, tuple[str, ...], str]] = []

        def walk(node: HConfig | HConfigChild, path: tuple[str, ...]) -> None:
            for child in sorted(node.children):
                if child.children:
                    walk(child, (*path, child.text))
                else:
                    out.append((len(out), path, child.text))

        walk(remediation, ())
        return out

    def _lines_of(self, items: Iterable[tuple[int, tuple[str, ...], str]]) -> list[str]:
        """CLI lines for some leaves of a plan: each section entered once, exited after."""
        config = get_hconfig(self._driver())
        for _, path, text in sorted(items):
            node: HConfig | HConfigChild = config
            for part in path:
                node = node.get_child(equals=part) or node.add_child(part)
            node.add_child(text)
        return [line.strip() for line in config.dump_simple(sectional_exiting=True)]

    # --- apply -----------------------------------------------------------------

    def lines(self, changes: list[Change]) -> list[str]:
        """The exact configuration lines ``apply(changes)`` sends (check mode shows them)."""
        items = [i for c in changes if isinstance(c, SwitchChange) for i in c.items]
        lines = self._lines_of(items) if items else []
        for change in changes:
            if not isinstance(change, SwitchChange):
                lines += change.lines
        return lines

    def apply(self, changes: list[Change]) -> None:
        """Send the changes' lines in one configuration session; save only if all succeeded.

        Raises :class:`ApplyError` when the switch refuses a line (the session is taken out
        of configuration mode first) or the connection drops part-way; the caller restores
        its snapshot.
        """
        lines = self.lines(changes)
        if lines:
            self.send_lines(lines)

    def send_lines(self, lines: list[str]) -> None:
        self._running_cache = None
        conn = self._session()
        started = time.monotonic()
        try:
            conn.send_config_set(lines, error_pattern=ERROR_PATTERN, cmd_verify=True)
        except ConfigInvalidException as exc:
            with contextlib.suppress(Exception):
                conn.exit_config_mode()
            raise ApplyError(self.target.name, f"refused: {exc}") from None
        except _DROPPED as exc:
            self.close_dropped()
            raise ApplyError(
                self.target.name, f"connection lost during configuration ({exc.__class__.__name__})"
            ) from None
        self.timings["send_config_set"] = time.monotonic() - started
        started = time.monotonic()
        try:
            conn.save_config()
        except _DROPPED as exc:
            self.close_dropped()
            raise ApplyError(
                self.target.name, f"connection lost while saving ({exc.__class__.__name__})"
            ) from None
        self.timings["save_config"] = time.monotonic() - started

    def close_dropped(self) -> None:
        """Forget a session that dropped; the next call opens a new one."""
        self.dropped = True
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.disconnect()

    # --- snapshot and restore --------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The owned sections' running text (and the full running config's digest)."""
        port = self._port()
        running_text = self.running()
        running = get_hconfig(self._driver(), running_text)
        sections = sorted(self._scope(port))
        owned = self._owned(running, sections)
        return Snapshot(
            device=self.target.name,
            family=self.family,
            version=hashlib.sha256(running_text.encode()).hexdigest()[:16],
            taken=datetime.now(UTC).isoformat(timespec="seconds"),
            data={
                "port": port,
                "sections": sections,
                "owned": "\n".join(owned.dump_simple()) + "\n",
                "running_sha256": hashlib.sha256(running_text.encode()).hexdigest(),
            },
        )

    def rollback_lines(self, snapshot: Snapshot) -> list[str]:
        """The lines that bring the owned sections back to the snapshot (empty: they hold it)."""
        driver = self._driver()
        running = get_hconfig(driver, self.running())
        current = self._owned(running, snapshot.data["sections"])
        target = get_hconfig(driver, snapshot.data["owned"])
        remediation = WorkflowRemediation(current, target).remediation_config
        return self._lines_of(self._items(remediation))

    def restore(self, snapshot: Snapshot) -> None:
        """Undo whatever changed in the owned sections since ``snapshot``; save after."""
        if snapshot.family != self.family:
            raise ProtocolError(self.target.name, f"snapshot of a {snapshot.family} switch")
        lines = self.rollback_lines(snapshot)
        if lines:
            self.send_lines(lines)

    # --- reading values back (drift) ---------------------------------------------------

    def actual(self, desired: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Neutral values read from the owned sections (``desired`` only names settings)."""
        driver = self._driver()
        running = get_hconfig(driver, self.running())
        values = self._read(self._owned(running, self._scope(self._port())))
        if desired is not None:
            values = {k: v for k, v in values.items() if k in desired}
        return values

    def _read(self, owned: HConfig) -> dict[str, Any]:
        port_child = owned.get_child(startswith="interface ")
        port = [c.text for c in port_child.children] if port_child is not None else []
        root = [c.text for c in owned.children if not c.children]
        sections: dict[str, list[str]] = {}
        for child in owned.children:
            sections[child.text] = [" / ".join(list(d.path())[1:]) for d in child.all_children()]
        return {
            setting: reader(port, root, sections)
            for setting, reader in rules.READERS[self.family].items()
        }
