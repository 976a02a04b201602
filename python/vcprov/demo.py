"""``make demo``: start the 31-site lab, show every site answering, bring it to the
province standard with ``vcprov apply`` (ansible-runner), then run it again: nothing to do."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from .cli import print_table
from .devices import Target
from .lab import manage
from .reachability import ask_all

STATE = Path(".lab")


def main() -> int:
    print("== vcprov demo: the 31-site lab ==")
    if manage.is_running(STATE):
        print(f"lab already running in {STATE}/")
    else:
        t0 = time.monotonic()
        manage.up(STATE, manage.LabSettings(sites=31, time_scale=0.05), fleet_given=False)
        print(f"lab up in {time.monotonic() - t0:.1f} s (state {STATE}/, log {STATE}/lab.log)")
    doc = manage.read_lab(STATE)
    targets = [Target.from_lab(d) for d in doc["devices"]]
    t0 = time.monotonic()
    answers = {a.name: a for a in ask_all(targets)}
    took = time.monotonic() - t0
    rows = []
    for dev in doc["devices"]:
        if dev["role"] != "endpoint":
            continue
        codec = answers[dev["name"]]
        switch = answers[dev["switch"]]
        rows.append(
            [
                dev["site_name"],
                f"{codec.model} {codec.version}" if codec.ok else f"NO ANSWER ({codec.problem})",
                f"{switch.model} {switch.version}"
                if switch.ok
                else f"NO ANSWER ({switch.problem})",
            ]
        )
    print()
    print_table(["site", "codec (over its own API)", "switch (over SSH)"], rows)
    ok = sum(a.ok for a in answers.values())
    print(f"\n{ok}/{len(answers)} devices answered over HTTPS/SSH in {took:.1f} s")
    if ok != len(answers):
        return 1
    vcprov = str(Path(sys.executable).parent / "vcprov")
    for title, extra in (
        ("bring every site to the province standard", []),
        ("again: nothing left to change", []),
    ):
        print(f"\n== vcprov apply --lab {STATE}: {title} ==")
        report = STATE / "apply-last.json"
        code = subprocess.call(
            [vcprov, "apply", "--lab", str(STATE), "--json", str(report), *extra]
        )
        if code != 0:
            print(f"vcprov apply exited {code}")
            return code
    print(f"\nper-host results: {STATE}/apply-last.json; snapshots: {STATE}/vcprov/snapshots/")
    print("the lab keeps running: `vcprov lab status`, `vcprov lab down` (see docs/lab.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
