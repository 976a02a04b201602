"""Shared fixtures: real labs (``vcprov lab up``) on their own loopback block per worker."""

from __future__ import annotations

import functools
import http.server
import itertools
import json
import os
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from vcprov.lab import manage

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
TIME_SCALE = 0.01


def _worker_index() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker.removeprefix("gw") or 0)


_nets = itertools.count(40 + 25 * _worker_index())  # up to 25 labs per worker, then on


def next_net() -> int:
    """A fresh 127.N.0.0/16 block for one lab of this test worker.

    Blocks whose first address is already taken (another test run on the same machine)
    are skipped.
    """
    while True:
        net = next(_nets)
        probe = socket.socket()
        try:
            probe.bind((f"127.{net}.0.1", 8443))
        except OSError:
            continue
        finally:
            probe.close()
        return net


class Lab:
    """A running lab: its lab.json, its control client, helpers to find devices."""

    def __init__(self, state: Path):
        self.state = state
        self.doc: dict[str, Any] = json.loads((state / "lab.json").read_text(encoding="utf-8"))
        self.control = manage.LabClient(state)

    @property
    def devices(self) -> list[dict[str, Any]]:
        return list(self.doc["devices"])

    def spec(self, name: str) -> dict[str, Any]:
        for dev in self.doc["devices"]:
            if dev["name"] == name:
                return dict(dev)
        raise KeyError(name)

    def first(self, family: str) -> dict[str, Any]:
        for dev in self.doc["devices"]:
            if dev["family"] == family:
                return dict(dev)
        raise KeyError(family)

    def stop(self) -> None:
        manage.down(self.state)


LabFactory = Callable[..., Lab]


@pytest.fixture(scope="session")
def lab_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabFactory]:
    started: list[Lab] = []

    def make(sites: int = 4, **kwargs: Any) -> Lab:
        state = tmp_path_factory.mktemp("lab")
        settings = manage.LabSettings(
            sites=sites, net=next_net(), time_scale=kwargs.pop("time_scale", TIME_SCALE), **kwargs
        )
        manage.up(state, settings, fleet_given=True)
        lab = Lab(state)
        started.append(lab)
        return lab

    yield make
    for lab in started:
        lab.stop()


@pytest.fixture(scope="session")
def lab(lab_factory: LabFactory) -> Lab:
    """A 4-site lab with one device of every family, every device on the standard."""
    return lab_factory(sites=4, deviations=False)


@pytest.fixture()
def fresh_lab(lab_factory: LabFactory) -> Iterator[Lab]:
    """A 4-site lab of the test's own (for tests that change devices), stopped after it."""
    lab = lab_factory(sites=4, deviations=False)
    yield lab
    lab.stop()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def package_server(lab_factory: LabFactory) -> Iterator[str]:
    """The lab's firmware packages served over plain HTTP on 127.0.0.1 (base URL).

    Stands in for the controller's package server in the simulator tests.
    """
    lab = lab_factory(sites=1)
    root = Path(lab.doc["firmware"][0]["file"]).parent.parent
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
