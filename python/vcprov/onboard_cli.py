"""``vcprov onboard``, ``vcprov site add``, ``vcprov inventory validate`` (issue 7), and the
onboarding demo (``python -m vcprov.onboard_cli demo``, ``make demo-onboard``).

``vcprov onboard DEVICE [--lab DIR | -i INVENTORY] [--report-dir DIR]``: exit 0 accepted
(report ``"result": "pass"``); 1 bad input, nothing touched (not in the inventory, not a
codec, a credential missing, the standard invalid); 2 onboarding failed (report written,
``"result": "fail"``, the failed step and why); 3 the box is not the one the site expects
(``IdentityMismatch``, nothing changed, report written).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

from . import hosts, onboard
from .inventory import InvalidStandard

EXIT_PASS, EXIT_INPUT, EXIT_FAIL, EXIT_WRONG_BOX = 0, 1, 2, 3


def _print_step(step: onboard.StepResult) -> None:
    n = [name for name, _ in onboard.STEPS].index(step.name) + 1
    print(
        f"  {n} {step.name:<10} {step.status:<9} {step.detail}  ({step.seconds:.1f} s)", flush=True
    )


def _print_test(test: onboard.TestResult) -> None:
    print(f"      {test.result:<7} {test.name:<24} {test.detail}", flush=True)


def cmd_onboard(args: argparse.Namespace) -> int:
    try:
        ctx = onboard.prepare(
            args.device,
            lab=args.lab,
            inventory=args.inventory,
            vault_password_file=args.vault_password_file,
        )
    except InvalidStandard as exc:
        print(
            f"vcprov onboard: {args.device}: the inventory is invalid, nothing was touched:",
            file=sys.stderr,
        )
        for err in exc.errors:
            print(f"  {err}", file=sys.stderr)
        return EXIT_INPUT
    except onboard.OnboardError as exc:
        print(f"vcprov onboard: {exc.name}: {exc.message}", file=sys.stderr)
        return EXIT_INPUT
    codec = ctx.codec
    print(
        f"vcprov onboard {codec.name}: {codec.site_name} ({codec.site}), {codec.family} "
        f"{codec.model}, switch port {ctx.switch.name if ctx.switch else '-'} "
        f"{codec.vars.get('vc_switch_port', '')}",
        flush=True,
    )

    def on_step(step: onboard.StepResult) -> None:
        if step.name == "acceptance":
            return  # printed after its tests
        _print_step(step)

    printed: list[str] = []

    def on_test(test: onboard.TestResult) -> None:
        if not printed:
            print("  6 acceptance tests:", flush=True)
        printed.append(test.name)
        _print_test(test)

    run = onboard.onboard(ctx, operator=args.operator, on_step=on_step, on_test=on_test)
    acceptance = run.steps["acceptance"]
    if acceptance.status != "not run":
        _print_step(acceptance)
    paths = onboard.write_report(run, args.report_dir)
    verdict = "PASS" if run.result == onboard.RESULT_PASS else "FAIL"
    where = f" at step {run.failed_step}" if run.failed_step else ""
    print(f"result: {verdict}{where} ({run.finished - run.started:.1f} s)")
    if run.result != onboard.RESULT_PASS:
        print(f"device left as: {run.device_state}")
    print(f"report: {paths['json']}")
    print(f"        {paths['html']}")
    if run.result == onboard.RESULT_PASS:
        return EXIT_PASS
    if isinstance(run.error, onboard.IdentityMismatch):
        return EXIT_WRONG_BOX
    return EXIT_FAIL


def cmd_site_add(args: argparse.Namespace) -> int:
    new = onboard.NewSite(
        site=args.site,
        name=args.name,
        codec_family=args.codec_family,
        codec_model=args.codec_model,
        codec_address=args.codec_address,
        codec_serial=args.codec_serial or "",
        e164=args.e164 or "",
        switch_family=args.switch_family,
        switch_model=args.switch_model,
        switch_address=args.switch_address,
        switch_port=args.switch_port or "",
        kind=args.kind,
        ring=args.ring,
    )
    inventory = args.inventory or hosts.default_inventory()
    try:
        written = onboard.add_site(inventory, new)
    except InvalidStandard as exc:
        print(
            f"vcprov site add: the edit would make {inventory} invalid; it was undone:",
            file=sys.stderr,
        )
        for err in exc.errors:
            print(f"  {err}", file=sys.stderr)
        return EXIT_INPUT
    except ValueError as exc:
        print(f"vcprov site add: {exc}", file=sys.stderr)
        return EXIT_INPUT
    print(
        f"site {new.site} added: {new.site}-codec ({new.codec_family} {new.codec_model}) on "
        f"{new.site}-sw {new.port} ({new.switch_family} {new.switch_model})"
    )
    for path in written:
        print(f"  wrote {path}")
    print(
        f"inventory {inventory}: valid.  Next: put the site's vaulted password in place, then "
        f"vcprov onboard {new.site}-codec -i {inventory}"
    )
    return EXIT_PASS


def cmd_inventory_validate(args: argparse.Namespace) -> int:
    try:
        errors, warnings, inv = onboard.inventory_problems(
            args.inventory, lab=args.lab, vault_password_file=args.vault_password_file
        )
    except InvalidStandard as exc:
        errors, warnings, inv = [str(e) for e in exc.errors], [], None
    for line in errors:
        print(f"error: {line}")
    for line in warnings:
        print(f"warning: {line}")
    what = args.lab or args.inventory or hosts.default_inventory()
    if inv is not None:
        sites = {str(h.get("vc_site")) for h in inv.hosts.values()}
        print(
            f"{what}: {len(inv.hosts)} hosts, {len(sites)} sites: "
            + ("valid" if not errors else f"{len(errors)} error(s)")
            + (f", {len(warnings)} warning(s)" if warnings else "")
        )
    return EXIT_INPUT if errors else EXIT_PASS


def register(sub: Any) -> None:
    p = sub.add_parser(
        "onboard",
        help="standardise a new codec install: factory state to an accepted site, with a report",
    )
    p.add_argument("device", help="the codec (e.g. ubnd-tinh-codec); its switch port comes along")
    p.add_argument("--lab", help="a lab state directory (vcprov lab up --state DIR)")
    p.add_argument(
        "-i",
        "--inventory",
        help="an inventory directory (default inventory/thanhhoa); with --lab: the standard "
        "(group_vars) the lab's devices are held to",
    )
    p.add_argument(
        "--report-dir", help="where the JSON and HTML report go (default <state>/onboarding/)"
    )
    p.add_argument(
        "--operator", help="who runs the onboarding (default $VCPROV_OPERATOR, else the login name)"
    )
    p.add_argument("--vault-password-file", help="the inventory's vault (never needed for a lab)")
    p.set_defaults(func=cmd_onboard)

    site = sub.add_parser("site", help="the sites of an inventory")
    site_sub = site.add_subparsers(dest="site_command", required=True)
    p = site_sub.add_parser(
        "add", help="add a site (its codec and the switch port it is plugged into) to hosts.yml"
    )
    p.add_argument("site", help="site id, lower case with '-' (e.g. xa-hoang-son)")
    p.add_argument("--name", required=True, help="the site's Vietnamese name (system name)")
    p.add_argument(
        "--codec-family", required=True, choices=["poly-group-series", "poly-os", "cisco-roomos"]
    )
    p.add_argument("--codec-model", required=True, help="as the codec reports it, e.g. G7500")
    p.add_argument("--codec-address", required=True, help="the codec's management address")
    p.add_argument("--codec-serial", help="from the delivery note (checked at onboarding)")
    p.add_argument("--e164", help="the site's E.164 number (host_vars)")
    p.add_argument(
        "--switch-family", required=True, choices=["cisco-ios", "cisco-iosxe", "huawei-vrp"]
    )
    p.add_argument("--switch-model", required=True)
    p.add_argument("--switch-address", required=True, help="the access switch's address")
    p.add_argument("--switch-port", help="the codec's port (default Gi1/0/5, Huawei GE0/0/5)")
    p.add_argument("--kind", default="district", choices=["province", "district", "commune"])
    p.add_argument(
        "--ring",
        default=onboard.DEFAULT_RING,
        choices=list(hosts.RINGS),
        help="firmware ring (default ring2)",
    )
    p.add_argument("-i", "--inventory", help="inventory directory (default inventory/thanhhoa)")
    p.set_defaults(func=cmd_site_add)

    inv = sub.add_parser("inventory", help="the inventory itself")
    inv_sub = inv.add_subparsers(dest="inventory_command", required=True)
    p = inv_sub.add_parser(
        "validate", help="the standard's validation plus what onboarding needs of every site"
    )
    p.add_argument("-i", "--inventory", help="inventory directory (default inventory/thanhhoa)")
    p.add_argument("--lab", help="a lab state directory (the lab's hosts over the inventory)")
    p.add_argument("--vault-password-file")
    p.set_defaults(func=cmd_inventory_validate)


def build_parser() -> argparse.ArgumentParser:
    """These commands on their own (``python -m vcprov.onboard_cli ...``)."""
    parser = argparse.ArgumentParser(prog="vcprov")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    d = sub.add_parser("demo", help="one factory-reset codec onboarded on a lab of its own")
    d.add_argument("--state", default=str(DEMO_STATE))
    d.add_argument("--device", help="the codec (default: the lab's first Poly OS codec)")
    d.set_defaults(func=lambda a: demo(Path(a.state), a.device))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


# --- make demo-onboard ----------------------------------------------------------------

DEMO_STATE = Path(".lab-onboard")
DEMO_NET = 36  # beside `make demo`'s lab (127.31.0.0/16)
DEMO_TIME_SCALE = 0.02


def _vcprov(*argv: str) -> subprocess.CompletedProcess[str]:
    """The ``vcprov`` command beside this interpreter (the lab is driven through it)."""
    exe = str(Path(sys.executable).parent / "vcprov")
    return subprocess.run([exe, *argv], capture_output=True, text=True, check=False)


def demo(state: Path = DEMO_STATE, device: str | None = None) -> int:
    """A 4-site lab of its own, one codec reset to factory, onboarded twice, the report."""
    from .devices import driver_for
    from .devices.base import Target

    print("== vcprov onboarding demo: a new codec, from factory state to an accepted site ==")
    if _vcprov("lab", "status", "--state", str(state)).returncode != 0:
        proc = _vcprov(
            "lab", "up", "--state", str(state), "--sites", "4", "--no-deviations",
            "--net", str(DEMO_NET), "--time-scale", str(DEMO_TIME_SCALE),
        )  # fmt: skip
        print(proc.stdout.strip() or proc.stderr.strip())
        if proc.returncode != 0:
            return proc.returncode
        print(
            f"(time scale {DEMO_TIME_SCALE}: every device wait, a reboot, an install, is "
            f"{1 / DEMO_TIME_SCALE:.0f} times shorter than on site)"
        )
    doc = hosts.lab_doc(state)
    rows = [r for r in doc["devices"] if r["role"] == "endpoint" and not r.get("hub")]
    row = next((r for r in rows if r["name"] == device), None) if device else None
    row = row or next((r for r in rows if r["family"] == "poly-os"), rows[0])
    name = row["name"]
    print(f"\n== the box arrives: vcprov lab reset {name} --factory ==")
    proc = _vcprov("lab", "reset", name, "--factory", "--state", str(state))
    print(proc.stdout.strip() or proc.stderr.strip())
    if proc.returncode != 0:
        return proc.returncode
    factory = Target.from_lab(
        row, username=row["factory_username"], password=row["factory_password"]
    )
    with driver_for(factory) as drv:
        facts = drv.facts()
    print(
        f"it answers its factory account: {facts.model}, serial {facts.serial}, "
        f"version {facts.version}, system name {facts.system_name!r}"
    )
    print(f"\n== vcprov onboard {name} --lab {state} ==")
    code = main(["onboard", name, "--lab", str(state)])
    print(f"vcprov onboard exited {code} (0: accepted)")
    reports = sorted((hosts.state_dir(state) / "onboarding").glob(f"{name}-*.html"))
    print("\n== again, as a technician re-running it would: nothing left to change ==")
    again = main(["onboard", name, "--lab", str(state)])
    print(f"vcprov onboard exited {again}")
    print(
        f"\nthe lab keeps running: vcprov lab status --state {state}; "
        f"vcprov lab down --state {state}"
    )
    if reports:
        print(f"acceptance report of {name}: {reports[-1].resolve()} (JSON beside it)")
    return code or again


if __name__ == "__main__":
    sys.exit(main())
