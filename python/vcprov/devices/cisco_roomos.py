"""Cisco RoomOS (and CE) codecs over the xAPI on HTTPS (endpoint-apis.md part B).

One session per run (``/xmlapi/session/begin`` -> cookie): sessions are served at 15
requests per second where Basic auth gets 1.  Errors come back as HTTP 200 bodies.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx

from .base import AuthFailed, Endpoint, Facts, ProtocolError, Target, Unreachable


class RoomOSEndpoint(Endpoint):
    family = "cisco-roomos"
    vendor = "Cisco"

    def __init__(self, target: Target):
        super().__init__(target)
        self.base = f"https://{target.host}:{target.port}"
        self.client: httpx.Client | None = None
        self.session = False

    def open(self) -> None:
        self.client = httpx.Client(verify=False, timeout=self.target.timeout)
        try:
            resp = self.client.post(
                f"{self.base}/xmlapi/session/begin",
                auth=(self.target.username, self.target.password),
            )
        except httpx.TransportError as exc:
            self._drop()
            raise Unreachable(self.target.name, exc.__class__.__name__) from None
        if resp.status_code == 401:
            self._drop()
            raise AuthFailed(self.target.name, "login refused (check the credentials)")
        if resp.status_code == 204:
            self.session = True
        else:
            # No session to be had (e.g. all in use): go on with Basic auth, 1 request/s.
            self.client.auth = httpx.BasicAuth(self.target.username, self.target.password)

    def close(self) -> None:
        if self.client is None:
            return
        try:
            if self.session:
                self.client.post(f"{self.base}/xmlapi/session/end")
        except httpx.TransportError:
            pass
        finally:
            self._drop()

    def _drop(self) -> None:
        if self.client is not None:
            self.client.close()
        self.client = None
        self.session = False

    def getxml(self, location: str) -> ET.Element:
        if self.client is None:
            raise ProtocolError(self.target.name, "no session (use `with driver:`)")
        try:
            resp = self.client.get(f"{self.base}/getxml", params={"location": location})
        except httpx.TransportError as exc:
            raise Unreachable(self.target.name, f"{exc.__class__.__name__} on {location}") from None
        if resp.status_code == 503:
            raise Unreachable(self.target.name, "HTTP 503 (rate limit)")
        if resp.status_code != 200:
            raise ProtocolError(self.target.name, f"getxml {location}: HTTP {resp.status_code}")
        return ET.fromstring(resp.content)

    def facts(self) -> Facts:
        root = self.getxml("/Status/SystemUnit")
        unit = root.find(".//SystemUnit")
        if unit is None:
            raise ProtocolError(self.target.name, "no SystemUnit in the status")
        return Facts(
            name=self.target.name,
            family=self.family,
            vendor=self.vendor,
            model=unit.findtext("ProductPlatform", ""),
            serial=unit.findtext("Hardware/Module/SerialNumber", ""),
            version=unit.findtext("Software/Version", ""),
        )
