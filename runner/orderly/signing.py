"""Ed25519 request signing for Orderly's private REST endpoints (shared/orderly-api.md §2).

The signed message is `timestamp + METHOD + request-target + body`, where the request-target
and the body are taken from the request exactly as it goes on the wire: whatever bytes the
server receives are the bytes that were signed, so no re-serialisation can ever break a
signature.

This module must never let the secret out: not in a repr, str, log line, exception or any other
output. A `Signer` keeps only the nacl signing key; no attribute holds the secret text.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable, Generator

import base58
import httpx
import nacl.exceptions
import nacl.signing

from runner.errors import ConfigError

KEY_PREFIX = "ed25519:"

HEADER_ACCOUNT_ID = "orderly-account-id"
HEADER_KEY = "orderly-key"
HEADER_TIMESTAMP = "orderly-timestamp"
HEADER_SIGNATURE = "orderly-signature"

_SEED_BYTES = 32


def _decode_secret(secret: str) -> bytes:
    """Return the 32-byte ed25519 seed from any accepted spelling of an Orderly secret.

    Accepted: `ed25519:<base58>`, bare base58 (the seed, or the 64-byte seed||public key the
    official connector also accepts, §2.2), or 64 hex characters. Errors never quote the input.
    """
    text = secret.strip()
    if text.startswith(KEY_PREFIX):
        text = text[len(KEY_PREFIX) :]
    if len(text) == 2 * _SEED_BYTES:
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass  # 64 characters that are not hex: try base58 below
    try:
        raw = base58.b58decode(text)
    except ValueError:
        raise ConfigError(
            "the Orderly secret is not valid: expected 'ed25519:<base58>', base58 or 64 hex "
            "characters"
        ) from None
    if len(raw) not in (_SEED_BYTES, 2 * _SEED_BYTES):
        raise ConfigError(
            f"the Orderly secret decodes to {len(raw)} bytes; an ed25519 seed is 32 bytes"
        )
    return raw[:_SEED_BYTES]


class Signer:
    """Signs messages with an Orderly ed25519 key; knows the matching `orderly-key` value."""

    __slots__ = ("_key", "orderly_key")

    def __init__(self, secret: str) -> None:
        seed = _decode_secret(secret)
        self._key = nacl.signing.SigningKey(seed)
        public = bytes(self._key.verify_key)
        self.orderly_key: str = KEY_PREFIX + base58.b58encode(public).decode("ascii")

    @property
    def public_key(self) -> bytes:
        """The raw 32-byte ed25519 public key."""
        return bytes(self._key.verify_key)

    def sign(self, message: bytes) -> str:
        """Sign `message` and return the signature as url-safe base64 (padded), §2.4."""
        signature = self._key.sign(message).signature
        return base64.urlsafe_b64encode(signature).decode("ascii")

    def __repr__(self) -> str:
        return f"Signer(orderly_key={self.orderly_key!r})"

    __str__ = __repr__

    def __reduce__(self) -> str | tuple[object, ...]:
        # Refuse pickling: a pickle would carry the private key to wherever it is written.
        raise TypeError("a Signer cannot be pickled (it holds a private key)")


def verify_signature(orderly_key: str, message: bytes, signature: str) -> bool:
    """Check `signature` (either base64 alphabet, padding optional) over `message`.

    For tests and tools; the simulator has its own verifier on purpose.
    """
    text = signature.strip().replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        raw = base64.b64decode(text, validate=True)
        public = base58.b58decode(orderly_key.removeprefix(KEY_PREFIX))
        nacl.signing.VerifyKey(public).verify(message, raw)
    except (binascii.Error, ValueError, nacl.exceptions.BadSignatureError):
        return False
    except nacl.exceptions.CryptoError:
        return False
    return True


def generate_secret() -> str:
    """A new random ed25519 secret, spelled `ed25519:<base58 seed>`."""
    key = nacl.signing.SigningKey.generate()
    return KEY_PREFIX + base58.b58encode(bytes(key)).decode("ascii")


def signed_message(timestamp_ms: int, request: httpx.Request) -> bytes:
    """The exact bytes Orderly verifies for `request` (§2.3): nothing is re-encoded."""
    target = request.url.raw_path  # path plus '?query' exactly as it goes on the wire
    body = request.content if request.method in ("POST", "PUT") else b""
    return str(timestamp_ms).encode("ascii") + request.method.encode("ascii") + target + body


class OrderlyAuth(httpx.Auth):
    """httpx auth flow that adds the four `orderly-*` headers to a private request."""

    requires_request_body = True

    def __init__(
        self,
        account_id: str,
        signer: Signer,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._account_id = account_id
        self._signer = signer
        self._clock = clock

    def __repr__(self) -> str:
        return f"OrderlyAuth(account_id={self._account_id!r}, signer={self._signer!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        timestamp_ms = int(self._clock() * 1000)
        signature = self._signer.sign(signed_message(timestamp_ms, request))
        request.headers[HEADER_ACCOUNT_ID] = self._account_id
        request.headers[HEADER_KEY] = self._signer.orderly_key
        request.headers[HEADER_TIMESTAMP] = str(timestamp_ms)
        request.headers[HEADER_SIGNATURE] = signature
        yield request
