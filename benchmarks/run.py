"""``make bench``: measured figures, written to benchmarks/results/ (JSON and Markdown).

Lab start: wall time of ``vcprov lab up`` until every device answers, the lab process's
peak resident memory (VmHWM), and a probe of a sample of devices over their own protocols.
Each size runs ``--runs`` times (default 3); the table shows the median.  Nothing here is
typed in by hand and no test asserts on these numbers.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))

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


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="31,1000")
    parser.add_argument("--sample", type=int, default=40)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {
            "python": platform.python_version(),
            "cpus": len(__import__("os").sched_getaffinity(0)),
            "commit": subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
            ).stdout.strip(),
        },
        "lab_start": [],
    }
    for size in sizes:
        runs = [lab_start(size, 200 + i, args.sample) for i in range(args.runs)]
        med = {
            "sites": size,
            "devices": runs[0]["devices"],
            "runs": len(runs),
            "start_s_median": statistics.median(r["start_s"] for r in runs),
            "peak_rss_mib_median": statistics.median(r["peak_rss_mib"] for r in runs),
            "probe_answered": min(r["probe_answered"] for r in runs),
            "probe_sample": runs[0]["probe_sample"],
            "all": runs,
        }
        results["lab_start"].append(med)
        print(json.dumps({k: v for k, v in med.items() if k != "all"}))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=1))
    lines = [
        f"Lab start, median of {args.runs} runs ({results['when']}, commit "
        f"{results['machine']['commit']}, {results['machine']['cpus']} CPUs)",
        "",
        "| sites | devices | `lab up` until all answer | lab peak RSS | sample answering |",
        "|---|---|---|---|---|",
    ]
    for m in results["lab_start"]:
        lines.append(
            f"| {m['sites']} | {m['devices']} | {m['start_s_median']:.1f} s | "
            f"{m['peak_rss_mib_median']:.0f} MiB | {m['probe_answered']}/{m['probe_sample']} |"
        )
    table = "\n".join(lines) + "\n"
    (RESULTS / "latest.md").write_text(table)
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    start, end = "<!-- bench:start -->\n", "<!-- bench:end -->"
    if start in text and end in text:
        head, _, rest = text.partition(start)
        _, _, tail = rest.partition(end)
        readme.write_text(head + start + table + end + tail, encoding="utf-8")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
