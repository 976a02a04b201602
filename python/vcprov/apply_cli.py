"""``vcprov apply``: the province standard on every codec and switch port, through
ansible-runner (``playbooks/site.yml``), with progress, one summary line and a JSON report.

Exit codes: 0 no host failed or was unreachable; 1 bad input (nothing touched); 2 a host
failed or was unreachable.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from . import ansible_glue, hosts, labinv, runner, standard
from .inventory import InvalidStandard

CONFIG_TASKS = ("vc_endpoint_config", "vc_switch_config", "vc_site_guard")
TASK_NAMES = {
    "Codec holds the province standard": "config",
    "Codec port holds the province standard": "config",
    "Site change set (roll the port back when the site's codec failed)": "guard",
}


def add_target_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lab", help="a lab state directory (vcprov lab up --state DIR)")
    p.add_argument(
        "-i",
        "--inventory",
        help="an inventory directory (default inventory/thanhhoa); with --lab: the standard "
        "(group_vars) the lab's devices are held to",
    )
    p.add_argument("--limit", help="an Ansible host pattern: names, groups, globs, !exclusions")
    p.add_argument("--vault-password-file", help="passed to Ansible (never needed for a lab)")


def resolve_inventory(args: argparse.Namespace) -> tuple[str, list[hosts.Device]]:
    """The Ansible inventory path of the run and its devices (validated: raises
    InvalidStandard / ValueError before anything is touched)."""
    inv_path, devices, _ = _resolve(args)
    return inv_path, devices


def resolve_run(args: argparse.Namespace) -> tuple[str, list[hosts.Device], dict[str, Any]]:
    """Like :func:`resolve_inventory`, and the run's desired state written once, here (the
    playbook's ``vc_standard`` task then skips): the extra variables for the playbook."""
    inv_path, devices, inv = _resolve(args)
    state = hosts.state_dir(args.lab, None if args.lab else inv_path)
    run_dir, errors = ansible_glue.prepare_run(
        {"vc_state_dir": str(state)}, [d.name for d in devices], inv
    )
    if errors:  # already validated: only a race with an edit gets here
        raise InvalidStandard([])
    return inv_path, devices, {"vc_run_dir": run_dir}


def _resolve(args: argparse.Namespace) -> tuple[str, list[hosts.Device], standard.Inventory]:
    if args.lab:
        inv_path = str(labinv.ensure(args.lab, args.inventory))
        inv = hosts.load_inventory(args.lab, args.inventory, args.vault_password_file)
    else:
        inv_path = args.inventory or hosts.default_inventory()
        inv = hosts.load_inventory(None, inv_path, args.vault_password_file)
    devices = hosts.select([hosts.device_of(inv, n) for n in inv.hosts], args.limit)
    errors: list[Any] = []
    for dev in devices:
        try:
            standard.effective(inv, dev.name)
        except InvalidStandard as exc:
            errors += [e for e in exc.errors if e not in errors]
    if errors:
        raise InvalidStandard(errors)
    return inv_path, devices, inv


def _line(name: str, width: int, status: str, res: dict[str, Any]) -> str:
    detail = str(res.get("msg", ""))
    return f"  {name:<{width}}  {status:<11} {detail}"


def cmd_apply(args: argparse.Namespace) -> int:
    started = time.time()
    try:
        inv_path, devices, extravars = resolve_run(args)
    except InvalidStandard as exc:
        print("vcprov apply: the standard is invalid, no device was touched:", file=sys.stderr)
        for err in exc.errors:
            print(f"  {err}", file=sys.stderr)
        return 1
    if not devices:
        print("vcprov apply: no device in this run", file=sys.stderr)
        return 1
    width = max(len(d.name) for d in devices)
    mode = " (check mode: nothing is written)" if args.check else ""
    print(f"vcprov apply: {len(devices)} devices{mode}")
    results: dict[str, dict[str, Any]] = {}
    standard_errors: list[str] = []

    def on_result(host: str, kind: str, task: str, res: dict[str, Any]) -> None:
        if task.startswith("Check the standard") and kind == "failed":
            standard_errors.extend(res.get("errors") or [res.get("msg", "")])
            return
        step = TASK_NAMES.get(task)
        if step is None or kind == "skipped":
            return
        mine = results.setdefault(host, {"result": {}, "kind": "ok"})
        if step == "config" or kind != "ok":
            mine["result"] = res if step == "config" else {**mine["result"], **res}
            mine["kind"] = kind
        status = {"ok": "changed" if res.get("changed") else "ok"}.get(kind, kind)
        print(_line(host, width, status, res), flush=True)
        if args.diff and res.get("diff"):
            for side in ("before", "after"):
                for text in str(res["diff"][side]).splitlines():
                    print(f"      {'-' if side == 'before' else '+'} {text}")

    run = runner.run_playbook(
        "site.yml",
        [inv_path],
        limit=",".join(d.name for d in devices),
        check=args.check,
        diff=args.diff,
        vault_password_file=args.vault_password_file,
        forks=args.forks,
        extravars=extravars,
        on_result=on_result,
    )
    if standard_errors:
        print("vcprov apply: the standard is invalid, no device was touched:", file=sys.stderr)
        for text in standard_errors:
            print(f"  {text}", file=sys.stderr)
        return 1
    rows = []
    for dev in devices:
        host = run.hosts.get(dev.name)
        res = results.get(dev.name, {}).get("result", {})
        rows.append(
            {
                "name": dev.name,
                "site": dev.site,
                "role": dev.role,
                "family": dev.family,
                "changed": bool(host and host.changed),
                "failed": bool(host and host.failed) or host is None,
                "unreachable": bool(host and host.unreachable),
                "changes": res.get("changes", []),
                "writes": res.get("writes", []),
                "deferred": res.get("deferred", []),
                "restored": bool(res.get("restored")),
                "rebooted": bool(res.get("rebooted")),
                "snapshot": res.get("snapshot"),
                "msg": res.get("msg", "" if host else "no result (the play did not reach it)"),
            }
        )
    counts = {
        "changed": sum(r["changed"] and not r["failed"] for r in rows),
        "ok": sum(not (r["changed"] or r["failed"] or r["unreachable"]) for r in rows),
        "failed": sum(r["failed"] and not r["unreachable"] for r in rows),
        "unreachable": sum(r["unreachable"] for r in rows),
    }
    deferred = sum(bool(r["deferred"]) for r in rows)
    elapsed = time.time() - started
    verb = "would change" if args.check else "changed"
    print(
        f"{len(rows)} hosts: {counts['changed']} {verb}, {counts['ok']} ok, "
        f"{counts['failed']} failed, {counts['unreachable']} unreachable"
        + (f", {deferred} with deferred changes" if deferred else "")
        + f" ({elapsed:.1f} s)"
    )
    if args.json:
        doc = {
            "run": {
                "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
                "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "inventory": str(Path(inv_path)),
                "limit": args.limit,
                "check": bool(args.check),
                "seconds": round(elapsed, 2),
            },
            "summary": counts,
            "hosts": rows,
        }
        Path(args.json).write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0 if counts["failed"] == 0 and counts["unreachable"] == 0 else 2


def register(sub: Any) -> None:
    p = sub.add_parser(
        "apply", help="bring codecs and switch ports to the standard (playbooks/site.yml)"
    )
    add_target_args(p)
    p.add_argument("--check", action="store_true", help="plan only: nothing is written")
    p.add_argument("--diff", action="store_true", help="show before/after of every change")
    p.add_argument("--json", help="write the per-host results to this file")
    p.add_argument("--forks", type=int, default=50, help="parallel hosts (default 50)")
    p.set_defaults(func=cmd_apply)
