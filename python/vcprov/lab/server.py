"""The lab process: every simulated device of a lab in one asyncio loop, plus a control API.

Started in the background by ``vcprov lab up`` as ``python -m vcprov.lab.server --state DIR``.
It reads ``DIR/lab.json``, loads each device's saved state from ``DIR/devices/``, opens
every device's servers, checks that each one accepts connections, then publishes
``DIR/control.json`` (URL and token of the control API).  SIGTERM or ``POST /shutdown``
closes the devices and writes their state back.

The control API (plain HTTP on 127.0.0.1, token in ``control.json``) is how ``vcprov lab``
and the tests inject faults, reset and power-cycle devices and read write counters.  It is
the lab's back door, not a device protocol: nothing in vcprov's drivers uses it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import logging
import os
import resource
import secrets
import signal
import sys
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from .base import Hub, LabContext, LabError, SimDevice

log = logging.getLogger("vcprov.lab")

FAMILY_CLASSES = {
    "poly-group-series": "vcprov.lab.poly_rest:PolyGroupSeries",
    "poly-os": "vcprov.lab.poly_rest:PolyOS",
    "cisco-roomos": "vcprov.lab.xapi:CiscoRoomOS",
    "cisco-ios": "vcprov.lab.cli_switch:CiscoIOS",
    "cisco-iosxe": "vcprov.lab.cli_switch:CiscoIOSXE",
    "huawei-vrp": "vcprov.lab.cli_switch:HuaweiVRP",
}


def device_class(family: str) -> type[SimDevice]:
    try:
        module_name, _, attr = FAMILY_CLASSES[family].partition(":")
    except KeyError:
        raise LabError(f"unknown device family {family!r}") from None
    cls: type[SimDevice] = getattr(importlib.import_module(module_name), attr)
    return cls


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


class Lab:
    """All devices of one lab and the control API."""

    def __init__(self, state_dir: Path):
        self.state_dir = state_dir
        self.doc = json.loads((state_dir / "lab.json").read_text(encoding="utf-8"))
        settings = self.doc.get("settings", {})
        hub = self.doc.get("hub", {})
        self.ctx = LabContext(
            state_dir=state_dir,
            time_scale=float(settings.get("time_scale", 1.0)),
            hub=Hub(
                domain=hub.get("domain", Hub.domain),
                sip_registrar=hub.get("sip_registrar", Hub.sip_registrar),
                sip_proxy=hub.get("sip_proxy", Hub.sip_proxy),
                gatekeeper=hub.get("gatekeeper", Hub.gatekeeper),
                ntp_servers=tuple(hub.get("ntp_servers", Hub.ntp_servers))[:2],
                snmp_trap=hub.get("snmp_trap", Hub.snmp_trap),
            ),
            seed=int(settings.get("seed", 0)),
        )
        self.token = secrets.token_hex(16)
        self.ready = False
        self.started = time.time()
        self.stopping = asyncio.Event()
        self.runner: web.AppRunner | None = None

    # ------------------------------------------------------------------ devices
    def load_devices(self) -> None:
        (self.state_dir / "devices").mkdir(exist_ok=True)
        for spec in self.doc["devices"]:
            path = self.state_dir / "devices" / f"{spec['name']}.json"
            state = json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
            dev = device_class(spec["family"])(self.ctx, spec, state)
            dev.save()
            self.ctx.devices[dev.name] = dev

    async def start_devices(self) -> None:
        sem = asyncio.Semaphore(64)

        async def start(dev: SimDevice) -> None:
            async with sem:
                await dev.start()

        await asyncio.gather(*(start(d) for d in self.ctx.devices.values()))
        await self.check_listening()

    async def check_listening(self) -> None:
        """Every device that should be up accepts a TCP connection on its port."""
        sem = asyncio.Semaphore(64)

        async def probe(dev: SimDevice) -> None:
            if dev.power != "up":
                return
            async with sem:
                for _ in range(50):
                    try:
                        _, writer = await asyncio.open_connection(dev.host, dev.port)
                    except OSError:
                        await asyncio.sleep(0.1)
                        continue
                    writer.close()
                    with contextlib.suppress(Exception):
                        await writer.wait_closed()
                    return
                raise LabError(f"{dev.name} does not answer on {dev.host}:{dev.port}")

        await asyncio.gather(*(probe(d) for d in self.ctx.devices.values()))

    async def flusher(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            for dev in self.ctx.devices.values():
                try:
                    dev.flush()
                except OSError:
                    log.exception("%s: cannot save state", dev.name)

    def device(self, name: str) -> SimDevice:
        try:
            return self.ctx.devices[name]
        except KeyError:
            raise web.HTTPNotFound(
                text=json.dumps({"error": f"no device {name!r} in this lab"}),
                content_type="application/json",
            ) from None

    # ------------------------------------------------------------------ control API
    @web.middleware
    async def auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.headers.get("X-Lab-Token") != self.token:
            return web.json_response({"error": "bad or missing X-Lab-Token"}, status=401)
        try:
            response: web.StreamResponse = await handler(request)
            return response
        except LabError as exc:
            return web.json_response({"error": str(exc)}, status=400)

    async def h_status(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "ready": self.ready,
                "pid": os.getpid(),
                "started": self.started,
                "time_scale": self.ctx.time_scale,
                "devices": [d.summary() for d in self.ctx.devices.values()],
            }
        )

    async def h_device(self, request: web.Request) -> web.Response:
        return web.json_response(self.device(request.match_info["name"]).detail())

    async def h_fault(self, request: web.Request) -> web.Response:
        dev = self.device(request.match_info["name"])
        body = await request.json()
        kind = str(body.get("kind", ""))
        if body.get("clear"):
            if kind == "all":
                for k in list(dev.state["faults"]):
                    await dev.clear_fault(k)
            else:
                await dev.clear_fault(kind)
        else:
            await dev.set_fault(kind, body.get("params") or {})
        log.info("%s: fault %s %s", dev.name, kind, "cleared" if body.get("clear") else "set")
        return web.json_response(dev.summary())

    async def h_reset(self, request: web.Request) -> web.Response:
        dev = self.device(request.match_info["name"])
        body = await request.json() if request.can_read_body else {}
        await dev.reset(factory=bool(body.get("factory")))
        log.info("%s: reset%s", dev.name, " to factory" if body.get("factory") else "")
        return web.json_response(dev.summary())

    async def h_power_cycle(self, request: web.Request) -> web.Response:
        dev = self.device(request.match_info["name"])
        await dev.power_cycle()
        log.info("%s: power-cycled", dev.name)
        return web.json_response(dev.summary())

    async def h_dial(self, request: web.Request) -> web.Response:
        dev = self.device(request.match_info["name"])
        body = await request.json()
        call = dev.dial(str(body["address"]), int(body.get("rate", 0)), body.get("protocol", "SIP"))
        return web.json_response(call)

    async def h_hangup(self, request: web.Request) -> web.Response:
        dev = self.device(request.match_info["name"])
        dev.end_all_calls()
        return web.json_response(dev.summary())

    async def h_shutdown(self, request: web.Request) -> web.Response:
        self.stopping.set()
        return web.json_response({"stopping": True})

    async def start_control(self) -> str:
        app = web.Application(middlewares=[self.auth])
        app.add_routes(
            [
                web.get("/status", self.h_status),
                web.get("/devices/{name}", self.h_device),
                web.post("/devices/{name}/fault", self.h_fault),
                web.post("/devices/{name}/reset", self.h_reset),
                web.post("/devices/{name}/power-cycle", self.h_power_cycle),
                web.post("/devices/{name}/dial", self.h_dial),
                web.post("/devices/{name}/hangup", self.h_hangup),
                web.post("/shutdown", self.h_shutdown),
            ]
        )
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        server: Any = site._server
        port = server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(RuntimeError):  # not the main thread (in-process use)
                loop.add_signal_handler(sig, self.stopping.set)
        t0 = time.monotonic()
        self.load_devices()
        url = await self.start_control()
        await self.start_devices()
        self.ready = True
        flusher = asyncio.ensure_future(self.flusher())
        control = {
            "url": url,
            "token": self.token,
            "pid": os.getpid(),
            "started": self.started,
            "start_seconds": round(time.monotonic() - t0, 3),
        }
        tmp = self.state_dir / "control.json.tmp"
        tmp.write_text(json.dumps(control))
        os.replace(tmp, self.state_dir / "control.json")
        log.info(
            "lab ready: %d devices in %.1f s, control %s",
            len(self.ctx.devices),
            control["start_seconds"],
            url,
        )
        await self.stopping.wait()
        log.info("lab stopping")
        flusher.cancel()
        with contextlib.suppress(FileNotFoundError):
            (self.state_dir / "control.json").unlink()
        await asyncio.gather(*(d.stop() for d in self.ctx.devices.values()), return_exceptions=True)
        for dev in self.ctx.devices.values():
            dev.save()
            dev.flush()
        if self.runner is not None:
            await self.runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vcprov.lab.server")
    parser.add_argument("--state", required=True, type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # asyncssh logs every connection at INFO: keep the lab log readable.
    logging.getLogger("asyncssh").setLevel(logging.WARNING)
    raise_fd_limit()
    lab = Lab(args.state.resolve())
    try:
        asyncio.run(lab.run())
    except LabError as exc:
        log.error("%s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
