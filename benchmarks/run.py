"""``make bench``: measured figures, written to benchmarks/results/ (JSON and Markdown).

Commands (benchmarks/suite.py, issue 8): ``vcprov check``, ``vcprov apply --check`` and the
firmware rollout beside a stock-Ansible baseline and the floor, on labs of 31, 250 and 1,000
sites; see benchmarks/README.md.  ``BENCH_SIZES=31 BENCH_RUNS=1 make bench`` for a quick run.

Each run writes ``results/<timestamp>.json`` and ``results/latest.json``/``latest.md``, and
puts latest.md in README.md between the bench markers; a part not run this time (``--only``)
is carried over from the previous latest.json with its own date.

Lab start: wall time of ``vcprov lab up`` until every device answers, the lab process's
peak resident memory (VmHWM), and a probe of a sample of devices over their own protocols.
Each size runs ``--runs`` times (default 3); the table shows the median.  Nothing here is
typed in by hand and no test asserts on these numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))

sys.path.insert(0, str(ROOT / "benchmarks"))

import suite  # noqa: E402

from vcprov.devices import Target  # noqa: E402
from vcprov.lab import manage  # noqa: E402
from vcprov.reachability import ask_all  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def lab_start(sites: int, net: int, sample: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="vcprov-bench-") as tmp:
        state = Path(tmp)
        t0 = time.monotonic()
        info = manage.up(
            state, manage.LabSettings(sites=sites, net=net, time_scale=0.01), fleet_given=True
        )
        start = time.monotonic() - t0
        try:
            doc = manage.read_lab(state)
            rng = random.Random(sites)
            rows = rng.sample(doc["devices"], min(sample, len(doc["devices"])))
            t1 = time.monotonic()
            answers = ask_all([Target.from_lab(r) for r in rows])
            probe = time.monotonic() - t1
            rss = peak_rss_mib(int(info["pid"]))
        finally:
            manage.down(state)
    return {
        "sites": sites,
        "devices": len(doc["devices"]),
        "start_s": round(start, 2),
        "lab_reported_start_s": info.get("start_seconds"),
        "peak_rss_mib": round(rss, 1),
        "probe_sample": len(rows),
        "probe_answered": sum(a.ok for a in answers),
        "probe_s": round(probe, 2),
    }


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "cpus": len(os.sched_getaffinity(0)),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip(),
    }


def run_lab_start(sizes: list[int], runs: int, sample: int) -> dict[str, Any]:
    section: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": machine(),
        "runs": runs,
        "sizes": [],
    }
    for size in sizes:
        all_runs = [lab_start(size, 200 + i, sample) for i in range(runs)]
        med = {
            "sites": size,
            "devices": all_runs[0]["devices"],
            "runs": len(all_runs),
            "start_s_median": statistics.median(r["start_s"] for r in all_runs),
            "peak_rss_mib_median": statistics.median(r["peak_rss_mib"] for r in all_runs),
            "probe_answered": min(r["probe_answered"] for r in all_runs),
            "probe_sample": all_runs[0]["probe_sample"],
            "all": all_runs,
        }
        section["sizes"].append(med)
        print(json.dumps({k: v for k, v in med.items() if k != "all"}), flush=True)
    return section


def render_lab_start(section: dict[str, Any]) -> str:
    lines = [
        f"Lab start, median of {section['runs']} runs ({section['when']}, commit "
        f"{section['machine']['commit']}, {section['machine']['cpus']} CPUs)",
        "",
        "| sites | devices | `lab up` until all answer | lab peak RSS | sample answering |",
        "|---|---|---|---|---|",
    ]
    for m in section["sizes"]:
        lines.append(
            f"| {m['sites']} | {m['devices']} | {m['start_s_median']:.1f} s | "
            f"{m['peak_rss_mib_median']:.0f} MiB | {m['probe_answered']}/{m['probe_sample']} |"
        )
    return "\n".join(lines) + "\n"


def render_suite(section: dict[str, Any]) -> str:
    head = (
        f"Commands (latest run {section['when']}, commit {section['machine']['commit']}, "
        f"{section['machine']['cpus']} CPUs)\n\n"
    )
    return head + suite.render(section)


def previous() -> dict[str, Any]:
    """The last results (a section not run this time is carried over, with its own date)."""
    try:
        doc: dict[str, Any] = json.loads((RESULTS / "latest.json").read_text())
    except (FileNotFoundError, ValueError):
        return {}
    if "lab_start" in doc and isinstance(doc["lab_start"], list):  # the first format
        doc["lab_start"] = {
            "when": doc.get("when", "?"),
            "machine": doc.get("machine", {}),
            "runs": doc["lab_start"][0]["runs"] if doc["lab_start"] else 0,
            "sizes": doc["lab_start"],
        }
    return doc


def write(results: dict[str, Any]) -> str:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    text = json.dumps(results, indent=1)
    (RESULTS / f"{stamp}.json").write_text(text)
    (RESULTS / "latest.json").write_text(text)
    return render(results)


def render(results: dict[str, Any]) -> str:
    """latest.md, and the README's table, from results (latest.json)."""
    parts = []
    if results.get("suite"):
        parts.append(render_suite(results["suite"]))
    if results.get("lab_start"):
        parts.append(render_lab_start(results["lab_start"]))
    table = "\n".join(parts)
    (RESULTS / "latest.md").write_text(table)
    readme = ROOT / "README.md"
    doc = readme.read_text(encoding="utf-8")
    start, end = "<!-- bench:start -->\n", "<!-- bench:end -->"
    if start in doc and end in doc:
        head, _, rest = doc.partition(start)
        _, _, tail = rest.partition(end)
        readme.write_text(head + start + table + end + tail, encoding="utf-8")
    return table


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds: the measured command and the labs are stopped


def main() -> int:
    signal.signal(signal.SIGTERM, _terminate)
    parser = argparse.ArgumentParser(description="make bench: lab start and the commands")
    parser.add_argument("--runs", type=int, default=suite.env_int("BENCH_RUNS", 3))
    parser.add_argument(
        "--sizes", default=os.environ.get("BENCH_SIZES", ""), help="e.g. 31,250,1000"
    )
    parser.add_argument("--sample", type=int, default=40)
    parser.add_argument(
        "--only", choices=("all", "lab-start", "suite"), default=os.environ.get("BENCH_PART", "all")
    )
    parser.add_argument(
        "--render", action="store_true", help="only write latest.md and the README from latest.json"
    )
    args = parser.parse_args()
    if args.render:
        print(render(previous()))
        return 0
    given = [int(s) for s in args.sizes.split(",") if s.strip()]
    results = previous()
    results.pop("when", None)
    results.pop("machine", None)
    if args.only in ("all", "suite"):
        section = suite.run_suite(given or list(suite.DEFAULT_SIZES), args.runs)
        section.update(when=time.strftime("%Y-%m-%d %H:%M:%S"), machine=machine())
        for size in section["sizes"]:
            size.update(when=section["when"], commit=section["machine"]["commit"])
        # sizes not run this time stay as they were measured (each with its own date), and
        # so do the entries of a size not run this time (BENCH_ONLY)
        old_sizes = {s["sites"]: s for s in results.get("suite", {}).get("sizes", [])}
        for size in section["sizes"]:
            before = old_sizes.get(size["sites"])
            if before is None:
                continue
            ran = {r["key"] for r in size["entries"]}
            carried = [
                {**r, "measured": r.get("measured") or before.get("when", "?")}
                for r in before["entries"]
                if r["key"] not in ran
            ]
            if carried:
                order = [e.key for e in suite.ENTRIES]
                size["entries"] = sorted(
                    size["entries"] + carried,
                    key=lambda r: order.index(r["key"]) if r["key"] in order else len(order),
                )
                size["targets"] = suite.evaluate_targets(size["sites"], size["entries"])
        new = {s["sites"] for s in section["sizes"]}
        kept = [s for s in results.get("suite", {}).get("sizes", []) if s["sites"] not in new]
        section["sizes"] = sorted(kept + section["sizes"], key=lambda s: s["sites"])
        results["suite"] = section
    if args.only in ("all", "lab-start"):
        results["lab_start"] = run_lab_start(given or [31, 1000], args.runs, args.sample)
    print(write(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
