"""Run a playbook through ansible-runner, the engine AWX uses, with the venv's own Ansible.

ansible-runner starts ``ansible-playbook`` from PATH, so the directory of the running
interpreter (the venv's ``bin/``) goes first on PATH whether or not the venv is activated.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ansible_runner

ROOT = Path(__file__).resolve().parent.parent.parent
PLAYBOOKS = ROOT / "playbooks"


def venv_bin() -> Path:
    """The directory holding this interpreter's ``ansible-playbook``."""
    return Path(sys.executable).parent


def ansible_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        "PATH": f"{venv_bin()}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_NOCOLOR": "1",
        # ansible-runner puts its own callback directory in this variable, which hides
        # ansible.cfg's callback_plugins: name ours here (plugins/callback/vcprov_preload).
        "ANSIBLE_CALLBACK_PLUGINS": str(ROOT / "plugins" / "callback"),
    }
    env.update(extra or {})
    return env


@dataclass
class HostResult:
    name: str
    changed: bool = False
    failed: bool = False
    unreachable: bool = False
    results: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class PlaybookRun:
    rc: int
    status: str
    hosts: dict[str, HostResult]


def run_playbook(
    playbook: str,
    inventory: list[str],
    *,
    limit: str | None = None,
    check: bool = False,
    diff: bool = False,
    extravars: dict[str, Any] | None = None,
    vault_password_file: str | None = None,
    forks: int = 50,
    on_host_done: Callable[[str, HostResult], None] | None = None,
    on_result: Callable[[str, str, str, dict[str, Any]], None] | None = None,
    quiet: bool = True,
) -> PlaybookRun:
    """Run ``playbooks/<playbook>`` and collect one result per host from the event stream."""
    hosts: dict[str, HostResult] = {}

    def handler(event: dict[str, Any]) -> bool:
        data = event.get("event_data") or {}
        host = data.get("host")
        kind = event.get("event", "")
        if not host or kind not in (
            "runner_on_ok",
            "runner_on_failed",
            "runner_on_unreachable",
            "runner_on_skipped",
        ):
            return True
        res = hosts.setdefault(host, HostResult(host))
        payload = dict(data.get("res") or {})
        payload["_task"] = data.get("task", "")
        res.results.append(payload)
        if kind == "runner_on_failed" and not data.get("ignore_errors"):
            res.failed = True
        elif kind == "runner_on_unreachable":
            res.unreachable = True
        if payload.get("changed"):
            res.changed = True
        if on_result is not None:
            on_result(host, kind.removeprefix("runner_on_"), str(data.get("task", "")), payload)
        return True

    cmdline = []
    for inv in inventory:
        cmdline += ["-i", inv]
    if check:
        cmdline.append("--check")
    if diff:
        cmdline.append("--diff")
    if vault_password_file:
        cmdline += ["--vault-password-file", vault_password_file]
    with tempfile.TemporaryDirectory(prefix="vcprov-runner-") as private:
        result = ansible_runner.run(
            private_data_dir=private,
            playbook=str(PLAYBOOKS / playbook),
            cmdline=" ".join(cmdline),
            limit=limit,
            forks=forks,
            extravars=extravars or {},
            envvars=ansible_env(),
            quiet=quiet,
            event_handler=handler,
            project_dir=str(ROOT),
        )
    for name, res in hosts.items():
        if on_host_done is not None:
            on_host_done(name, res)
    return PlaybookRun(rc=int(result.rc), status=str(result.status), hosts=hosts)
