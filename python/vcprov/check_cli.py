"""``vcprov check``: the nightly drift check through ansible-runner (``playbooks/drift.yml``).

Every device in the limit appears once in the result, with a status: ``compliant``,
``drifted``, ``unreachable``, ``error`` or ``waived``.  Exit codes: 0 all compliant
(waived counts as compliant), 2 drift found, 4 some device unreachable or in error (4 wins
over 2), 1 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from . import check, history, mail, report, runner, waivers
from .apply_cli import add_target_args, resolve_run
from .findings import CheckRun
from .hosts import Device, default_inventory
from .inventory import InvalidStandard
from .standard import SETTINGS

STATUSES = ("compliant", "drifted", "unreachable", "error", "waived")


def assemble(
    devices: list[Device], run_dir: str | None, started: float, inventory: str, limit: str | None
) -> dict[str, Any]:
    """The run's report document (the ``--json`` contract) from the per-device results."""
    results: dict[str, dict[str, Any]] = {}
    for dev in devices:
        path = Path(run_dir or "/nonexistent") / "check" / f"{dev.name}.json"
        try:
            results[dev.name] = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            results[dev.name] = {
                "status": "unreachable",
                "findings": [],
                "error": "no result: the check did not reach this device",
            }
    rows = []
    for dev in devices:
        res = results[dev.name]
        findings = [dict(f, first_seen=None) for f in res.get("findings", [])]
        if dev.role == "endpoint" and dev.peer in results:
            qos = check.qos_consistency(dev.name, res, str(dev.peer), results[str(dev.peer)])
            if qos is not None:
                findings.append(dict(qos, first_seen=None))
        status = res.get("status", "error")
        if status == "compliant" and findings:
            status = "drifted"
        rows.append(
            {
                "name": dev.name,
                "site": dev.site,
                "site_name": dev.site_name,
                "role": dev.role,
                "family": dev.family,
                "model": (res.get("facts") or {}).get("model", dev.model),
                "version": (res.get("facts") or {}).get("version", ""),
                "status": status,
                "error": res.get("error", ""),
                "findings": findings,
                "config": res.get("config"),
            }
        )
    summary = {s: sum(r["status"] == s for r in rows) for s in STATUSES}
    return {
        "run": {
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "inventory": inventory,
            "limit": limit,
        },
        "summary": summary,
        "devices": rows,
    }


def exit_code(summary: dict[str, int]) -> int:
    if summary["unreachable"] or summary["error"]:
        return 4
    if summary["drifted"]:
        return 2
    return 0


def print_report(doc: dict[str, Any]) -> None:
    rows = [d for d in doc["devices"] if d["status"] != "compliant"]
    width = max((len(d["name"]) for d in rows), default=10)
    for dev in rows:
        print(f"  {dev['name']:<{width}}  {dev['status']:<11} {dev['site_name']}")
        if dev["error"]:
            print(f"      {dev['error']}")
        for f in dev["findings"]:
            when = "new" if f.get("new", True) else f"since {f.get('first_seen')}"
            waiver = f.get("waiver") or {}
            if waiver:
                state = "EXPIRED waiver" if waiver.get("expired") else "waived"
                when += f"; {state} ({waiver.get('owner')}, until {waiver.get('expires')})"
            print(
                f"      {f['kind']:<7} {f['setting']} ({f['vendor_key']}): "
                f"expected {f['expected']!r}, found {f['actual']!r}  [{when}]"
            )
    for r in (doc.get("run") or {}).get("resolved") or []:
        print(f"  resolved since the last run: {r.get('device')} {r.get('setting')}")
    s = doc["summary"]
    print(
        f"{len(doc['devices'])} devices: {s['compliant']} compliant, {s['drifted']} drifted, "
        f"{s['unreachable']} unreachable, {s['error']} error, {s['waived']} waived"
    )


def _run(
    inv_path: str,
    devices: list[Device],
    args: argparse.Namespace,
    started: float,
    extravars: dict[str, Any],
) -> dict[str, Any]:
    runner.run_playbook(
        "drift.yml",
        [inv_path],
        limit=",".join(d.name for d in devices),
        check=True,
        vault_password_file=args.vault_password_file,
        forks=args.forks,
        extravars={**extravars, "vc_fan_out": not args.per_host},
    )
    return assemble(devices, extravars["vc_run_dir"], started, inv_path, args.limit)


def healable(doc: dict[str, Any], devices: list[Device]) -> dict[str, list[str]]:
    """Device -> the drifted settings its heal policy (``vc_heal_policy``) lets --fix heal."""
    by_name = {d.name: d for d in devices}
    out: dict[str, list[str]] = {}
    for row in doc["devices"]:
        if row["status"] != "drifted":
            continue
        policy = set(by_name[row["name"]].vars.get("vc_heal_policy") or [])
        settings = sorted(
            {
                f["setting"]
                for f in row["findings"]
                if f["setting"] in SETTINGS and SETTINGS[f["setting"]].heal in policy
            }
        )
        if settings:
            out[row["name"]] = settings
    return out


def fix(
    inv_path: str, heal: dict[str, list[str]], args: argparse.Namespace
) -> list[dict[str, Any]]:
    """Heal through the apply path (snapshots, verify, restore): ``site.yml`` limited to the
    settings the policy allows."""
    outcome: dict[str, dict[str, Any]] = {}

    def on_result(host: str, kind: str, task: str, res: dict[str, Any]) -> None:
        if host in heal and kind != "skipped" and "holds the province standard" in task:
            result = "changed" if kind == "ok" and res.get("changed") else kind
            outcome[host] = {"result": result, "msg": res.get("msg", "")}

    runner.run_playbook(
        "site.yml",
        [inv_path],
        limit=",".join(heal),
        vault_password_file=args.vault_password_file,
        forks=args.forks,
        extravars={"vc_only": heal, **resolve_run(args)[2]},
        on_result=on_result,
    )
    return [
        {"name": name, "settings": settings, **outcome.get(name, {"result": "not run"})}
        for name, settings in heal.items()
    ]


def default_history(args: argparse.Namespace) -> Path:
    """The history repository of this network (``--history`` overrides)."""
    from .hosts import state_dir

    return state_dir(args.lab, args.inventory) / "history"


def cmd_check(args: argparse.Namespace) -> int:
    started = time.time()
    try:
        inv_path, devices, extravars = resolve_run(args)
        rules = waivers.load(args.inventory or default_inventory())
    except InvalidStandard as exc:
        print("vcprov check: bad input, nothing was checked:", file=sys.stderr)
        for err in exc.errors:
            print(f"  {err}", file=sys.stderr)
        return 1
    if not devices:
        print("vcprov check: no device in this run", file=sys.stderr)
        return 1
    print(f"vcprov check: {len(devices)} devices (read only)", flush=True)
    doc = _run(inv_path, devices, args, started, extravars)
    fixed: list[dict[str, Any]] | None = None
    if args.fix:
        heal = healable(doc, devices)
        fixed = []
        if heal:
            print_report(doc)
            n = sum(map(len, heal.values()))
            print(f"--fix: healing {n} setting(s) on {len(heal)} device(s)")
            fixed = fix(inv_path, heal, args)
            for row in fixed:
                print(f"  {row['name']}: {row['result']} {', '.join(row['settings'])}")
            print("checking again", flush=True)
            _, _, extravars = resolve_run(args)
            doc = _run(inv_path, devices, args, started, extravars)
    run = CheckRun.from_dict(doc)
    waivers.apply(run, rules)
    if not args.no_history:
        history.record(args.history or default_history(args), run)
    out = report.to_json(run)
    if fixed is not None:
        out["run"]["fixed"] = fixed
    print_report(out)
    if args.json:
        Path(args.json).write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.html:
        report.write_html(run, args.html)
        print(f"HTML report: {args.html}")
    if args.junit:
        report.write_junit(run, args.junit)
    if args.mail_to:
        if args.mail_always or mail.should_mail(run):
            mail.send(run, args.mail_to)
            print(f"mailed to {args.mail_to}")
        else:
            print("nothing changed since the last run: no mail (--mail-always to send anyway)")
    return exit_code(out["summary"])


def register(sub: Any) -> None:
    p = sub.add_parser("check", help="nightly drift check (reads only; playbooks/drift.yml)")
    add_target_args(p)
    p.add_argument("--json", help="write the report as JSON")
    p.add_argument("--html", help="write the morning report as one self-contained HTML page")
    p.add_argument("--junit", help="write JUnit XML (one test case per device)")
    p.add_argument("--mail-to", help="mail the report (SMTP at $VCPROV_SMTP, default localhost:25)")
    p.add_argument(
        "--mail-always", action="store_true", help="mail even when nothing changed since last run"
    )
    p.add_argument(
        "--history",
        help="git repository of collected configurations and findings "
        "(default: the network's state directory / history)",
    )
    p.add_argument("--no-history", action="store_true", help="do not record this run")
    p.add_argument(
        "--per-host",
        action="store_true",
        help="one Ansible task per device (slower at scale) instead of one task for all",
    )
    p.add_argument(
        "--fix",
        action="store_true",
        help="heal the setting classes the heal policy allows (vc_heal_policy), then check again",
    )
    p.add_argument("--forks", type=int, default=50, help="parallel hosts (default 50)")
    p.set_defaults(func=cmd_check)
