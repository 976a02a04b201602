"""Molecule: every scenario under molecule/ runs `molecule test` against a lab of its own
(prepare starts it, destroy stops it) and must pass, idempotence step included."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from .conftest import ROOT, VENV_BIN

SCENARIOS = sorted(p.parent.name for p in (ROOT / "molecule").glob("*/molecule.yml"))
# Roles whose one task runs once for every host of the play (vc_firmware: the rings).
ONE_TASK_FOR_THE_PLAY = {"endpoint_firmware"}
ANSI = re.compile(r"\x1b\[[0-9;]*m")
RECAP = re.compile(r"^[\s│]*(\S+)\s+:\s+ok=\d+\s+changed=(\d+)", re.MULTILINE)


def lab_processes(lab_dir: Path) -> list[int]:
    """Pids of lab servers serving ``lab_dir`` (``python -m vcprov.lab.server --state DIR``)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"vcprov.lab.server" in argv and str(lab_dir).encode() in argv:
            pids.append(int(proc.name))
    return pids


def step(output: str, scenario: str, action: str) -> str:
    """The output of one step of the sequence (its ansible-playbook run)."""
    start = output.index(f"{scenario} ➜ {action}: Executing")
    return output[start : output.index(f"{scenario} ➜ {action}: Executed", start)]


def failed_step(output: str, scenario: str) -> str:
    """The output of the step that failed, if one did."""
    failed = re.search(r"error occurred during the \w+ sequence action: '(\w+)'", output)
    return step(output, scenario, failed.group(1)) if failed else ""


def changed_per_host(output: str) -> dict[str, int]:
    return {host: int(n) for host, n in RECAP.findall(output)}


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(scenario: str, tmp_path: Path) -> None:
    ephemeral = tmp_path / scenario
    env = {
        **os.environ,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        # The scenario's own working directory (and so its lab's state directory).
        "MOLECULE_EPHEMERAL_DIRECTORY": str(ephemeral),
        "MOLECULE_GLOB": "molecule/*/molecule.yml",
    }
    try:
        proc = subprocess.run(
            [str(VENV_BIN / "molecule"), "test", "-s", scenario],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=840,
        )
    finally:
        # destroy must have stopped the lab, whatever happened; stop a leftover anyway.
        leftover = lab_processes(ephemeral / "lab")
        for pid in leftover:
            os.kill(pid, signal.SIGTERM)
    output = ANSI.sub("", proc.stdout)
    (tmp_path / "molecule.log").write_text(output, encoding="utf-8")
    tail = f"{failed_step(output, scenario)[-5000:]}\n...\n{output[-1500:]}\n(log: {tmp_path})"
    assert proc.returncode == 0, tail
    assert not leftover, f"destroy left the lab running (pids {leftover})"

    for action in ("prepare", "converge", "idempotence", "verify", "destroy"):
        assert f"{scenario} ➜ {action}: Executed: Successful" in output, tail

    converge = changed_per_host(step(output, scenario, "converge"))
    if scenario in ONE_TASK_FOR_THE_PLAY:  # run_once: the play's first host holds the result
        assert converge and any(converge.values()), f"nothing was converged: {converge}"
    else:
        assert converge and all(converge.values()), f"the lab started on the standard: {converge}"
    second = changed_per_host(step(output, scenario, "idempotence"))
    assert set(second) == set(converge)
    assert not any(second.values()), f"second converge changed something: {second}"
