"""``make demo``: start the 31-site lab, show every site answering, bring it to the
province standard with ``vcprov apply`` (ansible-runner), then run it again: nothing to do."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

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
    for title in ("bring every site to the province standard", "again: nothing left to change"):
        print(f"\n== vcprov apply --lab {STATE}: {title} ==")
        report = STATE / "apply-last.json"
        code = subprocess.call([vcprov, "apply", "--lab", str(STATE), "--json", str(report)])
        if code != 0:
            print(f"vcprov apply exited {code}")
            return code
    print(f"\nper-host results: {report}; snapshots: {STATE}/vcprov/snapshots/")
    print("\n== an operator changes three devices by hand, over their own web/CLI ==")
    for line in hand_changes(doc):
        print(f"  {line}")
    print(f"\n== the nightly drift check: vcprov check --lab {STATE} ==")
    check_json = STATE / "check-last.json"
    html = STATE / "check-report.html"
    code = subprocess.call(
        [vcprov, "check", "--lab", str(STATE), "--json", str(check_json), "--html", str(html)]
    )
    print(f"\nvcprov check exited {code} (2: drift found)")
    print(f"morning report: {html.resolve()}  (JSON: {check_json})")
    print(f"history of configurations and findings: git -C {STATE}/vcprov/history log -p")
    print("the lab keeps running: `vcprov lab status`, `vcprov lab down` (see docs/lab.md)")
    return 0 if code == 2 else 1


def hand_changes(doc: dict[str, Any]) -> list[str]:
    """Change a Poly codec, a Cisco codec and a switch port the way an operator would."""
    import httpx
    from netmiko import ConnectHandler

    done = []
    devices = {d["name"]: d for d in doc["devices"]}
    poly = next(d for d in doc["devices"] if d["family"] == "poly-group-series")
    with httpx.Client(verify=False, timeout=30) as web:
        base = f"https://{poly['host']}:{poly['port']}"
        body = {"action": "Login", "user": poly["username"], "password": poly["password"]}
        web.post(f"{base}/rest/session", json=body)
        change = {"vars": [{"name": "qos.diffServ.video", "value": "0"}]}
        web.post(f"{base}/rest/config", json=change)
        web.post(f"{base}/rest/session", json={"action": "Logout"})
    done.append(f"{poly['name']}: video DSCP set to 0 on the web page")
    cisco = next(d for d in doc["devices"] if d["family"] == "cisco-roomos")
    with httpx.Client(verify=False, timeout=30, auth=(cisco["username"], cisco["password"])) as web:
        xml = (
            "<Configuration><Conference><Encryption><Mode>Off</Mode></Encryption>"
            "</Conference></Configuration>"
        )
        web.post(f"https://{cisco['host']}:{cisco['port']}/putxml", content=xml)
    done.append(f"{cisco['name']}: encryption switched off")
    switch = devices[poly["switch"]]
    conn = ConnectHandler(
        device_type={
            "cisco-ios": "cisco_ios",
            "cisco-iosxe": "cisco_xe",
            "huawei-vrp": "huawei_vrp",
        }[switch["family"]],
        host=switch["host"],
        port=switch["port"],
        username=switch["username"],
        password=switch["password"],
    )
    conn.send_config_set([f"interface {switch['codec_port']}", "no spanning-tree bpduguard enable"])
    conn.save_config()
    conn.disconnect()
    done.append(f"{switch['name']}: BPDU guard removed from {switch['codec_port']}")
    return done


if __name__ == "__main__":
    sys.exit(main())
