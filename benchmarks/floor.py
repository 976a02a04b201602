"""The floor: the reads of a drift check with vcprov's drivers, in one plain Python process.

    python benchmarks/floor.py --lab DIR [--workers 50] [--json FILE]

No Ansible, no inventory, no standard: every device of ``DIR/lab.json`` is read by its
driver (:func:`vcprov.devices.driver_for`) from a thread pool, one session per device:

* a codec: open a session, read every setting of the standard the family has a key for
  (``Endpoint.read``), ``status()``, ``facts()``, close;
* a switch: open the SSH session, ``facts()`` (``show version``), ``running()``, close.

That is what ``vcprov check`` has to read at the least, so its wall time is the lower
bound vcprov's Ansible path is compared with.  A switch configuration that was read but
does not look whole (a CLI prompt inside it, no interface at all) is listed under
``suspect_configs``.  Prints one JSON summary (devices, how many
were read, errors by device) on stdout, also written to ``--json``; exit 0 when every
device was read, 3 otherwise.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))

from vcprov.devices import DeviceError, Endpoint, Switch, Target, driver_for  # noqa: E402
from vcprov.standard import SETTINGS  # noqa: E402

ENDPOINT_SETTINGS = [name for name, spec in SETTINGS.items() if "endpoint" in spec.roles]


_PROMPT_LINE = re.compile(r"^(?:\S+[#>]|<\S+>|\[\S+\])\s*$")


def suspect(config: str) -> str:
    """Why a running configuration read does not look whole ("" when it does): a CLI prompt
    inside it, or no interface at all."""
    prompts = [ln.strip() for ln in config.splitlines() if _PROMPT_LINE.match(ln.strip())]
    if prompts:
        return f"prompt line(s) inside the configuration: {prompts[:3]}"
    if "interface" not in config:
        return "no interface in the configuration"
    return ""


def read_device(row: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Read one device; never raises (the error is in the result)."""
    t0 = time.monotonic()
    out: dict[str, Any] = {"name": row["name"], "family": row["family"], "role": row["role"]}
    try:
        drv = driver_for(Target.from_lab(row, timeout=timeout))
        with drv:
            if isinstance(drv, Endpoint):
                values = drv.read(ENDPOINT_SETTINGS)
                status = drv.status()
                facts = drv.facts()
                out["settings"] = len(values)
                out["in_call"] = status.in_call
            elif isinstance(drv, Switch):
                facts = drv.facts()
                text = drv.running()
                out["config_bytes"] = len(text)
                odd = suspect(text)
                if odd:
                    out["suspect"] = odd
            else:  # pragma: no cover - driver_for returns one of the two
                raise TypeError(f"{row['name']}: no driver interface for {row['family']}")
            out["version"] = facts.version
        out["ok"] = True
    except DeviceError as exc:
        out.update(ok=False, kind=exc.kind, error=exc.message)
    except Exception as exc:  # a driver bug must show as such, not stop the run
        out.update(
            ok=False,
            kind="exception",
            error=f"{exc.__class__.__name__}: {exc}",
            trace=traceback.format_exc(limit=6),
        )
    out["seconds"] = round(time.monotonic() - t0, 3)
    return out


def run(lab: Path, workers: int, timeout: float = 30.0) -> dict[str, Any]:
    doc = json.loads((lab / "lab.json").read_text(encoding="utf-8"))
    rows = list(doc["devices"])
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda r: read_device(r, timeout), rows))
    wall = time.monotonic() - t0
    errors = [
        {k: r[k] for k in ("name", "family", "kind", "error", "trace") if k in r}
        for r in results
        if not r["ok"]
    ]
    by_family: dict[str, dict[str, int]] = {}
    for r in results:
        fam = by_family.setdefault(r["family"], {"devices": 0, "read": 0})
        fam["devices"] += 1
        fam["read"] += int(r["ok"])
    slowest = sorted(results, key=lambda r: r["seconds"], reverse=True)[:5]
    return {
        "lab": str(lab),
        "workers": workers,
        "devices": len(rows),
        "endpoints": sum(r["role"] == "endpoint" for r in results),
        "switches": sum(r["role"] == "switch" for r in results),
        "read": sum(r["ok"] for r in results),
        "settings_read": sum(r.get("settings", 0) for r in results),
        "config_bytes": sum(r.get("config_bytes", 0) for r in results),
        "errors": errors,
        # switch reads that came back, but do not look like a whole configuration
        "suspect_configs": [
            {"name": r["name"], "family": r["family"], "why": r["suspect"]}
            for r in results
            if r.get("suspect")
        ],
        "by_family": by_family,
        "wall_s": round(wall, 3),
        "slowest": [{"name": r["name"], "seconds": r["seconds"]} for r in slowest],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", type=Path, required=True, help="a lab state directory")
    parser.add_argument("--workers", type=int, default=50, help="threads (default 50)")
    parser.add_argument("--timeout", type=float, default=30.0, help="per-device timeout (s)")
    parser.add_argument("--json", type=Path, default=None, help="also write the summary here")
    args = parser.parse_args()
    summary = run(args.lab, args.workers, args.timeout)
    text = json.dumps(summary, indent=1)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0 if summary["read"] == summary["devices"] else 3


if __name__ == "__main__":
    sys.exit(main())
