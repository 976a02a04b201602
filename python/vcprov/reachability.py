"""Ask every device who it is, over its own protocol, through its driver.

The "is everything answering?" check behind ``vcprov lab status --probe`` and ``make demo``.
Reads only: no device counts a write.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from .devices import DeviceError, Target, driver_for


@dataclass
class Answer:
    name: str
    family: str
    ok: bool
    model: str = ""
    serial: str = ""
    version: str = ""
    problem: str = ""
    seconds: float = 0.0


def ask(target: Target) -> Answer:
    t0 = time.monotonic()
    answer = Answer(target.name, target.family, False)
    try:
        with driver_for(target) as driver:
            facts = driver.facts()
        answer.ok = True
        answer.model, answer.serial, answer.version = facts.model, facts.serial, facts.version
    except DeviceError as exc:
        answer.problem = f"{exc.kind}: {exc.message}"
    except Exception as exc:  # a client library's own error: still an answer, not a crash
        answer.problem = f"error: {exc.__class__.__name__}: {str(exc).strip()[:120]}"
    answer.seconds = time.monotonic() - t0
    return answer


def ask_all(targets: list[Target], workers: int = 16) -> list[Answer]:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(ask, targets))
