"""Poly Group Series and Poly OS (G7500) over the REST API (endpoint-apis.md part A).

One session per run: ``POST /rest/session`` on open, ``{"action":"Logout"}`` on close, also
after errors (leaked sessions lock a Poly device until it reboots).  Poly OS wants its
``XSRF-TOKEN`` cookie echoed in an ``x-xsrf-token`` header.
"""

from __future__ import annotations

from typing import Any

import httpx

from .base import AuthFailed, Endpoint, Facts, ProtocolError, Target, Unreachable


class PolyEndpoint(Endpoint):
    vendor = "Poly"

    def __init__(self, target: Target):
        super().__init__(target)
        self.family = target.family
        self.base = f"https://{target.host}:{target.port}"
        self.client: httpx.Client | None = None
        self.headers: dict[str, str] = {}

    # ------------------------------------------------------------------ session
    def open(self) -> None:
        self.client = httpx.Client(verify=False, timeout=self.target.timeout)
        body: dict[str, Any] = {"user": self.target.username, "password": self.target.password}
        if self.family == "poly-group-series":
            body = {"action": "Login", **body}
        try:
            resp = self.client.post(f"{self.base}/rest/session", json=body)
        except httpx.TransportError as exc:
            self._drop()
            raise Unreachable(self.target.name, f"{exc.__class__.__name__}") from None
        if resp.status_code in (401, 403) or (
            resp.status_code == 200 and not resp.json().get("success", False)
        ):
            self._drop()
            raise AuthFailed(self.target.name, "login refused (check the credentials)")
        if resp.status_code != 200:
            self._drop()
            raise ProtocolError(self.target.name, f"login answered HTTP {resp.status_code}")
        xsrf = self.client.cookies.get("XSRF-TOKEN")
        self.headers = {"x-xsrf-token": xsrf} if xsrf else {}

    def close(self) -> None:
        if self.client is None:
            return
        try:
            self.client.post(
                f"{self.base}/rest/session", json={"action": "Logout"}, headers=self.headers
            )
        except httpx.TransportError:
            pass  # the device went away; its session will expire
        finally:
            self._drop()

    def _drop(self) -> None:
        if self.client is not None:
            self.client.close()
        self.client = None

    def _get(self, path: str) -> Any:
        if self.client is None:
            raise ProtocolError(self.target.name, "no session (use `with driver:`)")
        try:
            resp = self.client.get(f"{self.base}{path}", headers=self.headers)
        except httpx.TransportError as exc:
            raise Unreachable(self.target.name, f"{exc.__class__.__name__} on {path}") from None
        if resp.status_code != 200:
            raise ProtocolError(self.target.name, f"GET {path} answered HTTP {resp.status_code}")
        return resp.json()

    # ------------------------------------------------------------------ facts
    def facts(self) -> Facts:
        system = self._get("/rest/system")
        version = str(system.get("softwareVersion", ""))
        # Group Series says "Release - 6.2.2.8-670021"; Poly OS says "4.1.0" (build apart).
        version = version.removeprefix("Release - ").strip()
        return Facts(
            name=self.target.name,
            family=self.family,
            vendor=self.vendor,
            model=str(system.get("model", "")),
            serial=str(system.get("serialNumber", "")),
            version=version,
            system_name=str(system.get("systemName", "")),
        )
