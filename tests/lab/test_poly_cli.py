"""Group Series SSH CLI details of endpoint-apis.md A.1 / A.10 / A.11 not covered elsewhere:
commands terminated by ``\\r`` without a PTY, refused sets counted as writes, argument errors."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncssh

from tests.conftest import Lab

GS = "tinh-uy-codec"
EOL = "\r\r\n"


async def _session(d: dict[str, Any], lines: list[str], until: list[str]) -> tuple[str, list[str]]:
    """Log in without a PTY, send each line terminated by a bare CR, read each reply."""
    async with asyncssh.connect(
        d["host"], d["ssh_port"], username=d["username"], password=d["password"],
        known_hosts=None, client_keys=None,
    ) as conn:  # fmt: skip
        proc = await conn.create_process(encoding="utf-8")  # no term_type: no PTY
        banner = await asyncio.wait_for(proc.stdout.readuntil("SNMP Enabled:"), 10)
        replies = []
        for line, marker in zip(lines, until, strict=True):
            proc.stdin.write(line + "\r")
            replies.append(await asyncio.wait_for(proc.stdout.readuntil(marker), 10))
        proc.close()
        return banner, replies


def run(d: dict[str, Any], lines: list[str], until: list[str]) -> tuple[str, list[str]]:
    return asyncio.run(_session(d, lines, until))


def test_cr_terminated_commands_without_a_pty(lab: Lab) -> None:
    d = lab.spec(GS)
    before = lab.control.writes(GS)
    banner, (version, model, nothing) = run(
        d,
        ["version", "systemsetting get model", "frobnicate"],
        ['"' + EOL, '"' + EOL, "found" + EOL],
    )
    assert banner.startswith("Hi, my name is : ")
    assert f'version "Release - {d["version"]}"' in version
    assert f'systemsetting model "{d["model"]}"' in model
    assert "error: command not found" in nothing
    assert lab.control.writes(GS) == before


def test_missing_arguments_and_refused_sets(lab: Lab) -> None:
    d = lab.spec(GS)
    before = lab.control.writes(GS)
    _, (reboot, enc, still) = run(
        d,
        ["reboot", "encryption sometimes", "encryption get"],
        ["successfully" + EOL, "failed" + EOL, "encryption yes" + EOL],
    )
    assert "error: command needs more parameters to execute successfully" in reboot
    assert "encryption sometimes failed" in enc and "encryption yes" in still
    # the refused set is a write request received; the device still holds "When Available"
    assert lab.control.writes(GS) == before + 1
    assert lab.control.devices()[GS]["power"] == "up"
