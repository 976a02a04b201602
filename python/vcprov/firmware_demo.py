"""``make demo-firmware``: a canary ring where the codec comes back broken.

A 6-site lab of its own (``.lab-firmware/``, time scale 0.01): the hub's codec is the canary
ring.  The lab is told that the hub's next firmware comes back without media (it boots,
but cannot register to the hub's SIP registrar and H.323 gatekeeper).  ``vcprov upgrade
--to target --now`` then upgrades the canary, finds it unhealthy, rolls it back to its
previous version and configuration, and halts: the later rings are never touched.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from . import firmware_cli, hosts
from .onboard_cli import _vcprov  # the vcprov command beside this interpreter

STATE = Path(".lab-firmware")
NET = 37  # beside `make demo` (31) and `make demo-onboard` (36)
TIME_SCALE = 0.01
SITES = 6
FAULT = "firmware-no-media"


def _codecs(state: Path) -> dict[str, dict[str, Any]]:
    """Each codec's live version, registrations and counters, from the lab's control API."""
    from .lab.manage import LabClient

    codecs = {r["name"] for r in hosts.lab_doc(state)["devices"] if r["role"] == "endpoint"}
    return {n: d for n, d in LabClient(state).devices().items() if n in codecs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make demo-firmware", description=__doc__)
    parser.add_argument("--state", type=Path, default=STATE, help="the demo lab's directory")
    parser.add_argument("--net", type=int, default=NET, help="its 127.N.0.0/16")
    args = parser.parse_args(argv)
    state, net = args.state, args.net
    print("== vcprov firmware demo: a canary that comes back broken is rolled back ==")
    _vcprov("lab", "down", "--state", str(state))
    shutil.rmtree(state, ignore_errors=True)  # a fresh lab: every codec on the standard
    proc = _vcprov(
        "lab", "up", "--state", str(state), "--sites", str(SITES), "--no-deviations",
        "--net", str(net), "--time-scale", str(TIME_SCALE),
    )  # fmt: skip
    print(proc.stdout.strip() or proc.stderr.strip())
    if proc.returncode != 0:
        return proc.returncode
    print(
        f"(time scale {TIME_SCALE}: a codec's download, install and reboot take "
        f"{1 / TIME_SCALE:.0f} times less than on site)"
    )
    canary = next(
        r["name"] for r in hosts.lab_doc(state)["devices"] if r["role"] == "endpoint" and r["hub"]
    )
    before = _codecs(state)

    print(f"\n== the plan: vcprov upgrade --lab {state} --to target --check ==")
    firmware_cli.main(["upgrade", "--lab", str(state), "--to", "target", "--check"])

    print(f"\n== the new release is bad on {canary}: vcprov lab fault {canary} {FAULT} ==")
    print("(it installs and boots, then cannot register: no SIP, no H.323, no meeting)")
    proc = _vcprov("lab", "fault", canary, FAULT, "--state", str(state))
    if proc.returncode != 0:
        print(proc.stderr.strip())
        return proc.returncode

    out = state / "rollout.json"
    print(f"\n== vcprov upgrade --lab {state} --to target --now --soak 60 --json {out} ==")
    code = firmware_cli.main(
        ["upgrade", "--lab", str(state), "--to", "target", "--now", "--soak", "60",
         "--json", str(out)]
    )  # fmt: skip
    print(f"vcprov upgrade exited {code} (3: the rollout halted)")

    doc = json.loads(out.read_text(encoding="utf-8"))
    after = _codecs(state)
    print("\n== where every codec is now ==")
    print(f"{'codec':<22} {'ring':<16} {'result':<12} {'version before':<24} {'now':<24} SIP")
    for row in doc["devices"]:
        name = row["name"]
        was, now = before[name], after[name]
        touched = "" if now["writes"] != was["writes"] else "  (not touched)"
        print(
            f"{name:<22} {row.get('ring', ''):<16} {row['result']:<12} {was['version']:<24} "
            f"{now['version']:<24} {'registered' if now['sip_registered'] else 'NOT registered'}"
            f"{touched}"
        )
    print(f"\nhalted: {doc['halted']} ({doc.get('halt_reason') or '-'})")
    print(
        f"{canary} stays on its old release: the lab remembers that the new one has no media "
        "on it (`broken` in vcprov lab status --json), as a bad release would"
    )
    print(
        f"\nthe journal of this rollout: {state}/vcprov/firmware/; the lab keeps running: "
        f"vcprov lab status --state {state}; vcprov lab down --state {state}"
    )
    return 0 if code == 3 and doc["halted"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
