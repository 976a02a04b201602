"""The ``vcprov`` command line.

Exit codes: 0 success, 1 bad input or a failed command, 2 and 4 as each command documents.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from . import __version__
from .lab import manage
from .lab.base import FAULT_KINDS


def _state(args: argparse.Namespace) -> Path:
    return Path(args.state)


def cmd_lab_up(args: argparse.Namespace) -> int:
    fleet_given = (
        any(v is not None for v in (args.sites, args.seed, args.net))
        or bool(args.factory)
        or bool(args.no_deviations)
        or bool(args.vendor_defaults)
    )
    settings = manage.LabSettings(
        sites=args.sites if args.sites is not None else 31,
        seed=args.seed if args.seed is not None else 0,
        net=args.net if args.net is not None else manage.fleet.DEFAULT_NET,
        factory=bool(args.factory),
        time_scale=args.time_scale,
        deviations=not args.no_deviations,
        vendor_defaults=bool(args.vendor_defaults),
    )
    t0 = time.monotonic()
    info = manage.up(_state(args), settings, fleet_given=fleet_given, timeout=args.timeout)
    elapsed = time.monotonic() - t0
    doc = manage.read_lab(_state(args))
    n = len(doc["devices"])
    sites = len({d["site"] for d in doc["devices"]})
    print(
        f"lab up: {sites} sites, {n} devices answering in {elapsed:.1f} s "
        f"(state {_state(args)}, time scale {doc['settings']['time_scale']}, pid {info['pid']})"
    )
    return 0


def cmd_lab_down(args: argparse.Namespace) -> int:
    if manage.down(_state(args)):
        print(f"lab down ({_state(args)})")
    else:
        print(f"no lab running in {_state(args)}")
    return 0


def _status_rows(devices: dict[str, dict[str, Any]], doc: dict[str, Any]) -> list[list[str]]:
    rows = []
    for spec in doc["devices"]:
        live = devices.get(spec["name"], {})
        reg = ""
        if spec["role"] == "endpoint":
            reg = (
                "/".join(
                    p
                    for p, ok in (
                        ("SIP", live.get("sip_registered")),
                        ("H323", live.get("h323_registered")),
                    )
                    if ok
                )
                or "-"
            )
        rows.append(
            [
                spec["site"],
                spec["name"],
                spec["family"],
                f"{spec['host']}:{spec['port']}",
                str(live.get("power", "?")),
                str(live.get("version", "?")),
                reg,
                "call" if live.get("in_call") else "",
                str(live.get("writes", "")),
                ",".join(live.get("faults", [])),
            ]
        )
    return rows


def print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)
    ]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def cmd_lab_status(args: argparse.Namespace) -> int:
    state = _state(args)
    doc = manage.read_lab(state)
    try:
        status = manage.LabClient(state).status()
    except manage.LabNotRunning as exc:
        print(str(exc), file=sys.stderr)
        return 3
    devices = {d["name"]: d for d in status["devices"]}
    if args.json:
        json.dump({"running": True, "devices": list(devices.values())}, sys.stdout, indent=1)
        print()
        return 0
    header = [
        "site",
        "device",
        "family",
        "address",
        "power",
        "version",
        "reg",
        "",
        "writes",
        "faults",
    ]
    print_table(header, _status_rows(devices, doc))
    up_count = sum(1 for d in devices.values() if d["power"] == "up")
    print(f"{up_count}/{len(devices)} devices up; time scale {status['time_scale']}")
    return 0


def cmd_lab_fault(args: argparse.Namespace) -> int:
    client = manage.LabClient(_state(args))
    params: dict[str, Any] = {}
    for item in args.param or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise manage.LabControlError(f"--param {item!r}: expected KEY=VALUE")
        params[key] = json.loads(value) if value[:1].isdigit() else value
    if args.clear:
        client.clear(args.device, args.kind)
        print(f"{args.device}: fault {args.kind} cleared")
    else:
        client.fault(args.device, args.kind, **params)
        print(f"{args.device}: fault {args.kind} injected")
    return 0


def cmd_lab_reset(args: argparse.Namespace) -> int:
    dev = manage.LabClient(_state(args)).reset(args.device, factory=args.factory)
    what = "factory settings, factory credentials" if args.factory else "the lab's standard"
    print(f"{args.device}: reset to {what}, version {dev['version']}")
    return 0


def cmd_lab_power_cycle(args: argparse.Namespace) -> int:
    manage.LabClient(_state(args)).power_cycle(args.device)
    print(f"{args.device}: power-cycled (booting)")
    return 0


def cmd_lab_call(args: argparse.Namespace) -> int:
    client = manage.LabClient(_state(args))
    if args.hangup:
        client.hangup(args.device)
        print(f"{args.device}: calls ended")
        return 0
    call = client.dial(args.device, args.address, args.rate)
    print(f"{args.device} -> {args.address}: {call['state']} {call.get('reason', '')}".rstrip())
    return 0 if call["state"] == "CONNECTED" else 1


def cmd_standard_show(args: argparse.Namespace) -> int:
    from . import standard

    argv = [args.host, "-i", args.inventory]
    if args.lab:
        argv += ["--lab", args.lab]
    if args.vault_password_file:
        argv += ["--vault-password-file", args.vault_password_file]
    return standard.main_show(argv)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vcprov",
        description="Configuration and provisioning automation for the videoconference network.",
    )
    parser.add_argument("--version", action="version", version=f"vcprov {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    std = sub.add_parser("standard", help="the province standard as it applies to a device")
    std_sub = std.add_subparsers(dest="standard_command", required=True)
    p = std_sub.add_parser(
        "show", help="effective standard of a device, with where each value comes from"
    )
    p.add_argument("host")
    p.add_argument("-i", "--inventory", default="inventory/thanhhoa")
    p.add_argument("--lab", help="a lab state directory: the lab's addresses and hub servers")
    p.add_argument("--vault-password-file")
    p.set_defaults(func=cmd_standard_show)

    lab = sub.add_parser("lab", help="the simulated network (HTTPS and SSH peers on loopback)")
    lab_sub = lab.add_subparsers(dest="lab_command", required=True)

    def state_opt(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--state", default=str(manage.DEFAULT_STATE), help="lab state directory (default .lab)"
        )

    p = lab_sub.add_parser("up", help="start the lab in the background")
    state_opt(p)
    p.add_argument("--sites", type=int, help="31 real sites (default) or N sites (up to 2000)")
    p.add_argument("--seed", type=int, help="seed of passwords and deviations (default 0)")
    p.add_argument("--net", type=int, help="second octet of the lab's 127.N.0.0/16 (default 31)")
    p.add_argument(
        "--time-scale", type=float, default=1.0, help="multiplies every device wait (default 1)"
    )
    p.add_argument(
        "--factory", action="store_true", help="all devices at factory state, older firmware"
    )
    p.add_argument(
        "--no-deviations", action="store_true", help="every device starts on the standard"
    )
    p.add_argument(
        "--vendor-defaults",
        action="store_true",
        help="every setting at the vendor's default (vcprov's account and current firmware set)",
    )
    p.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for the devices")
    p.set_defaults(func=cmd_lab_up)

    p = lab_sub.add_parser("down", help="stop the lab (device state is kept)")
    state_opt(p)
    p.set_defaults(func=cmd_lab_down)

    p = lab_sub.add_parser("status", help="every device: address, power, version, counters")
    state_opt(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_lab_status)

    p = lab_sub.add_parser("fault", help="inject (or --clear) a fault on a device")
    state_opt(p)
    p.add_argument("device")
    p.add_argument("kind", choices=[*FAULT_KINDS, "all"])
    p.add_argument("--clear", action="store_true")
    p.add_argument("--param", action="append", help="KEY=VALUE, e.g. delay=5 or after=3")
    p.set_defaults(func=cmd_lab_fault)

    p = lab_sub.add_parser("reset", help="back to the lab's standard, or --factory")
    state_opt(p)
    p.add_argument("device")
    p.add_argument("--factory", action="store_true")
    p.set_defaults(func=cmd_lab_reset)

    p = lab_sub.add_parser("power-cycle", help="pull the power and put it back")
    state_opt(p)
    p.add_argument("device")
    p.set_defaults(func=cmd_lab_power_cycle)

    p = lab_sub.add_parser("call", help="place a call from a codec (or --hangup)")
    state_opt(p)
    p.add_argument("device")
    p.add_argument("address", nargs="?", default="")
    p.add_argument("--rate", type=int, default=2048)
    p.add_argument("--hangup", action="store_true")
    p.set_defaults(func=cmd_lab_call)

    from . import apply_cli, check_cli, firmware_cli, onboard_cli

    apply_cli.register(sub)
    check_cli.register(sub)
    firmware_cli.register(sub)
    onboard_cli.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except (manage.LabControlError, manage.LabNotRunning, ValueError) as exc:
        print(f"vcprov: {exc}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
