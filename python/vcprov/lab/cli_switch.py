"""Access switches over SSH: Catalyst IOS (2960-X/3750-X), Catalyst IOS-XE (9200), Huawei VRP.

One asyncssh server per switch, a line-oriented shell per session that behaves as
switch-qos.md sections 2.13, 3.14 and 4.2 describe what netmiko expects: echo (asyncssh's
line editor), ``\\r\\n`` line endings, the platforms' prompts and modes, the platforms'
error strings, a stateful running and startup configuration, ``write memory`` / ``save``
with its Y/N question.  The configuration is a tree of lines (``[line, [children]]``).
"""

from __future__ import annotations

import contextlib
import random
import re
import time
from dataclasses import dataclass
from typing import Any, ClassVar

import asyncssh

from . import province, ssh
from .base import SimDevice

Node = list[Any]  # [line, [children...]]

CISCO_ERROR = "% Invalid input detected at '^' marker."
HUAWEI_ERROR = "Error: Unrecognized command found at '^' position."


@dataclass(frozen=True)
class Dialect:
    """What differs between the platforms' CLIs."""

    name: str
    negate: str  # "no" / "undo"
    error: str
    enter_config: tuple[str, ...]
    leave_config: tuple[str, ...]  # back to exec
    up_one: tuple[str, ...]
    # Lines (regex) accepted per context; context = first word of the parent line or "".
    grammar: dict[str, tuple[str, ...]]
    # Settings that replace their previous value: regex of the key part.
    replace: tuple[str, ...]


_IF = r"interface (GigabitEthernet|TenGigabitEthernet|Vlan|Port-channel)\S+"
_IOS_GLOBAL = (
    r"hostname \S+",
    r"version \S+",
    r"service (timestamps|password-encryption).*",
    r"no service pad",
    r"boot-start-marker|boot-end-marker",
    r"enable secret .+",
    r"username \S+ .+",
    r"no aaa new-model|aaa new-model",
    r"switch \d+ provision \S+",
    r"system mtu .+",
    r"ip domain[- ]name \S+",
    r"ip ssh version 2",
    r"ip default-gateway \S+",
    r"ip http (secure-)?server",
    r"no ip http (secure-)?server",
    r"spanning-tree (mode \S+|extend system-id|portfast .+)",
    r"vlan \d+(,\d+)*",
    _IF,
    r"ntp server \S+( prefer)?",
    r"ntp clock-period \d+",
    r"snmp-server (community \S+ (RO|RW)|host \S+( version \S+)? \S+|location .+|contact .+)",
    r"logging host \S+",
    r"line (vty|con) \d+( \d+)?",
    r"banner .+",
    r"clock timezone .+",
    r"end",
)
_IOS_INTERFACE = (
    r"description .+",
    r"switchport mode (access|trunk)",
    r"switchport access vlan ([1-9]\d{0,2}|[1-3]\d{3}|40[0-8]\d|409[0-4])",
    r"switchport trunk (allowed|native) vlan .+",
    r"switchport nonegotiate",
    r"switchport voice vlan \d+",
    r"spanning-tree portfast( edge)?",
    r"spanning-tree bpduguard (enable|disable)",
    r"shutdown",
    r"power inline (auto|never)",
    r"ip address .+",
    r"no ip address",
    r"speed .+|duplex .+",
)
_LINE = (
    r"transport input (ssh|telnet|ssh telnet|telnet ssh|none|all)",
    r"login( local)?",
    r"exec-timeout \d+( \d+)?",
    r"logging synchronous",
    r"password .+",
)

IOS = Dialect(
    name="cisco-ios",
    negate="no",
    error=CISCO_ERROR,
    enter_config=("configure terminal", "conf t", "config t", "configure"),
    leave_config=("end",),
    up_one=("exit",),
    grammar={
        "": (*_IOS_GLOBAL, r"mls qos", r"mls qos (map|srr-queue) .+", r"auto qos .+"),
        "interface": (
            *_IOS_INTERFACE,
            r"mls qos trust (dscp|cos|ip-precedence|device \S+)",
            r"priority-queue out",
            r"srr-queue bandwidth .+",
            r"auto qos .+",
        ),
        "line": _LINE,
        "vlan": (r"name \S+",),
    },
    replace=(
        r"hostname",
        r"description",
        r"switchport mode",
        r"switchport access vlan",
        r"switchport voice vlan",
        r"mls qos trust",
        r"spanning-tree portfast",
        r"spanning-tree bpduguard",
        r"power inline",
        r"transport input",
        r"name",
    ),
)

IOSXE = Dialect(
    name="cisco-iosxe",
    negate="no",
    error=CISCO_ERROR,
    enter_config=IOS.enter_config,
    leave_config=("end",),
    up_one=("exit",),
    grammar={
        "": (
            *_IOS_GLOBAL,
            r"class-map (match-any|match-all) \S+",
            r"policy-map \S+",
            r"license .+",
            r"auto qos .+",
        ),
        "interface": (*_IOS_INTERFACE, r"service-policy (input|output) \S+", r"auto qos .+"),
        "class-map": (r"match dscp( (ef|af\d\d|cs\d|default|\d+))+", r"description .+"),
        "policy-map": (r"class \S+", r"description .+"),
        "class": (
            r"priority level [12]( percent \d+)?",
            r"priority( percent \d+)?",
            r"bandwidth (remaining )?percent \d+",
            r"queue-buffers ratio \d+",
            r"set dscp \S+",
        ),
        "line": _LINE,
        "vlan": (r"name \S+",),
    },
    replace=(
        r"hostname",
        r"description",
        r"switchport mode",
        r"switchport access vlan",
        r"switchport voice vlan",
        r"spanning-tree portfast",
        r"spanning-tree bpduguard",
        r"power inline",
        r"transport input",
        r"service-policy input",
        r"service-policy output",
        r"priority",
        r"bandwidth",
        r"name",
    ),
)

HUAWEI = Dialect(
    name="huawei-vrp",
    negate="undo",
    error=HUAWEI_ERROR,
    enter_config=("system-view",),
    leave_config=("return",),
    up_one=("quit",),
    grammar={
        "": (
            r"sysname \S+",
            r"vlan batch( \d+)+",
            r"vlan \d+",
            r"interface (GigabitEthernet|XGigabitEthernet|Vlanif|Eth-Trunk|MEth)\S+",
            r"stp (mode \S+|bpdu-protection|enable)",
            r"traffic classifier \S+( operator (or|and))?",
            r"traffic behavior \S+",
            r"traffic policy \S+",
            r"ntp-service unicast-server \S+",
            r"ntp-service enable",
            r"snmp-agent( .+)?",
            r"stelnet server enable",
            r"telnet server enable",
            r"ssh user .+",
            r"aaa",
            r"user-interface (vty|con) \d+( \d+)?",
            r"clock timezone .+",
            r"info-center loghost \S+",
            r"http (secure-)?server enable",
            r"qos (schedule-profile|queue) .+",
            r"return",
        ),
        "interface": (
            r"description .+",
            r"port link-type (access|trunk|hybrid)",
            r"port default vlan ([1-9]\d{0,2}|[1-3]\d{3}|40[0-8]\d|409[0-4])",
            r"port trunk allow-pass vlan .+",
            r"trust (dscp( override)?|8021p( inner| outer)?)",
            r"stp edged-port (enable|disable)",
            r"stp bpdu-filter (enable|disable)",
            r"traffic-policy \S+ (inbound|outbound)",
            r"qos (pq|wrr|drr) .+",
            r"qos queue \d+ .+",
            r"shutdown",
            r"poe (enable|disable)",
            r"ip address .+",
        ),
        "traffic": (
            r"if-match dscp( (ef|af\d\d|cs\d|default|\d+))+",
            r"remark (dscp|local-precedence) \S+",
            r"classifier \S+ behavior \S+",
        ),
        "aaa": (r"local-user .+", r"authentication-scheme \S+", r"domain \S+"),
        "user-interface": (
            r"authentication-mode (aaa|password|none)",
            r"protocol inbound (ssh|telnet|all)",
            r"user privilege level \d+",
            r"idle-timeout .+",
        ),
        "vlan": (r"description .+", r"name \S+"),
    },
    replace=(
        r"sysname",
        r"description",
        r"port link-type",
        r"port default vlan",
        r"trust",
        r"stp edged-port",
        r"protocol inbound",
        r"authentication-mode",
    ),
)

DIALECTS = {"cisco-ios": IOS, "cisco-iosxe": IOSXE, "huawei-vrp": HUAWEI}


def _context(line: str) -> str:
    words = line.split()
    if not words:
        return ""
    if words[0] == "user-interface":
        return "user-interface"
    if words[0] == "traffic":
        return "traffic"
    return words[0]


def find(children: list[Node], line: str) -> Node | None:
    for node in children:
        if node[0] == line:
            return node
    return None


class Config:
    """A configuration tree with the platform's set / negate rules."""

    def __init__(self, dialect: Dialect, tree: list[Node]):
        self.dialect = dialect
        self.tree = tree

    def valid(self, context: str, line: str) -> bool:
        patterns = self.dialect.grammar.get(context, ())
        return any(re.fullmatch(p, line) for p in patterns)

    def set(self, parent: list[Node], line: str) -> Node:
        """Add ``line`` under ``parent`` (replacing the previous value of a setting)."""
        existing = find(parent, line)
        if existing is not None:
            return existing
        for key in self.dialect.replace:
            if re.match(rf"{key}\b", line):
                for i, node in enumerate(parent):
                    if re.match(rf"{key}\b", node[0]) and self._same_key(key, node[0], line):
                        node = [line, node[1]]
                        parent[i] = node
                        return node
        node = [line, []]
        parent.append(node)
        return node

    @staticmethod
    def _same_key(key: str, old: str, new: str) -> bool:
        # service-policy input/output are distinct settings; so are 'priority' lines only
        # within one class (the parent already scopes that).
        return old.split()[: len(key.split())] == new.split()[: len(key.split())]

    def negate(self, parent: list[Node], rest: str) -> bool:
        """Remove the line(s) ``rest`` names; True when something matched."""
        before = len(parent)
        words = rest.split()
        keep = []
        for node in parent:
            node_words = node[0].split()
            if node_words[: len(words)] == words or (
                # "no switchport access vlan 10" also removes "... vlan 120"
                len(words) > 1
                and node_words[: len(words) - 1] == words[:-1]
                and any(re.fullmatch(rf"{k}", " ".join(words[:-1])) for k in self.dialect.replace)
            ):
                continue
            keep.append(node)
        parent[:] = keep
        return len(parent) != before


def render_cisco(tree: list[Node], version: str, changed: float) -> str:
    lines = ["Building configuration...", "", "Current configuration : {size} bytes", "!"]
    stamp = time.strftime("%H:%M:%S UTC %a %b %d %Y", time.gmtime(changed))
    lines += [f"! Last configuration change at {stamp}", "!"]
    lines.append(
        f"version {'.'.join(version.split('.')[:2]) if '(' not in version else version.split('(')[0]}"
    )

    def emit(nodes: list[Node], depth: int) -> None:
        for line, children in nodes:
            lines.append(" " * depth + line)
            emit(children, depth + 1)
            if depth == 0:
                lines.append("!")

    emit(tree, 0)
    lines.append("end")
    text = "\r\n".join(lines)
    return text.replace("{size}", str(len(text)))


def render_huawei(tree: list[Node], version: str) -> str:
    lines = [f"!Software Version {version}", "#"]

    def emit(nodes: list[Node], depth: int) -> None:
        for line, children in nodes:
            lines.append(" " * depth + line)
            emit(children, depth + 1)
            if depth == 0:
                lines.append("#")

    emit(tree, 0)
    lines.append("return")
    return "\r\n".join(lines)


class SwitchSession:
    """One SSH session's shell."""

    def __init__(self, dev: CliSwitch):
        self.dev = dev
        self.dialect = dev.dialect
        self.stack: list[Node] = []  # config-mode context path
        self.config_mode = False
        self.config_lines = 0
        self.pending_save = False

    # prompts
    def prompt(self) -> str:
        host = self.dev.hostname()
        if self.dialect.name == "huawei-vrp":
            if not self.config_mode:
                return f"<{host}>"
            if self.stack:
                suffix = self.stack[-1][0].split()
                name = suffix[1] if suffix[0] == "interface" and len(suffix) > 1 else suffix[0]
                return f"[{host}-{name}]"
            return f"[{host}]"
        if not self.config_mode:
            return f"{host}#"
        short = host[:20]
        if not self.stack:
            return f"{short}(config)#"
        ctx = _context(self.stack[-1][0])
        mode = {
            "interface": "config-if",
            "line": "config-line",
            "vlan": "config-vlan",
            "class-map": "config-cmap",
            "policy-map": "config-pmap",
            "class": "config-pmap-c",
        }.get(ctx, "config")
        return f"{short}({mode})#"

    def error(self, line: str) -> str:
        if self.dialect.name == "huawei-vrp":
            return f"              ^\r\n{HUAWEI_ERROR}\r\n"
        return f"{' ' * (len(self.prompt()) + 1)}^\r\n{CISCO_ERROR}\r\n\r\n"

    # commands
    def handle(self, raw: str) -> str:
        line = raw.strip()
        if not line:
            return ""
        if self.pending_save:
            self.pending_save = False
            if line.lower().startswith("y"):
                self.dev.save_startup(count=False)  # "save" itself was counted
                return (
                    "Now saving the current configuration to the slot 0.\r\n"
                    "Save the configuration successfully.\r\n"
                )
            return ""
        if self.config_mode:
            return self.config_command(line)
        return self.exec_command(line)

    def exec_command(self, line: str) -> str:
        d = self.dialect
        words = line.split()
        if line in d.enter_config:
            self.config_mode = True
            self.stack = []
            if d.name == "huawei-vrp":
                return "Enter system view, return user view with return command.\r\n"
            return "Enter configuration commands, one per line.  End with CNTL/Z.\r\n"
        if d.name != "huawei-vrp":
            if words[0] == "enable" or line in ("terminal length 0", "terminal width 511"):
                return ""
            if words[:2] == ["terminal", "width"] or words[:2] == ["terminal", "length"]:
                return ""
            if line in ("write memory", "write mem", "wr", "copy running-config startup-config"):
                self.dev.save_startup()
                return "Building configuration...\r\n[OK]\r\n"
        else:
            if line == "screen-length 0 temporary":
                return "Info: The configuration takes effect on the current user terminal interface only.\r\n"
            if line == "save":
                self.dev.count_write()
                self.pending_save = True
                return (
                    "The current configuration will be written to the device.\r\n"
                    "Are you sure to continue?[Y/N]:"
                )
        out = self.dev.show(line)
        if out is None:
            return self.error(line)
        return out if out.endswith("\r\n") or not out else out + "\r\n"

    def config_command(self, line: str) -> str:
        d = self.dialect
        dev = self.dev
        if line in d.leave_config:
            self.config_mode = False
            self.stack = []
            return ""
        if line in d.up_one:
            if self.stack:
                self.stack.pop()
            else:
                self.config_mode = False
            return ""
        if d.name == "huawei-vrp" and line == "save":
            return self.exec_command(line)  # VRP saves from the system view too
        dev.count_write()
        self.config_lines += 1
        drop = dev.fault("ssh-drop-mid-config")
        if drop is not None and self.config_lines > int(drop.get("after", 2)):
            raise ConnectionResetError("ssh-drop-mid-config")
        if line.startswith("bogus"):
            return self.error(line)
        if d.name != "huawei-vrp" and line.startswith("do "):
            return self.exec_command(line[3:])
        cfg = Config(d, dev.config["running"])
        negate = line.startswith(d.negate + " ")
        body = _full_interface(line[len(d.negate) + 1 :] if negate else line)
        # Walk up the context stack until the line is valid there (as IOS does).
        for depth in range(len(self.stack), -1, -1):
            parent = self.stack[depth - 1][1] if depth else cfg.tree
            context = _context(self.stack[depth - 1][0]) if depth else ""
            if cfg.valid(context, body) or (negate and self._negatable(context, body)):
                break
        else:
            return self.error(line)
        self.stack = self.stack[:depth]
        if not negate and not self._references_ok(cfg, body):
            return self.error(line)
        if negate:
            cfg.negate(parent, body)
            dev.touch()
            return ""
        node = cfg.set(parent, body)
        dev.touch()
        opens = _context(body)
        if (context == "" and opens in d.grammar and not body.startswith("vlan batch")) or (
            context == "policy-map" and opens == "class"
        ):
            self.stack.append(node)
        return ""

    @staticmethod
    def _references_ok(cfg: Config, body: str) -> bool:
        """A service-policy / traffic-policy line must name a policy that exists."""
        m = re.fullmatch(r"service-policy (?:input|output) (\S+)", body)
        if m and cfg.dialect.name == "cisco-iosxe":
            return find(cfg.tree, f"policy-map {m.group(1)}") is not None
        m = re.fullmatch(r"traffic-policy (\S+) (?:inbound|outbound)", body)
        if m and cfg.dialect.name == "huawei-vrp":
            return find(cfg.tree, f"traffic policy {m.group(1)}") is not None
        return True

    def _negatable(self, context: str, body: str) -> bool:
        patterns = self.dialect.grammar.get(context, ())
        return any(re.match(p.split(" ")[0] + r"\b", body) for p in patterns)


class CliSwitch(SimDevice):
    role = "switch"
    supported_faults = frozenset(
        {"unreachable", "slow", "bad-credentials", "session-exhaustion", "ssh-drop-mid-config"}
    )
    reboot_seconds = 300.0
    dialect: ClassVar[Dialect] = IOS

    def __init__(self, ctx: Any, spec: dict[str, Any], state: dict[str, Any] | None):
        super().__init__(ctx, spec, state)
        self.server: asyncssh.SSHAcceptor | None = None
        self.sessions: set[Any] = set()

    # ------------------------------------------------------------------ config content
    def hostname(self) -> str:
        key = "sysname" if self.dialect.name == "huawei-vrp" else "hostname"
        for line, _ in self.config["running"]:
            if line.startswith(key + " "):
                return str(line.split(None, 1)[1])
        return "Switch"

    def touch(self) -> None:
        self.state["changed_at"] = time.time()
        self.save()

    def save_startup(self, count: bool = True) -> None:
        if count:
            self.count_write()
        self.config["startup"] = _copy(self.config["running"])
        self.save()

    def on_boot(self) -> None:
        if self.config.get("startup") is not None:
            self.config["running"] = _copy(self.config["startup"])

    def _base(self, hostname: str, factory: bool) -> list[Node]:
        raise NotImplementedError

    def _user(self, factory: bool) -> str:
        return str(self.spec["factory_username" if factory else "username"])

    def factory_config(self) -> dict[str, Any]:
        tree = self._base("HUAWEI" if self.dialect.name == "huawei-vrp" else "Switch", True)
        return {"running": tree, "startup": _copy(tree)}

    def standard_config(self) -> dict[str, Any]:
        tree = self._base(self.spec["hostname"], False)
        return {"running": tree, "startup": _copy(tree)}

    def deviate(self, config: Any, rng: random.Random) -> list[str]:
        done = []
        choices = self.deviations()
        for key in rng.sample(sorted(choices), k=rng.randint(1, min(3, len(choices)))):
            choices[key](config["running"])
            done.append(key)
        config["startup"] = _copy(config["running"])
        return done

    def deviations(self) -> dict[str, Any]:
        raise NotImplementedError

    # ------------------------------------------------------------------ show
    def show(self, line: str) -> str | None:
        raise NotImplementedError

    def codec_address(self) -> str:
        """The management address of the codec on the port (when the lab knows it)."""
        codec = self.ctx.devices.get(self.spec["codec"])
        return codec.host if codec is not None else "192.0.2.10"

    def render(self, tree: list[Node]) -> str:
        if self.dialect.name == "huawei-vrp":
            return render_huawei(tree, self.version)
        return render_cisco(tree, self.version, float(self.state.get("changed_at", time.time())))

    def render_interface(self, tree: list[Node], name: str) -> str | None:
        node = find(tree, f"interface {expand(name)}")
        if node is None:
            return None
        if self.dialect.name == "huawei-vrp":
            return "\r\n".join(["#", node[0], *(" " + c[0] for c in node[1]), "#", "return"])
        text = "\r\n".join([node[0], *(" " + c[0] for c in node[1])])
        return f"Building configuration...\r\n\r\nCurrent configuration : {len(text)} bytes\r\n!\r\n{text}\r\nend"

    # ------------------------------------------------------------------ SSH
    async def open_listeners(self) -> None:
        self.server = await ssh.serve(self, self.port, self._session)

    async def close_listeners(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await self.server.wait_closed()
            self.server = None
        for proc in list(self.sessions):
            with contextlib.suppress(Exception):
                proc.close()
        self.sessions.clear()

    async def _session(self, process: asyncssh.SSHServerProcess[str]) -> None:
        self.sessions.add(process)
        try:
            if self.fault("session-exhaustion") is not None:
                process.stdout.write("% All vty lines are in use. Try again later.\r\n")
                return
            shell = SwitchSession(self)
            banner = (
                "\r\n"
                if self.dialect.name != "huawei-vrp"
                else (
                    "\r\nInfo: The max number of VTY users is 5, and the number\r\n"
                    "      of current VTY users on line is 1.\r\n"
                )
            )
            process.stdout.write(banner + shell.prompt())
            while True:
                try:
                    line = await process.stdin.readline()
                except (asyncssh.BreakReceived, asyncssh.TerminalSizeChanged):
                    continue
                except (asyncssh.Error, OSError):
                    return
                if not line:
                    return
                cmd = line.strip()
                await self.slow_down()
                if (
                    not shell.config_mode
                    and not shell.pending_save
                    and cmd in ("exit", "quit", "logout")
                ):
                    return
                try:
                    out = shell.handle(line)
                except ConnectionResetError:
                    process.channel.abort() if hasattr(
                        process.channel, "abort"
                    ) else process.close()
                    conn = process.get_extra_info("connection")
                    if conn is not None:
                        conn.abort()
                    return
                if shell.pending_save:
                    process.stdout.write(out)
                elif not cmd:
                    # An empty line always gets a fresh line and the prompt, even when it
                    # raced the banner (netmiko's first "\n" may arrive before it).
                    process.stdout.write("\r\n" + shell.prompt())
                else:
                    process.stdout.write(out + shell.prompt())
        finally:
            self.sessions.discard(process)
            with contextlib.suppress(Exception):
                process.exit(0)


def _copy(tree: list[Node]) -> list[Node]:
    return [[line, _copy(children)] for line, children in tree]


_ABBREV = {"gi": "GigabitEthernet", "te": "TenGigabitEthernet", "ge": "GigabitEthernet"}


def expand(name: str) -> str:
    m = re.match(r"([A-Za-z-]+)\s*([\d/.:]+)$", name.strip())
    if not m:
        return name.strip()
    prefix, num = m.groups()
    if prefix.lower() == "ge":  # Huawei's short form
        return "GigabitEthernet" + num
    for short, full in _ABBREV.items():
        if full.lower().startswith(prefix.lower()) and prefix.lower().startswith(short):
            return full + num
    return prefix + num


def _full_interface(line: str) -> str:
    """``int Gi1/0/5`` -> ``interface GigabitEthernet1/0/5`` (the device stores full names)."""
    words = line.split(None, 1)
    if len(words) == 2 and len(words[0]) >= 3 and "interface".startswith(words[0].lower()):
        return "interface " + expand(words[1])
    return line


def _uptime(booted: float) -> str:
    secs = int(time.time() - booted) + 3 * 86400 + 4 * 3600
    weeks, rest = divmod(secs, 7 * 86400)
    days, rest = divmod(rest, 86400)
    hours, rest = divmod(rest, 3600)
    return f"{weeks} weeks, {days} days, {hours} hours, {rest // 60} minutes"


def _node(line: str, *children: str) -> Node:
    return [line, [[c, []] for c in children]]


class _CiscoBase(CliSwitch):
    image = "c2960x-universalk9-mz.152-7.E8.bin"

    def _common(self, hostname: str, factory: bool) -> list[Node]:
        v = province.site_values(self.spec, self.ctx.hub.as_dict())
        tree: list[Node] = [
            _node("service timestamps debug datetime msec"),
            _node("service timestamps log datetime msec"),
            _node(f"hostname {hostname}"),
            _node("boot-start-marker"),
            _node("boot-end-marker"),
            _node(f"username {self._user(factory)} privilege 15 secret 9 $9$lab$hidden"),
            _node("no aaa new-model"),
            _node("ip domain-name vc.thanhhoa.lab" if not factory else "ip domain-name lab.local"),
            _node("ip ssh version 2"),
            _node("spanning-tree mode rapid-pvst"),
            _node("spanning-tree extend system-id"),
            _node(f"vlan {v['vlan']}", "name VIDEO") if not factory else _node("vlan 1"),
        ]
        return tree

    def _ports(self, factory: bool, extra_port_lines: list[str]) -> list[Node]:
        v = province.site_values(self.spec, self.ctx.hub.as_dict())
        ports = []
        for n in range(1, 11):
            name = f"GigabitEthernet1/0/{n}"
            if name == self.spec["codec_port"] and not factory:
                ports.append(
                    _node(
                        f"interface {name}",
                        f"description VC codec {self.spec['codec']} {self.spec['codec_model']}",
                        f"switchport access vlan {v['vlan']}",
                        "switchport mode access",
                        *extra_port_lines,
                        "spanning-tree portfast",
                        "spanning-tree bpduguard enable",
                    )
                )
            elif n == 10:
                ports.append(
                    _node(
                        f"interface {name}",
                        "description UPLINK",
                        "switchport mode trunk",
                        *([] if factory else [ln for ln in extra_port_lines if "trust" in ln]),
                    )
                )
            else:
                ports.append(_node(f"interface {name}"))
        return ports

    def _tail(self, factory: bool) -> list[Node]:
        v = province.site_values(self.spec, self.ctx.hub.as_dict())
        if factory:
            return [
                _node("interface Vlan1", "no ip address"),
                _node("line vty 0 4", "login local", "transport input ssh telnet"),
            ]
        return [
            _node("interface Vlan1", "no ip address"),
            *(_node(f"ntp server {s}") for s in v["ntp_servers"]),
            _node(f"snmp-server community {v['snmp_community']} RO"),
            _node(f"snmp-server host {v['snmp_trap']} version 2c {v['snmp_community']}"),
            _node("line vty 0 4", "login local", "transport input ssh"),
            _node("ntp clock-period 36028797"),
        ]

    def show(self, line: str) -> str | None:
        words = line.split()
        run = self.config["running"]
        if line in ("show running-config", "show run", "sh run"):
            return self.render(run)
        if words[:2] == ["show", "running-config"] and len(words) >= 4 and words[2] == "interface":
            return self.render_interface(run, " ".join(words[3:]))
        if line in ("show startup-config", "sh start"):
            return self.render(self.config["startup"])
        if line in ("show version", "sh ver"):
            return self.show_version()
        if line in ("show ntp associations", "sh ntp assoc"):
            return self.show_ntp()
        if line == "show clock":
            return time.strftime("*%H:%M:%S.000 UTC %a %b %d %Y", time.gmtime())
        if line in ("show interfaces switchport", "show interfaces status"):
            return self.show_interfaces(line.endswith("status"))
        if words[:3] == ["show", "mls", "qos"]:
            return self.show_mls_qos(words)
        if line in (
            "show cdp neighbors",
            "show cdp neighbors detail",
            "show lldp neighbors",
            "show lldp neighbors detail",
        ):
            return self.show_neighbors(line)
        if words[:3] == ["show", "policy-map", "interface"]:
            return self.show_policy_interface(" ".join(words[3:]))
        return None

    def show_ntp(self) -> str:
        servers = [
            n[0].split()[2] for n in self.config["running"] if n[0].startswith("ntp server ")
        ]
        out = ["  address         ref clock       st   when   poll reach  delay  offset   disp"]
        for i, server in enumerate(servers):
            mark = "*~" if i == 0 else "+~"
            out.append(
                f"{mark}{server[:15]:<15} .GPS.            1     33     64   377  1.234   0.123  0.456"
            )
        out.append(" * sys.peer, # selected, + candidate, - outlyer, x falseticker, ~ configured")
        return "\r\n".join(out)

    def show_version(self) -> str:
        v = self.version
        host = self.hostname()
        model = self.spec["model"]
        xe = self.dialect.name == "cisco-iosxe"
        first = (
            f"Cisco IOS XE Software, Version {v}\r\n"
            f"Cisco IOS Software [Cupertino], Catalyst L3 Switch Software (CAT9K_LITE_IOSXE), Version {v}, RELEASE SOFTWARE (fc3)\r\n"
            if xe
            else f"Cisco IOS Software, C2960X Software (C2960X-UNIVERSALK9-M), Version {v}, RELEASE SOFTWARE (fc3)\r\n"
        )
        return (
            first + "Technical Support: http://www.cisco.com/techsupport\r\n"
            "Copyright (c) 1986-2023 by Cisco Systems, Inc.\r\n"
            "Compiled Fri 08-Sep-23 04:18 by prod_rel_team\r\n\r\n"
            "ROM: Bootstrap program is boot loader\r\n"
            "BOOTLDR: Boot Loader Version 15.2(7r)E, RELEASE SOFTWARE (fc1)\r\n\r\n"
            f"{host} uptime is {_uptime(self.booted_at)}\r\n"
            "System returned to ROM by power-on\r\n"
            f'System image file is "flash:{self.image}"\r\n\r\n'
            f"cisco {model} (APM86XXX) processor (revision B0) with 524288K bytes of memory.\r\n"
            f"Processor board ID {self.spec['serial']}\r\n"
            "Last reset from power-on\r\n"
            "1 Virtual Ethernet interface\r\n"
            "52 Gigabit Ethernet interfaces\r\n\r\n"
            f"Base ethernet MAC Address       : 00:1B:54:{self.spec['serial'][-4:-2].encode().hex()[:2].upper()}:00:01\r\n"
            f"Model number                    : {model}\r\n"
            f"System serial number            : {self.spec['serial']}\r\n\r\n"
            "Configuration register is 0xF\r\n"
        )

    def _iface(self, name: str) -> Node | None:
        return find(self.config["running"], f"interface {name}")

    def show_interfaces(self, status: bool) -> str:
        out = []
        if status:
            out.append("Port      Name               Status       Vlan       Duplex  Speed Type")
        for node in self.config["running"]:
            if not node[0].startswith("interface GigabitEthernet"):
                continue
            name = node[0].split()[1]
            short = "Gi" + name.removeprefix("GigabitEthernet")
            lines = [c[0] for c in node[1]]
            vlan = next(
                (ln.split()[-1] for ln in lines if ln.startswith("switchport access vlan")), "1"
            )
            mode = "trunk" if "switchport mode trunk" in lines else "static access"
            desc = next((ln.split(None, 1)[1] for ln in lines if ln.startswith("description ")), "")
            if status:
                state = (
                    "disabled"
                    if "shutdown" in lines
                    else (
                        "connected"
                        if name in (self.spec["codec_port"], "GigabitEthernet1/0/10")
                        else "notconnect"
                    )
                )
                out.append(
                    f"{short:<9} {desc[:18]:<18} {state:<12} {'trunk' if mode == 'trunk' else vlan:<10} a-full a-1000 10/100/1000BaseTX"
                )
            else:
                out += [
                    f"Name: {short}",
                    "Switchport: Enabled",
                    f"Administrative Mode: {mode}",
                    f"Operational Mode: {mode if name in (self.spec['codec_port'], 'GigabitEthernet1/0/10') else 'down'}",
                    "Administrative Trunking Encapsulation: dot1q",
                    "Negotiation of Trunking: Off",
                    f"Access Mode VLAN: {vlan} ({'VIDEO' if vlan != '1' else 'default'})",
                    "Trunking Native Mode VLAN: 1 (default)",
                    "Administrative Native VLAN tagging: enabled",
                    "Voice VLAN: none",
                    "Administrative private-vlan host-association: none",
                    "Trunking VLANs Enabled: ALL",
                    "Pruning VLANs Enabled: 2-1001",
                    "Capture Mode Disabled",
                    "Capture VLANs Allowed: ALL",
                    "",
                    "Protected: false",
                    "Unknown unicast blocked: disabled",
                    "Unknown multicast blocked: disabled",
                    "Appliance trust: none",
                    "",
                ]
        return "\r\n".join(out)

    def show_mls_qos(self, words: list[str]) -> str | None:
        if self.dialect.name != "cisco-ios":
            return None
        enabled = find(self.config["running"], "mls qos") is not None
        if len(words) == 3:
            return f"QoS is {'enabled' if enabled else 'disabled'}\r\nQoS ip packet dscp rewrite is enabled"
        if len(words) >= 5 and words[3] == "interface":
            name = expand(" ".join(words[4:]))
            node = self._iface(name)
            if node is None:
                return None
            lines = [c[0] for c in node[1]]
            trust = next(
                (
                    ln.removeprefix("mls qos trust ")
                    for ln in lines
                    if ln.startswith("mls qos trust")
                ),
                "",
            )
            state = f"trust {trust}" if trust and enabled else "not trusted"
            return (
                f"{name}\r\ntrust state: {state}\r\ntrust mode: {state}\r\n"
                "trust enabled flag: ena\r\nCOS override: dis\r\ndefault COS: 0\r\n"
                "DSCP Mutation Map: Default DSCP Mutation Map\r\nTrust device: none\r\n"
                "qos mode: port-based"
            )
        return None

    def show_neighbors(self, line: str) -> str:
        codec = self.spec["codec"]
        model = self.spec["codec_model"]
        full = self.spec["codec_port"]
        port = "Gig " + full.removeprefix("GigabitEthernet")
        short = "Gi" + full.removeprefix("GigabitEthernet")
        if "lldp" in line and "detail" in line:
            return (
                "------------------------------------------------\r\n"
                f"Local Intf: {short}\r\n"
                "Chassis id: 0004.f2aa.0001\r\n"
                "Port id: eth0\r\n"
                "Port Description: eth0\r\n"
                f"System Name: {codec}\r\n\r\n"
                "System Description: \r\n"
                f"{model}\r\n\r\n"
                "Time remaining: 110 seconds\r\n"
                "System Capabilities: T\r\n"
                "Enabled Capabilities: T\r\n"
                "Management Addresses:\r\n"
                f"    IP: {self.codec_address()}\r\n"
                "Auto Negotiation - supported, enabled\r\n"
                "Physical media capabilities:\r\n"
                "    1000baseT(FD)\r\n"
                "Media Attachment Unit type: 30\r\n"
                "Vlan ID: - not advertised\r\n\r\n"
                "\r\nTotal entries displayed: 1"
            )
        if "detail" in line:
            return (
                "-------------------------\r\n"
                f"Device ID: {codec}\r\n"
                "Entry address(es): \r\n"
                f"  IP address: {self.codec_address()}\r\n"
                f"Platform: {model},  Capabilities: Host Phone\r\n"
                f"Interface: {full},  Port ID (outgoing port): eth0\r\n"
                "Holdtime : 150 sec\r\n\r\n"
                f"Version :\r\n{model}\r\n\r\n"
                "advertisement version: 2\r\n"
                "Duplex: full\r\n\r\n"
                "Total cdp entries displayed : 1"
            )
        if "lldp" in line:
            return (
                "Capability codes:\r\n"
                "    (R) Router, (B) Bridge, (T) Telephone, (C) DOCSIS Cable Device\r\n"
                "    (W) WLAN Access Point, (P) Repeater, (S) Station, (O) Other\r\n\r\n"
                "Device ID           Local Intf     Hold-time  Capability      Port ID\r\n"
                f"{codec[:20]:<20}{short:<15}120        T               eth0\r\n\r\n"
                "Total entries displayed: 1"
            )
        return (
            "Capability Codes: R - Router, T - Trans Bridge, B - Source Route Bridge\r\n"
            "                  S - Switch, H - Host, I - IGMP, r - Repeater, P - Phone,\r\n"
            "                  D - Remote, C - CVTA, M - Two-port Mac Relay\r\n\r\n"
            "Device ID        Local Intrfce     Holdtme    Capability  Platform  Port ID\r\n"
            f"{codec[:16]:<17}{port:<18}150              H P    {model[:9]:<9} eth0\r\n\r\n"
            "Total cdp entries displayed : 1"
        )

    def show_policy_interface(self, name: str) -> str | None:
        if self.dialect.name != "cisco-iosxe":
            return None
        node = self._iface(expand(name))
        if node is None:
            return None
        out = [f" {expand(name)}", ""]
        for line in (c[0] for c in node[1]):
            if line.startswith("service-policy "):
                direction, policy = line.split()[1:3]
                out += [f"  Service-policy {direction}: {policy}", ""]
                pmap = find(self.config["running"], f"policy-map {policy}")
                for cls in pmap[1] if pmap else []:
                    out += [
                        f"    Class-map: {cls[0].split()[1]} (match-any)",
                        "      0 packets",
                        *(f"      {c[0]}" for c in cls[1]),
                        "",
                    ]
        return "\r\n".join(out)

    def deviations(self) -> dict[str, Any]:
        port = self.spec["codec_port"]
        vlan = province.VIDEO_VLAN

        def port_node(tree: list[Node]) -> Node:
            node = find(tree, f"interface {port}")
            assert node is not None
            return node

        def drop(prefix: str) -> Any:
            def fn(tree: list[Node]) -> None:
                node = port_node(tree)
                node[1] = [c for c in node[1] if not c[0].startswith(prefix)]

            return fn

        def set_line(old: str, new: str) -> Any:
            def fn(tree: list[Node]) -> None:
                node = port_node(tree)
                node[1] = [[new, []] if c[0].startswith(old) else c for c in node[1]]

            return fn

        def telnet(tree: list[Node]) -> None:
            node = find(tree, "line vty 0 4")
            if node:
                node[1] = [
                    [("transport input ssh telnet" if c[0].startswith("transport") else c[0]), []]
                    for c in node[1]
                ]

        return {
            "port: portfast removed": drop("spanning-tree portfast"),
            "port: bpduguard removed": drop("spanning-tree bpduguard"),
            f"port: access vlan 1 instead of {vlan}": set_line(
                "switchport access vlan", "switchport access vlan 1"
            ),
            "port: description changed by hand": set_line("description", "description may tinh cu"),
            "vty: telnet allowed": telnet,
        }


class CiscoIOS(_CiscoBase):
    family = "cisco-ios"
    dialect = IOS

    def _base(self, hostname: str, factory: bool) -> list[Node]:
        tree = self._common(hostname, factory)
        if not factory:
            tree.append(_node("mls qos"))
        tree += self._ports(
            factory, [] if factory else ["mls qos trust dscp", "priority-queue out"]
        )
        tree += self._tail(factory)
        return tree

    def deviations(self) -> dict[str, Any]:
        dev = super().deviations()

        def no_trust(tree: list[Node]) -> None:
            node = find(tree, f"interface {self.spec['codec_port']}")
            assert node is not None
            node[1] = [c for c in node[1] if not c[0].startswith("mls qos trust")]

        def no_mls(tree: list[Node]) -> None:
            tree[:] = [n for n in tree if n[0] != "mls qos"]

        dev["port: mls qos trust dscp removed"] = no_trust
        dev["global: mls qos off"] = no_mls
        return dev


class CiscoIOSXE(_CiscoBase):
    family = "cisco-iosxe"
    dialect = IOSXE
    image = "packages.conf"

    def _base(self, hostname: str, factory: bool) -> list[Node]:
        tree = self._common(hostname, factory)
        if not factory:
            tree += [
                _node("class-map match-any VC-AUDIO", "match dscp ef"),
                _node("class-map match-any VC-VIDEO", "match dscp af41 af42 af43 cs4"),
                _node("class-map match-any VC-SIGNALING", "match dscp cs3"),
                [
                    "policy-map VC-EDGE-OUT",
                    [
                        _node("class VC-AUDIO", "priority level 1 percent 10"),
                        _node("class VC-VIDEO", "priority level 2 percent 30"),
                        _node("class VC-SIGNALING", "bandwidth remaining percent 5"),
                        _node("class class-default", "bandwidth remaining percent 95"),
                    ],
                ],
            ]
        tree += self._ports(factory, [] if factory else ["service-policy output VC-EDGE-OUT"])
        tree += self._tail(factory)
        return tree

    def deviations(self) -> dict[str, Any]:
        dev = super().deviations()

        def no_policy(tree: list[Node]) -> None:
            node = find(tree, f"interface {self.spec['codec_port']}")
            assert node is not None
            node[1] = [c for c in node[1] if not c[0].startswith("service-policy")]

        dev["port: service-policy output removed"] = no_policy
        return dev


class HuaweiVRP(CliSwitch):
    family = "huawei-vrp"
    dialect = HUAWEI

    def _base(self, hostname: str, factory: bool) -> list[Node]:
        v = province.site_values(self.spec, self.ctx.hub.as_dict())
        tree: list[Node] = [_node(f"sysname {hostname}")]
        if not factory:
            tree += [_node(f"vlan batch {v['vlan']}")]
        tree += [_node("stp bpdu-protection")] if not factory else []
        tree += [
            _node(
                "aaa",
                "authentication-scheme default",
                f"local-user {self._user(factory)} password irreversible-cipher $1a$lab$hidden",
                "domain default",
            ),
        ]
        for n in range(1, 11):
            name = f"GigabitEthernet0/0/{n}"
            if name == self.spec["codec_port"] and not factory:
                tree.append(
                    _node(
                        f"interface {name}",
                        f"description VC codec {self.spec['codec']} {self.spec['codec_model']}",
                        "port link-type access",
                        f"port default vlan {v['vlan']}",
                        "trust dscp override",
                        "stp edged-port enable",
                        "qos pq 5 to 7 drr 0 to 4",
                    )
                )
            elif n == 10:
                tree.append(
                    _node(
                        f"interface {name}",
                        "description UPLINK",
                        "port link-type trunk",
                        *([] if factory else ["trust dscp"]),
                    )
                )
            else:
                tree.append(_node(f"interface {name}"))
        if not factory:
            tree += [_node(f"ntp-service unicast-server {s}") for s in v["ntp_servers"]]
            tree += [
                _node(f"snmp-agent community read cipher {v['snmp_community']}"),
                _node(
                    f"snmp-agent target-host trap address udp-domain {v['snmp_trap']} params securityname {v['snmp_community']} v2c"
                ),
                _node("stelnet server enable"),
                _node("user-interface vty 0 4", "authentication-mode aaa", "protocol inbound ssh"),
            ]
        else:
            tree += [
                _node("telnet server enable"),
                _node("user-interface vty 0 4", "authentication-mode aaa", "protocol inbound all"),
            ]
        return tree

    def deviations(self) -> dict[str, Any]:
        port = self.spec["codec_port"]

        def edit(fn_lines: Any) -> Any:
            def fn(tree: list[Node]) -> None:
                node = find(tree, f"interface {port}")
                assert node is not None
                node[1] = [[ln, []] for ln in fn_lines([c[0] for c in node[1]])]

            return fn

        def telnet(tree: list[Node]) -> None:
            node = find(tree, "user-interface vty 0 4")
            if node:
                node[1] = [
                    [("protocol inbound all" if c[0].startswith("protocol") else c[0]), []]
                    for c in node[1]
                ]

        return {
            "port: trust 8021p instead of dscp": edit(
                lambda ls: ["trust 8021p" if ln.startswith("trust") else ln for ln in ls]
            ),
            "port: edged-port removed": edit(
                lambda ls: [ln for ln in ls if not ln.startswith("stp edged")]
            ),
            "port: default vlan 1": edit(
                lambda ls: [ln for ln in ls if not ln.startswith("port default vlan")]
            ),
            "vty: telnet allowed": telnet,
        }

    def show(self, line: str) -> str | None:
        words = line.split()
        run = self.config["running"]
        if line in ("display current-configuration", "dis cur"):
            return self.render(run)
        if words[:3] == ["display", "current-configuration", "interface"] and len(words) > 3:
            return self.render_interface(run, " ".join(words[3:]))
        if line in ("display saved-configuration", "dis saved"):
            return self.render(self.config["startup"])
        if line in ("display version", "dis ver"):
            return (
                "Huawei Versatile Routing Platform Software\r\n"
                f"VRP (R) software, Version 5.170 (S5720 {self.version})\r\n"
                "Copyright (C) 2000-2020 HUAWEI TECH CO., LTD\r\n"
                f"HUAWEI {self.spec['model']} Routing Switch uptime is {_uptime(self.booted_at)}\r\n"
                "\r\n"
                "ES5D2T28S000 0(Master) : uptime is 0 week, 3 days, 4 hours, 5 minutes\r\n"
                "DDR             Memory Size : 512     M bytes\r\n"
                "FLASH Total     Memory Size : 512     M bytes\r\n"
            )
        if line == "display clock":
            return time.strftime(
                "%Y-%m-%d %H:%M:%S+07:00\r\n%A\r\nTime Zone(Default Zone Name) : UTC+07:00",
                time.gmtime(),
            )
        if line in ("display lldp neighbor brief", "display lldp neighbor"):
            port = self.spec["codec_port"]
            if line.endswith("brief"):
                return (
                    "Local Intf       Neighbor Dev             Neighbor Intf             Exptime(s)\r\n"
                    f"GE{port.removeprefix('GigabitEthernet'):<14} {self.spec['codec']:<24} eth0                      110"
                )
            return (
                f"{port} has 1 neighbor(s):\r\n\r\n"
                "Neighbor index :1\r\n"
                "Chassis type   :MAC address\r\n"
                "Chassis ID     :0004-f2aa-0001\r\n"
                "Port ID type   :Interface name\r\n"
                "Port ID        :eth0\r\n"
                "Port description    :eth0\r\n"
                f"System name         :{self.spec['codec']}\r\n"
                f"System description  :{self.spec['codec_model']}\r\n"
                "System capabilities supported   :telephone\r\n"
                "System capabilities enabled     :telephone\r\n"
                "Management address type  :ipv4\r\n"
                f"Management address       :{self.codec_address()}\r\n"
                "Expired time   :110s\r\n"
            )
        if line == "display interface brief":
            out = [
                "PHY: Physical",
                "Interface                   PHY   Protocol  InUti OutUti   inErrors  outErrors",
            ]
            for node in run:
                if node[0].startswith("interface GigabitEthernet"):
                    name = node[0].split()[1]
                    up = name in (self.spec["codec_port"], "GigabitEthernet0/0/10")
                    out.append(
                        f"{name:<28}{'up' if up else 'down':<6}{'up' if up else 'down':<10}0%     0%          0          0"
                    )
            return "\r\n".join(out)
        return None
