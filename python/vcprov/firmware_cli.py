"""``vcprov firmware list``, ``vcprov upgrade``, ``vcprov rollback`` (docs/firmware.md).

Exit codes of ``upgrade``: 0 every codec in scope ended on its target; 1 bad input
(catalogue, inventory, a package whose checksum is wrong...: nothing was touched); 2 some
codec did not end on the target (deferred, rolled back, failed); 3 the rollout halted (a
ring's failure budget was exceeded, or no device of a ring reached the target): later rings
were not touched; 4 the maintenance window is closed (``--now`` runs anyway); 130
interrupted (``--resume`` continues).

``firmware list``: 0 every entry usable, 2 some entry unusable (no checksum, no package
file, a wrong checksum with ``--verify``), 1 the catalogue itself is invalid.
``rollback``: 0 every device rolled back, 2 some not, 1 bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from . import firmware, hosts, snapshots
from .devices import driver_for
from .devices.base import DeviceError, Endpoint
from .firmware_catalog import Catalogue, InvalidCatalogue, file_sha512, for_run
from .inventory import InvalidStandard
from .pkgserver import PackageError, PackageServer

# --- shared -------------------------------------------------------------------------------


def _add_target(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lab", help="a lab state directory (vcprov lab up --state DIR)")
    p.add_argument(
        "-i",
        "--inventory",
        help="an inventory directory (default inventory/thanhhoa); with --lab: the "
        "group_vars (ring settings) the lab's devices get",
    )
    p.add_argument(
        "--catalog",
        help="a firmware.yml to use instead of the inventory's (or the lab's lab.json)",
    )
    p.add_argument("--vault-password-file", help="passed to Ansible (never needed for a lab)")


def _catalogue(args: argparse.Namespace) -> Catalogue:
    return for_run(args.lab, None if args.lab else args.inventory, args.catalog)


def _time_scale(args: argparse.Namespace) -> float:
    if not args.lab:
        return 1.0
    return float(hosts.lab_doc(args.lab).get("settings", {}).get("time_scale", 1.0))


def _state(args: argparse.Namespace) -> Path:
    return hosts.state_dir(args.lab, None if args.lab else args.inventory)


def _errors(title: str, exc: InvalidStandard) -> int:
    print(title, file=sys.stderr)
    for err in exc.errors:
        print(f"  {err}", file=sys.stderr)
    return 1


def _server(args: argparse.Namespace, cat: Catalogue) -> PackageServer:
    """Where the codecs fetch their packages: --serve/--serve-url, else the catalogue's
    ``server:``, else (a lab) 127.0.0.1 on a free port."""
    conf = dict(cat.server)
    if args.serve:
        addr, _, port = (
            args.serve.rpartition(":") if args.serve.count(":") == 1 else (args.serve, "", "")
        )
        conf["bind"] = addr or args.serve
        conf["port"] = int(port) if port else 0
    if args.serve_url:
        conf["url"] = args.serve_url
    if not conf.get("bind"):
        if args.lab:
            conf["bind"] = "127.0.0.1"
        else:
            raise ValueError(
                "no address to serve the packages on: set server.bind (and server.url) in "
                "firmware.yml or give --serve ADDRESS[:PORT]"
            )
    if conf["bind"] in ("0.0.0.0", "::") and not conf.get("url"):
        raise ValueError(
            f"serving on {conf['bind']}: say which URL the codecs reach (server.url or --serve-url)"
        )
    if bool(args.tls_cert) != bool(args.tls_key):
        raise ValueError("--tls-cert and --tls-key go together")
    return PackageServer(
        str(conf["bind"]),
        int(conf.get("port") or 0),
        conf.get("url"),
        certfile=args.tls_cert,
        keyfile=args.tls_key,
    )


def _add_server(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--serve",
        metavar="ADDRESS[:PORT]",
        help="address the package server binds (default: firmware.yml server.bind; a lab: "
        "127.0.0.1 on a free port)",
    )
    p.add_argument("--serve-url", help="base URL the codecs are given, when not http://ADDR:PORT")
    p.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM) ...")
    p.add_argument("--tls-key", help="... and this key")


class Progress:
    """One line per transition, per ring and device, with the time since the start."""

    def __init__(self, width: int = 20, stream: Any = None):
        self.t0 = time.monotonic()
        self.width = width
        self.stream = stream or sys.stdout
        self.lock = threading.Lock()

    def __call__(self, rec: dict[str, Any]) -> None:
        el = time.monotonic() - self.t0
        event = rec.get("event")
        if event == "ring":
            line = f"{el:7.1f}s  == {rec.get('ring')} {rec.get('status')}: {rec.get('detail', '')}"
        elif event == "step":
            line = (
                f"{el:7.1f}s  {rec.get('ring', ''):<15} {rec.get('device', ''):<{self.width}}  "
                f"{rec.get('step', ''):<15} {rec.get('status', ''):<8} {rec.get('detail', '')}"
            )
        elif event == "result":
            line = (
                f"{el:7.1f}s  {rec.get('ring', ''):<15} {rec.get('device', ''):<{self.width}}  "
                f"{'=> ' + str(rec.get('result', '')).upper():<24} {rec.get('message', '')}"
            )
        elif event == "interrupt":
            line = f"{el:7.1f}s  !! interrupted: {rec.get('detail', '')}"
        else:
            return
        with self.lock:
            print(line.rstrip(), file=self.stream, flush=True)


# --- firmware list ------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    try:
        cat = _catalogue(args)
    except InvalidStandard as exc:
        return _errors("vcprov firmware list: cannot read the catalogue:", exc)
    structural = cat.structural_errors()
    if structural and not cat.entries:
        return _errors(
            f"vcprov firmware list: {cat.file} is invalid:", InvalidCatalogue(structural)
        )
    rows = []
    hashes: dict[Path, str] = {}
    for e in cat.entries:
        status = "ok" if e.usable else "; ".join(e.problems)
        if args.verify and e.usable and e.package is not None:
            if e.package not in hashes:
                hashes[e.package] = file_sha512(e.package)
            if hashes[e.package] != e.sha512:
                status = "sha512: the package's checksum differs from the catalogue's"
        row = e.as_dict()
        row["status"] = status
        rows.append(row)
    if args.json:
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=1)
        print()
    else:
        header = ["family", "model", "version", "target", "from", "downgrade", "package", "status"]
        table = [
            [
                r["family"],
                r["model"],
                r["version"],
                "*" if r["target"] else "",
                ",".join(r["from"]) or "-",
                "yes" if r["downgrade"] else "no",
                Path(r["package"]).name if r["package"] else "-",
                r["status"] if r["status"] == "ok" else "UNUSABLE: " + _short(r["status"]),
            ]
            for r in rows
        ]
        _table(header, table)
        bad = sum(r["status"] != "ok" for r in rows)
        verified = " (checksums verified)" if args.verify else ""
        print(f"{len(rows)} entries in {cat.file}, {bad} unusable{verified}")
    if structural:
        return _errors(
            f"vcprov firmware list: {cat.file} is invalid:", InvalidCatalogue(structural)
        )
    return 0 if all(r["status"] == "ok" for r in rows) else 2


def _short(status: str) -> str:
    """``package: file not found: /srv/...; sha512: missing: ...`` -> ``package file not
    found, sha512 missing`` (the full text is in --json and in vcprov upgrade's errors)."""
    return ", ".join(
        " ".join(part.split(":")[:2]).replace("  ", " ").strip() for part in status.split("; ")
    )


def _table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


# --- vcprov upgrade -----------------------------------------------------------------------


def _load_devices(args: argparse.Namespace, limit: str | None) -> list[hosts.Device]:
    given = getattr(args, "devices", None)  # the Ansible modules: credentials from Ansible
    if given is not None:
        return hosts.select(list(given), limit)
    inventory = args.inventory
    devices = hosts.load_devices(args.lab, inventory, args.vault_password_file)
    return hosts.select(devices, limit)


def _read_versions(devices: list[hosts.Device]) -> dict[str, str]:
    """Each codec's running version, read only (``--check``): version or 'unreachable: ...'."""

    def one(dev: hosts.Device) -> tuple[str, str]:
        try:
            drv = driver_for(dev.target)
            assert isinstance(drv, Endpoint)
            with drv:
                return dev.name, drv.facts().version
        except DeviceError as exc:
            return dev.name, f"{exc.kind}: {exc.message}"

    if not devices:
        return {}
    with ThreadPoolExecutor(max_workers=min(16, len(devices))) as pool:
        return dict(pool.map(one, devices))


def _print_plan(
    plan: firmware.Plan, cat: Catalogue, scale: float, versions: dict[str, str]
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    total = 0.0
    for ring in plan.rings:
        pol = ring.policy
        print(
            f"{pol.name}: {len(ring.devices)} codec(s), failure budget "
            f"{pol.allowed(len(ring.devices))}, soak {pol.soak:.0f} s, {pol.parallel} at a "
            f"time, window {pol.window}"
        )
        longest: list[float] = []
        for n, (dev, to) in enumerate(ring.devices, 1):
            current = versions.get(dev.name, "?")
            entry = cat.entry(dev.family, dev.model, to)
            package = entry.package.name if entry and entry.package else "-"
            try:
                path = cat.upgrade_path(dev.family, dev.model, current, to)
                problem = "" if path else "already on the target: skipped"
                if path:
                    problem = cat.rollback_problem(dev.family, dev.model, current)
                    problem = f"blocked: no way back ({problem})" if problem else ""
            except ValueError as exc:
                path, problem = [], f"blocked: {exc}"
            seconds = cat.estimate(dev.family) * len(path)
            longest.append(seconds)
            action = " -> ".join([current, *path]) if path else current
            print(
                f"  {n:2}. {dev.name:<22} {dev.family} {dev.model}: {action}  package "
                f"{package}  ~{seconds:.0f} s{'  ' + problem if problem else ''}"
            )
            rows.append(
                {
                    "name": dev.name,
                    "ring": pol.name,
                    "from": current,
                    "to": to,
                    "result": "not-started",
                    "plan": {"path": path, "package": package, "estimate_seconds": seconds,
                             "problem": problem},
                    "steps": [],
                }
            )  # fmt: skip
        waves = sorted(longest, reverse=True)[:: max(1, pol.parallel)]
        total += sum(waves) + pol.soak
    for item in plan.out_of_scope:
        print(f"  not in the rollout: {item['name']}: {item['reason']}")
    print(
        f"estimated {total:.0f} s of device time with the soaks"
        + (f" ({total * scale:.1f} s at the lab's time scale {scale})" if scale != 1 else "")
    )
    return rows


def cmd_upgrade(args: argparse.Namespace) -> int:
    state = _state(args)
    resume: firmware.ResumeInfo | None = None
    journal_path: Path | None = None
    to, limit, ring, soak, call_wait = args.to, args.limit, args.ring, args.soak, args.call_wait
    if args.resume:
        journal_path = firmware.latest_journal(state)
        if journal_path is None:
            print(f"vcprov upgrade --resume: no rollout journal in {state}", file=sys.stderr)
            return 1
        resume = firmware.resume_info(journal_path)
        params = resume.params
        if to and to != params.get("to"):
            print(
                f"vcprov upgrade --resume: the rollout being resumed goes to "
                f"{params.get('to')!r}, not {to!r}",
                file=sys.stderr,
            )
            return 1
        to = params.get("to")
        limit = params.get("limit") if limit is None else limit
        ring = params.get("ring") if ring is None else ring
        soak = params.get("soak") if soak is None else soak
        call_wait = params.get("call_wait") if call_wait is None else call_wait
    if not to:
        print("vcprov upgrade: --to VERSION (or 'target') is needed", file=sys.stderr)
        return 1
    try:
        cat = _catalogue(args)
        devices = _load_devices(args, limit)
        plan = firmware.plan_rollout(devices, cat, to, ring, soak)
        scale = _time_scale(args)
    except InvalidStandard as exc:
        return _errors("vcprov upgrade: invalid input, no device was touched:", exc)
    except ValueError as exc:
        print(f"vcprov upgrade: {exc}; no device was touched", file=sys.stderr)
        return 1
    codecs = [d for r in plan.rings for d, _ in r.devices]
    try:
        inv = hosts.load_inventory(args.lab, args.inventory, args.vault_password_file)
        notes = firmware.standard_disagreements(inv, [p for r in plan.rings for p in r.devices])
    except InvalidStandard:
        notes = []  # the devices loaded above from the same inventory: not reached
    if args.check:
        print(f"vcprov upgrade --check: to {to} (nothing is written to any device)")
        for note in notes:
            print(f"note: {note}")
        for family, model in plan.pairs:  # the checksums, as a rollout checks them
            for e in cat.versions(family, model):
                if e.package is not None and file_sha512(e.package) != e.sha512:
                    print(f"vcprov upgrade: {e.package}: SHA-512 differs from {cat.file}",
                          file=sys.stderr)  # fmt: skip
                    return 1
        rows = _print_plan(plan, cat, scale, _read_versions(codecs))
        if args.json:
            _write_json(args.json, {"check": True, "halted": False, "devices": rows,
                                    "out_of_scope": plan.out_of_scope,
                                    "standard_disagreements": notes})  # fmt: skip
        return 0
    if not codecs:
        print("vcprov upgrade: no codec in this rollout", file=sys.stderr)
        return 1
    for note in notes:
        print(f"note: {note}")
    policy = firmware.Policy(time_scale=scale, ignore_window=bool(args.now))
    if call_wait is not None:
        policy.call_wait = call_wait
    try:
        server = _server(args, cat)
    except ValueError as exc:
        print(f"vcprov upgrade: {exc}; no device was touched", file=sys.stderr)
        return 1
    try:
        with firmware.exclusive(state), server:
            urls: dict[tuple[str, str, str], str] = {}
            for family, model in plan.pairs:
                for e in cat.versions(family, model):
                    urls[(family, model, e.version)] = server.offer(e)
            return _run(args, state, plan, cat, policy, urls, journal_path, resume,
                        {"to": to, "limit": limit, "ring": ring, "soak": soak,
                         "call_wait": call_wait}, notes)  # fmt: skip
    except firmware.Busy as exc:
        print(f"vcprov upgrade: {exc}", file=sys.stderr)
        return 1
    except PackageError as exc:
        print(f"vcprov upgrade: {exc}; no device was touched", file=sys.stderr)
        return 1


def _run(
    args: argparse.Namespace,
    state: Path,
    plan: firmware.Plan,
    cat: Catalogue,
    policy: firmware.Policy,
    urls: dict[tuple[str, str, str], str],
    journal_path: Path | None,
    resume: firmware.ResumeInfo | None,
    params: dict[str, Any],
    notes: list[str] | None = None,
) -> int:
    codecs = [d for r in plan.rings for d, _ in r.devices]
    if journal_path is None:
        run_id = firmware.new_run_id()
        journal_path = firmware.journal_dir(state) / f"{run_id}.jsonl"
    else:
        run_id = journal_path.stem
    journal = firmware.Journal(journal_path, run_id)
    journal.write({"event": "resume" if resume else "start", "params": params})
    progress = Progress(width=max(len(d.name) for d in codecs))
    ctx = firmware.Context(cat, urls, state, journal, policy, progress)
    verb = "resuming" if resume else "rollout"
    print(
        f"vcprov upgrade: {verb} {run_id} to {params['to']}: {len(codecs)} codec(s) in "
        f"{len(plan.rings)} ring(s); journal {journal_path}"
    )
    rollout = firmware.Rollout(plan.rings, ctx, resume)
    try:
        result = rollout.run()
    except KeyboardInterrupt:
        journal.write({"event": "end", "interrupted": True, "exit": 130})
        print("vcprov upgrade: abandoned (the journal has every device's last step; "
              "--resume continues)", file=sys.stderr)  # fmt: skip
        sys.stdout.flush()
        os._exit(130)  # the devices under way are not waited for
    result.out_of_scope = plan.out_of_scope
    code = result.exit_code()
    journal.write({"event": "end", "halted": result.halted, "exit": code})
    counts: dict[str, int] = {}
    for d in result.devices:
        counts[d.result] = counts.get(d.result, 0) + 1
    device_s = result.device_seconds()
    overhead = result.seconds - device_s
    print(
        "vcprov upgrade: "
        + ", ".join(f"{n} {k}" for k, n in counts.items())
        + f" in {result.seconds:.1f} s (devices installing/rebooting {device_s:.1f} s, "
        f"the rest {overhead:.1f} s)"
    )
    if result.halted:
        print(f"vcprov upgrade: HALTED: {result.halt_reason}")
    if result.window_closed:
        print(
            "vcprov upgrade: the maintenance window is closed: devices left not started "
            "(--now runs anyway; --resume in the next window)"
        )
    if result.interrupted:
        print("vcprov upgrade: interrupted; --resume continues")
    if args.json:
        _write_json(args.json, {**result.as_dict(), "standard_disagreements": notes or []})
    return code


def _write_json(path: str, doc: dict[str, Any]) -> None:
    Path(path).write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")


# --- vcprov rollback ----------------------------------------------------------------------


def cmd_rollback(args: argparse.Namespace) -> int:
    state = _state(args)
    try:
        cat = _catalogue(args)
        devices = _load_devices(args, args.limit)
        scale = _time_scale(args)
        server = _server(args, cat)
    except InvalidStandard as exc:
        return _errors("vcprov rollback: invalid input, no device was touched:", exc)
    except ValueError as exc:
        print(f"vcprov rollback: {exc}; no device was touched", file=sys.stderr)
        return 1
    codecs = [d for d in devices if d.role == "endpoint"]
    for d in devices:
        if d.role != "endpoint":
            print(f"  {d.name}: a switch: vcprov rolls back codec firmware only (skipped)")
    if not codecs:
        print("vcprov rollback: no codec in --limit", file=sys.stderr)
        return 1
    chosen: dict[str, Path] = {}
    for d in codecs:
        path = firmware.choose_snapshot(state, d.name, args.to)
        if path is None:
            what = f"no snapshot {args.to!r}" if args.to else "no snapshot"
            print(f"vcprov rollback: {d.name}: {what} in {state / 'snapshots' / d.name}",
                  file=sys.stderr)  # fmt: skip
            return 1
        chosen[d.name] = path
    if args.check:
        print("vcprov rollback --check: nothing is written to any device")
        rows = []
        for d in codecs:
            snap = snapshots.load(chosen[d.name])
            current = _read_versions([d]).get(d.name, "?")
            entry = cat.entry(d.family, d.model, snap.version)
            package = entry.package.name if entry and entry.package else "-"
            action = (
                f"{current} -> {snap.version} (package {package}), then its configuration"
                if current != snap.version
                else f"on {snap.version} already: its configuration only"
            )
            print(f"  {d.name}: {action} from {chosen[d.name].name}")
            rows.append({"name": d.name, "from": current, "to": snap.version,
                         "snapshot": chosen[d.name].name, "result": "not-started"})  # fmt: skip
        if args.json:
            _write_json(args.json, {"check": True, "devices": rows})
        return 0
    policy = firmware.Policy(time_scale=scale, ignore_window=True, call_wait=args.call_wait)
    run_id = firmware.new_run_id()
    journal = firmware.Journal(firmware.journal_dir(state) / "rollback" / f"{run_id}.jsonl", run_id)
    journal.write({"event": "start", "params": {"limit": args.limit, "to": args.to}})
    results: list[firmware.DeviceResult] = []
    try:
        with firmware.exclusive(state), server:
            urls: dict[tuple[str, str, str], str] = {}
            ctx = firmware.Context(cat, urls, state, journal, policy,
                                   Progress(width=max(len(d.name) for d in codecs)))  # fmt: skip
            for d in codecs:
                version = snapshots.load(chosen[d.name]).version
                entry = cat.entry(d.family, d.model, version)
                if entry is not None and entry.usable:
                    urls[(d.family, d.model, version)] = server.offer(entry)
                results.append(firmware.rollback_device(d, chosen[d.name], ctx))
    except firmware.Busy as exc:
        print(f"vcprov rollback: {exc}", file=sys.stderr)
        return 1
    except PackageError as exc:
        print(f"vcprov rollback: {exc}", file=sys.stderr)
        return 1
    journal.write({"event": "end"})
    ok = sum(r.result == "rolled-back" for r in results)
    print(f"vcprov rollback: {ok}/{len(results)} codec(s) rolled back")
    if args.json:
        _write_json(args.json, {"devices": [r.as_dict() for r in results]})
    return 0 if ok == len(results) else 2


# --- registration -------------------------------------------------------------------------


def register(sub: Any) -> None:
    """Add ``firmware`` (``list``), ``upgrade`` and ``rollback`` to the vcprov parser."""
    fw = sub.add_parser("firmware", help="the firmware catalogue (firmware.yml)")
    fw_sub = fw.add_subparsers(dest="firmware_command", required=True)
    p = fw_sub.add_parser("list", help="the versions the province accepts, per family and model")
    _add_target(p)
    p.add_argument("--json", action="store_true", help="the catalogue as JSON")
    p.add_argument("--verify", action="store_true", help="also check every package's SHA-512")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser(
        "upgrade", help="codec firmware in rings (canary first), health-gated, auto rollback"
    )
    _add_target(p)
    p.add_argument("--to", help="the version to install, several separated by commas, or "
                   "'target' (each family and model's catalogue target)")  # fmt: skip
    p.add_argument("--limit", help="an Ansible host pattern: names, groups, globs, !exclusions")
    p.add_argument("--ring", help="only this ring (ring_canary, ring1, ring2, ring_leadership)")
    p.add_argument("--check", action="store_true", help="print the plan; touch nothing")
    p.add_argument("--now", action="store_true", help="ignore the maintenance window")
    p.add_argument("--json", help="write the per-device results to this file")
    p.add_argument("--resume", action="store_true", help="continue the last rollout")
    p.add_argument(
        "--soak", type=float, help="soak seconds after every ring (device time; overrides "
        "vc_fw_soak_seconds)"
    )  # fmt: skip
    p.add_argument(
        "--call-wait", type=float, help="seconds (device time) to wait for a call to end "
        "before deferring a codec (default 1800)"
    )  # fmt: skip
    _add_server(p)
    p.set_defaults(func=cmd_upgrade)

    p = sub.add_parser("rollback", help="codecs back to a previous version and its snapshot")
    _add_target(p)
    p.add_argument("--limit", required=True, help="the codecs (an Ansible host pattern)")
    p.add_argument("--to", help="a snapshot (file name or path); default: the last one")
    p.add_argument("--check", action="store_true", help="say what it would do; touch nothing")
    p.add_argument("--json", help="write the per-device results to this file")
    p.add_argument(
        "--call-wait", type=float, default=0.0,
        help="seconds to wait for a call to end (default 0: a codec in a call is left)",
    )  # fmt: skip
    _add_server(p)
    p.set_defaults(func=cmd_rollback)


def parse(argv: list[str]) -> argparse.Namespace:
    """The arguments of ``vcprov upgrade|rollback|firmware ...`` as the command line has them."""
    parser = argparse.ArgumentParser(prog="vcprov")
    register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """``python -m vcprov.firmware_cli ...`` (the same commands as ``vcprov ...``)."""
    args = parse(sys.argv[1:] if argv is None else argv)
    try:
        code: int = args.func(args)
    except ValueError as exc:
        print(f"vcprov: {exc}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
