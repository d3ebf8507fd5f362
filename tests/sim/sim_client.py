"""A minimal signed Orderly client for the simulator's own tests.

Self-contained on purpose (pynacl + base58 directly): the simulator must be checked against
an independent signer, not the project's client code.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import base58
import httpx
from nacl.signing import SigningKey


def _json_default(value: object) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


class Reply:
    def __init__(self, response: httpx.Response) -> None:
        self.status = response.status_code
        self.headers = response.headers
        self.body: dict[str, Any] = json.loads(response.content, parse_float=Decimal)

    @property
    def data(self) -> Any:
        assert self.body.get("success") is True, (self.status, self.body)
        return self.body.get("data")

    @property
    def code(self) -> int | None:
        return self.body.get("code")

    def __repr__(self) -> str:
        return f"Reply({self.status}, {self.body})"


class SignedClient:
    def __init__(
        self,
        client: httpx.AsyncClient,
        account_id: str,
        secret: str,
        orderly_key: str,
        clock: Callable[[], int] | None = None,
    ) -> None:
        self.client = client
        self.account_id = account_id
        seed = base58.b58decode(secret.split(":", 1)[-1])[:32]
        self._signer = SigningKey(seed)
        self.orderly_key = orderly_key
        self.clock = clock or (lambda: int(time.time() * 1000))

    def headers(self, method: str, target: str, body: str) -> dict[str, str]:
        ts = str(self.clock())
        signature = self._signer.sign(f"{ts}{method}{target}{body}".encode()).signature
        return {
            "orderly-account-id": self.account_id,
            "orderly-key": self.orderly_key,
            "orderly-timestamp": ts,
            "orderly-signature": base64.urlsafe_b64encode(signature).decode(),
            "content-type": "application/json"
            if method in ("POST", "PUT")
            else "application/x-www-form-urlencoded",
        }

    async def request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
    ) -> Reply:
        target = path
        if params:
            target += "?" + "&".join(f"{k}={v}" for k, v in params.items())
        text = ""
        if method in ("POST", "PUT"):
            text = json.dumps(body or {}, default=_json_default)
        response = await self.client.request(
            method,
            target,
            content=text.encode() if text else None,
            headers=self.headers(method, target, text),
        )
        return Reply(response)

    async def get(self, path: str, **params: Any) -> Reply:
        return await self.request("GET", path, params=params)

    async def delete(self, path: str, **params: Any) -> Reply:
        return await self.request("DELETE", path, params=params)

    async def post(self, path: str, body: dict[str, Any] | None = None) -> Reply:
        return await self.request("POST", path, body=body)

    async def put(self, path: str, body: dict[str, Any] | None = None) -> Reply:
        return await self.request("PUT", path, body=body)
