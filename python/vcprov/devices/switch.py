"""Access switches over SSH with netmiko: Catalyst IOS, Catalyst IOS-XE, Huawei VRP.

Platform differences (netmiko device type, show commands, version parsing) live in
:data:`PLATFORMS`, the only place that knows them.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import Any

from netmiko import BaseConnection, ConnectHandler
from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException

from .base import AuthFailed, Facts, ProtocolError, Switch, Target, Unreachable


@dataclass(frozen=True)
class Platform:
    vendor: str
    netmiko_type: str
    show_version: str
    show_running: str
    version_re: str
    model_re: str
    hostname_re: str


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
    ),
}
SERIAL_RE = r"(?:System [Ss]erial [Nn]umber|Serial ?[Nn]um(?:ber)?|ESN)\s*:?\s*(\S+)"


class CliSwitch(Switch):
    def __init__(self, target: Target):
        super().__init__(target)
        self.family = target.family
        self.platform = PLATFORMS[target.family]
        self.vendor = self.platform.vendor
        self.conn: BaseConnection | None = None

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
        try:
            self.conn = ConnectHandler(**params)
        except NetmikoAuthenticationException:
            raise AuthFailed(self.target.name, "SSH login refused") from None
        except (NetmikoTimeoutException, OSError, EOFError) as exc:
            raise Unreachable(self.target.name, f"SSH: {exc.__class__.__name__}") from None

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(OSError, EOFError):
                self.conn.disconnect()
            self.conn = None

    def send(self, command: str) -> str:
        if self.conn is None:
            raise ProtocolError(self.target.name, "no session (use `with driver:`)")
        try:
            return str(self.conn.send_command(command, read_timeout=self.target.timeout))
        except (OSError, EOFError, NetmikoTimeoutException) as exc:
            raise Unreachable(self.target.name, f"{command}: {exc.__class__.__name__}") from None

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
