"""What vcprov's Ansible action plugins share (the plugins themselves stay thin).

The plugins run on the controller (no module is shipped to a host): an action plugin
costs about 20 ms per host-task here where a module costs 0.3 s
(``docs/architecture.md``).  The standard is computed ONCE per run by the ``vc_standard``
task (``run_once``) into ``<state>/runs/<run>/desired/<host>.json`` (secrets as the name
of their vaulted variable, never the value); each device task reads its own file and asks
Ansible for the secret's value, so vault decryption stays Ansible's.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from . import hosts, standard
from .devices.base import Target
from .inventory import InvalidStandard

KEEP_RUNS = 20


def state_dir_of(task_vars: dict[str, Any]) -> Path:
    if task_vars.get("vc_state_dir"):
        return Path(str(task_vars["vc_state_dir"]))
    return hosts.state_dir(task_vars.get("vc_lab"), _inventory_dir(task_vars))


def _inventory_dir(task_vars: dict[str, Any]) -> str:
    return str(task_vars.get("vc_inventory") or task_vars.get("inventory_dir") or ".")


def prepare_run(
    task_vars: dict[str, Any], names: Iterable[str], inv: standard.Inventory | None = None
) -> tuple[str, list[str]]:
    """Validate the standard of ``names`` and write their desired state (``inv``: the
    inventory already loaded by the caller, e.g. the ``vcprov`` command).

    Returns (run directory, errors); with errors nothing is written.
    """
    if inv is None:
        inv = hosts.load_inventory(task_vars.get("vc_lab") or None, _inventory_dir(task_vars))
    errors: list[str] = []
    docs: dict[str, dict[str, Any]] = {}
    for name in names:
        try:
            std = standard.effective(inv, name)
        except InvalidStandard as exc:
            errors += [str(e) for e in exc.errors if str(e) not in errors]
            continue
        desired: dict[str, Any] = {}
        for setting, value in std.items():
            desired[setting] = {"secret": value.ref} if value.secret else value.value
        docs[name] = {"desired": desired, "sources": {s: v.source for s, v in std.items()}}
    if errors:
        return "", errors
    runs = state_dir_of(task_vars) / "runs"
    run = runs / f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
    (run / "desired").mkdir(parents=True, exist_ok=True)
    for name, doc in docs.items():
        (run / "desired" / f"{name}.json").write_text(
            json.dumps(doc, ensure_ascii=False, sort_keys=True), encoding="utf-8"
        )
    old = sorted(p for p in runs.iterdir() if p.is_dir())[:-KEEP_RUNS]
    for path in old:
        shutil.rmtree(path, ignore_errors=True)
    return str(run), []


def desired_of(
    run_dir: str, host: str, secret: Callable[[str], Any]
) -> tuple[dict[str, Any], set[str]]:
    """A host's desired settings with secrets resolved by ``secret(variable)``; and the
    names of the secret settings (for ``no_log``-style redaction)."""
    path = Path(run_dir) / "desired" / f"{host}.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidStandard([]) from None
    desired: dict[str, Any] = {}
    secrets: set[str] = set()
    for setting, value in doc["desired"].items():
        if isinstance(value, dict) and set(value) == {"secret"}:
            secrets.add(setting)
            desired[setting] = secret(str(value["secret"]))
        else:
            desired[setting] = value
    return desired, secrets


def target_of(args: dict[str, Any], host: str, role: str) -> Target:
    extra: dict[str, Any] = {}
    if role == "switch":
        extra["codec_port"] = args.get("codec_port")
    return Target(
        name=host,
        family=str(args["family"]),
        host=str(args["host"]),
        port=int(args.get("port") or hosts.DEFAULT_PORTS[role]),
        username=str(args["username"]),
        password=str(args["password"]),
        timeout=float(args.get("timeout") or 30.0),
        extra=extra,
    )


# Ansible argument specs shared by the device modules (DOCUMENTATION mirrors them).
CONNECTION_SPEC: dict[str, Any] = {
    "host": {"type": "str", "required": True},
    "port": {"type": "int"},
    "family": {"type": "str", "required": True},
    "username": {"type": "str", "required": True},
    "password": {"type": "str", "required": True, "no_log": True},
    "timeout": {"type": "float", "default": 30.0},
}


CONFIG_SPEC: dict[str, Any] = {
    **CONNECTION_SPEC,
    "codec_port": {"type": "str"},
    "reboot": {"type": "bool", "default": True},
    "reboot_timeout": {"type": "float", "default": 600.0},
    "site_failed": {"type": "str", "default": ""},
    "only": {"type": "list", "elements": "str"},
}


def secret_resolver(templar: Any) -> Callable[[str], Any]:
    def resolve(variable: str) -> Any:
        try:
            return templar.resolve_variable_expression(variable)
        except Exception:  # undefined: named by the caller's error
            raise KeyError(variable) from None

    return resolve


def run_config(
    args: dict[str, Any],
    task_vars: dict[str, Any],
    templar: Any,
    *,
    role: str,
    check: bool,
    diff: bool,
) -> dict[str, Any]:
    """The body of ``vc_endpoint_config`` / ``vc_switch_config``: an Ansible result dict."""
    from . import apply  # the drivers load only when a device is touched

    host = str(task_vars["inventory_hostname"])
    if role != str(task_vars.get("vc_role", role)):
        return {"failed": True, "msg": f"{host} is a {task_vars.get('vc_role')}, not a {role}"}
    run_dir = task_vars.get("vc_run_dir")
    if not run_dir:
        return {
            "failed": True,
            "msg": "no standard for this run: the vcprov.network.vc_standard task must run "
            "first (run_once; playbooks/site.yml does)",
        }
    if args.get("site_failed"):
        return {
            "failed": True,
            "changed": False,
            "msg": f"not applied: this site's {args['site_failed']} change failed (a site is "
            "one change set)",
        }
    try:
        desired, _secrets = desired_of(str(run_dir), host, secret_resolver(templar))
    except InvalidStandard:
        return {"failed": True, "msg": f"{host}: no desired state in {run_dir} (not in the play?)"}
    except KeyError as exc:
        return {
            "failed": True,
            "msg": f"{host}: the standard names the vaulted variable {exc.args[0]}, which "
            "Ansible does not define (missing vault file or --vault-password-file?)",
        }
    outcome = apply.apply_device(
        target_of(args, host, role),
        desired,
        check=check,
        state=state_dir_of(task_vars),
        reboot=bool(args.get("reboot", True)),
        reboot_timeout=float(args.get("reboot_timeout") or 600.0),
        only=None if args.get("only") is None else set(args["only"]),
    )
    result = outcome.as_dict()
    result.pop("diff")
    if diff and outcome.diff:
        result["diff"] = outcome.diff
    if outcome.unreachable:
        result["unreachable"] = True
        result.pop("failed")
    return result


def run_site_guard(args: dict[str, Any], task_vars: dict[str, Any], check: bool) -> dict[str, Any]:
    """Roll back this device's change when the other device of its site failed."""
    from . import apply

    host = str(task_vars["inventory_hostname"])
    partner = str(args.get("partner") or "")
    own = args.get("result") or {}
    if not args.get("partner_failed"):
        return {"changed": False, "msg": "the site's change set succeeded"}
    if check or not own.get("changed") or not own.get("snapshot"):
        return {
            "failed": True,
            "changed": False,
            "msg": f"{partner} failed; {host} had nothing applied in this run",
        }
    role = str(task_vars.get("vc_role", "endpoint"))
    problem = apply.restore_device(target_of(args, host, role), str(own["snapshot"]))
    if problem:
        return {
            "failed": True,
            "changed": True,
            "msg": f"{partner} failed and restoring {host} failed too ({problem}); "
            f"snapshot {own['snapshot']}",
        }
    return {
        "failed": True,
        "changed": True,
        "restored": True,
        "msg": f"{partner} failed, so {host}'s change of this run was rolled back (a site is "
        f"one change set); snapshot {own['snapshot']}",
    }


def run_check(args: dict[str, Any], task_vars: dict[str, Any], templar: Any) -> dict[str, Any]:
    """The body of ``vc_check``: read one device, compare, write its result for the report."""
    from . import check

    host = str(task_vars["inventory_hostname"])
    role = str(task_vars.get("vc_role", "endpoint"))
    run_dir = task_vars.get("vc_run_dir")
    if not run_dir:
        return {"failed": True, "msg": "no standard for this run: run vc_standard first"}
    try:
        desired, _ = desired_of(str(run_dir), host, secret_resolver(templar))
    except (InvalidStandard, KeyError) as exc:
        return {"failed": True, "msg": f"{host}: no desired state ({exc})"}
    result = check.check_device(target_of(args, host, role), desired)
    folder = Path(str(run_dir)) / "check"
    folder.mkdir(exist_ok=True)
    tmp = folder / f".{host}.json"
    tmp.write_text(json.dumps(result, ensure_ascii=False, default=str), encoding="utf-8")
    tmp.replace(folder / f"{host}.json")
    n = len(result["findings"])
    return {
        "changed": False,
        "status": result["status"],
        "findings": result["findings"],
        "error": result["error"],
        "msg": result["error"] or (f"{n} finding(s)" if n else "compliant"),
    }


# --- one task for every device: the check at scale --------------------------------------

FAN_OUT_WORKERS = 64


def _own_or_ansible(host: Any, name: str, templar: Any, cache: dict[str, Any]) -> Any:
    """A variable as the host's own files give it (readable: the lab, plain files), else
    as Ansible resolves it (vaulted files; cached: vault variables are group-level)."""
    from .inventory import LOCKED

    value = host.get(name)
    if value is None or value is LOCKED or (isinstance(value, str) and "{{" in value):
        if name not in cache:
            cache[name] = templar.resolve_variable_expression(name)
        return cache[name]
    return value


def _credential(host: Any, var: str, templar: Any, cache: dict[str, Any]) -> str:
    """A host's credential variable: its own value, or a ``{{ vaulted_variable }}``
    reference resolved by Ansible (cached: group-level vault variables are shared)."""
    from .inventory import _BARE_REFERENCE, LOCKED

    raw = host.get(var)
    if isinstance(raw, str) and (m := _BARE_REFERENCE.match(raw)):
        name = m.group(1)
        value = host.get(name)
        if value is None or value is LOCKED or (isinstance(value, str) and "{{" in value):
            if name not in cache:
                cache[name] = templar.resolve_variable_expression(name)
            return str(cache[name])
        return str(value)
    if raw is LOCKED or raw is None:
        if var not in cache:
            cache[var] = templar.resolve_variable_expression(var)
        return str(cache[var])
    return str(raw)


def run_check_all(task_vars: dict[str, Any], templar: Any, workers: int) -> dict[str, Any]:
    """The body of ``vc_check_all``: every device of the play read in parallel threads of
    this one worker (no fork per device), one result per device in ``results`` and in the
    run directory for the report."""
    from concurrent.futures import ThreadPoolExecutor

    from . import check

    run_dir = task_vars.get("vc_run_dir")
    if not run_dir:
        return {"failed": True, "msg": "no standard for this run: run vc_standard first"}
    names = [str(n) for n in task_vars.get("ansible_play_hosts_all") or []]
    inv = hosts.load_inventory(task_vars.get("vc_lab") or None, _inventory_dir(task_vars))
    cache: dict[str, Any] = {}
    jobs: list[tuple[str, Target | None, dict[str, Any] | str]] = []
    for name in names:
        try:
            dev = hosts.device_of(inv, name)
            dev.target.username = _credential(inv.hosts[name], "vc_username", templar, cache)
            dev.target.password = _credential(inv.hosts[name], "vc_password", templar, cache)
            host = inv.hosts[name]

            def secret(ref: str, h: Any = host) -> Any:
                return _own_or_ansible(h, ref, templar, cache)

            desired, _ = desired_of(str(run_dir), name, secret)
            jobs.append((name, dev.target, desired))
        except (KeyError, InvalidStandard, Exception) as exc:  # named in its own result
            jobs.append((name, None, f"{exc.__class__.__name__}: {exc}"))

    folder = Path(str(run_dir)) / "check"
    folder.mkdir(exist_ok=True)

    def one(job: tuple[str, Target | None, dict[str, Any] | str]) -> dict[str, Any]:
        name, target, desired = job
        if target is None or isinstance(desired, str):
            result = {"name": name, "status": "error", "findings": [], "error": str(desired)}
        else:
            result = check.check_device(target, desired)
        tmp = folder / f".{name}.json"
        tmp.write_text(json.dumps(result, ensure_ascii=False, default=str), encoding="utf-8")
        tmp.replace(folder / f"{name}.json")
        return {
            "host": name,
            "status": result["status"],
            "findings": result["findings"],
            "error": result["error"],
        }

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = list(pool.map(one, jobs))
    counts: dict[str, int] = {}
    for r in results:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return {
        "changed": False,
        "results": results,
        "summary": counts,
        "msg": ", ".join(f"{n} {s}" for s, n in sorted(counts.items())),
    }


# --- firmware: the rollout and the rollback as Ansible tasks -----------------------------

# Where the packages come from and how a call is waited for: vc_firmware and
# vc_firmware_rollback alike (the options of `vcprov upgrade|rollback`).
FIRMWARE_SPEC: dict[str, Any] = {
    "call_wait": {"type": "float"},
    "catalog": {"type": "path"},
    "serve": {"type": "str"},
    "serve_url": {"type": "str"},
}


def run_firmware(
    command: str, args: dict[str, Any], task_vars: dict[str, Any], templar: Any, check: bool
) -> dict[str, Any]:
    """The body of ``vc_firmware`` (``command`` "upgrade") and ``vc_firmware_rollback``
    ("rollback"): the codecs of the play through the same code as ``vcprov upgrade`` /
    ``vcprov rollback`` (rings, budgets, journal, package server, health gate, automatic
    rollback), with the credentials Ansible resolves (vault included).  One result per
    codec in ``devices``; the printed progress in ``stdout_lines``."""
    import contextlib
    import io
    import tempfile

    from . import firmware_cli

    names = [str(n) for n in task_vars.get("ansible_play_hosts_all") or []]
    lab = task_vars.get("vc_lab") or None
    inv = hosts.load_inventory(lab, _inventory_dir(task_vars))
    cache: dict[str, Any] = {}
    devices = []
    for name in names:
        dev = hosts.device_of(inv, name)
        dev.target.username = _credential(inv.hosts[name], "vc_username", templar, cache)
        dev.target.password = _credential(inv.hosts[name], "vc_password", templar, cache)
        devices.append(dev)
    argv = [command, *(["--lab", str(lab)] if lab else ["-i", _inventory_dir(task_vars)])]
    if command == "upgrade":
        argv += ["--to", str(args.get("to") or "target")]
        if args.get("ring"):
            argv += ["--ring", str(args["ring"])]
        if args.get("now"):
            argv.append("--now")
        if args.get("soak") is not None:
            argv += ["--soak", str(float(args["soak"]))]
    else:
        argv += ["--limit", ",".join(names) or "all"]
        if args.get("snapshot"):
            argv += ["--to", str(args["snapshot"])]
    if args.get("call_wait") is not None:
        argv += ["--call-wait", str(float(args["call_wait"]))]
    for key, flag in (("catalog", "--catalog"), ("serve", "--serve"), ("serve_url", "--serve-url")):
        if args.get(key):
            argv += [flag, str(args[key])]
    if check:
        argv.append("--check")
    with tempfile.TemporaryDirectory(prefix="vcprov-fw-") as tmp:
        out = Path(tmp) / "result.json"
        ns = firmware_cli.parse([*argv, "--json", str(out)])
        ns.devices = devices
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            try:
                code = int(ns.func(ns))
            except ValueError as exc:
                print(f"vcprov {command}: {exc}")
                code = 1
        doc: dict[str, Any] = json.loads(out.read_text("utf-8")) if out.exists() else {}
    lines = printed.getvalue().splitlines()
    rows = doc.get("devices", [])
    moved = {"upgraded", "rolled-back"}
    result: dict[str, Any] = {
        "changed": not check and any(r.get("result") in moved for r in rows),
        "rc": code,
        "devices": rows,
        "halted": bool(doc.get("halted", False)),
        "stdout_lines": lines,
        "msg": next((ln for ln in reversed(lines) if ln.startswith(f"vcprov {command}")), ""),
    }
    if doc.get("standard_disagreements"):
        result["standard_disagreements"] = doc["standard_disagreements"]
    if code != 0:
        result["failed"] = True
        result["msg"] = result["msg"] or f"vcprov {command} exited {code}"
    return result


# --- facts: what a device is and holds, read-only ------------------------------------------


def run_facts(args: dict[str, Any], task_vars: dict[str, Any], role: str) -> dict[str, Any]:
    """The body of ``vc_endpoint_facts`` / ``vc_switch_facts``: identity, every setting the
    family maps (neutral names; secrets never shown), and a codec's registrations.  Reads
    only."""
    from .devices import driver_for
    from .devices.base import UNREADABLE, DeviceError, Endpoint, Switch, Unreachable
    from .standard import SETTINGS

    host = str(task_vars["inventory_hostname"])
    target = target_of(args, host, role)
    try:
        drv = driver_for(target)
        with drv:
            f = drv.facts()
            identity = {
                "family": f.family, "vendor": f.vendor, "model": f.model, "serial": f.serial,
                "version": f.version, "system_name": f.system_name,
            }  # fmt: skip
            facts: dict[str, Any] = {"vc_device": identity}
            if isinstance(drv, Endpoint):
                names = [s for s in drv.keymap() if not getattr(SETTINGS.get(s), "secret", False)]
                values = drv.read(names)
                st = drv.status()
                facts["vc_status"] = {
                    "sip_registered": st.sip_registered,
                    "h323_registered": st.h323_registered,
                    "in_call": st.in_call,
                    "items": st.items,
                }
            else:
                assert isinstance(drv, Switch)
                values = drv.actual()
            facts["vc_settings"] = {
                k: ("<unreadable>" if v is UNREADABLE else v)
                for k, v in sorted(values.items())
                if not getattr(SETTINGS.get(k), "secret", False)
            }
    except Unreachable as exc:
        return {"unreachable": True, "msg": f"{host}: unreachable: {exc.message}"}
    except DeviceError as exc:
        return {"failed": True, "msg": f"{host}: {exc.kind}: {exc.message}"}
    return {"changed": False, "ansible_facts": facts}
