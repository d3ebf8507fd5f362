"""Verification of Orderly's ed25519 request signatures (orderly-api.md §2.10).

message = orderly-timestamp + METHOD + request target + raw body. The target is tried exactly
as received, then percent-decoded (ccxt signs the unescaped query but sends it escaped); the
body is the raw bytes, never a re-serialisation; the signature may be standard or url-safe
base64, padded or not. This is the simulator's own verifier: it must never import the
project's client-side signer, so a bug there cannot be mirrored here.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from urllib.parse import unquote

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from runner.sim import errors as e
from runner.sim.errors import SimError
from runner.sim.model import ApiKey

TIMESTAMP_WINDOW_MS = 300_000
_KEY_PREFIX = "ed25519:"
_verify_keys: dict[str, VerifyKey] = {}


def decode_signature(text: str) -> bytes | None:
    """The 64 signature bytes from any base64 variant, or None."""
    cleaned = "".join(text.split()).replace("-", "+").replace("_", "/").rstrip("=")
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        raw = base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == 64 else None


def _verify_key(public_key_hex: str) -> VerifyKey:
    key = _verify_keys.get(public_key_hex)
    if key is None:
        key = VerifyKey(bytes.fromhex(public_key_hex))
        _verify_keys[public_key_hex] = key
    return key


def authenticate(
    headers: Mapping[str, str],
    method: str,
    target: str,
    body: bytes,
    now_ms: int,
    keys: Mapping[str, ApiKey],
) -> ApiKey:
    """The registered key that signed this request, or SimError -1001/-1002 (401)."""
    account_id = headers.get("orderly-account-id")
    orderly_key = headers.get("orderly-key")
    timestamp = headers.get("orderly-timestamp")
    signature = headers.get("orderly-signature")
    if not account_id or not orderly_key or not timestamp or not signature:
        raise SimError(
            e.INVALID_SIGNATURE,
            "orderly-account-id, orderly-key, orderly-timestamp and orderly-signature are required",
        )
    try:
        ts = int(timestamp.strip())
    except ValueError:
        raise SimError(e.INVALID_SIGNATURE, "orderly-timestamp must be ms since epoch") from None
    if abs(now_ms - ts) > TIMESTAMP_WINDOW_MS:
        raise SimError(e.INVALID_SIGNATURE, "orderly-timestamp is outside the 300 s window")
    name = orderly_key.strip()
    if not name.startswith(_KEY_PREFIX):
        name = _KEY_PREFIX + name
    key = keys.get(name)
    if key is None or key.account_id != account_id.strip():
        raise SimError(e.UNAUTHORIZED, "orderly key is not registered to this account")
    if key.expiration < now_ms:
        raise SimError(e.UNAUTHORIZED, "orderly key has expired")
    raw_signature = decode_signature(signature)
    if raw_signature is None:
        raise SimError(e.INVALID_SIGNATURE, "orderly-signature is not a base64 ed25519 signature")
    verifier = _verify_key(key.public_key_hex)
    prefix = timestamp.encode() + method.upper().encode()
    candidates = [target]
    decoded = unquote(target)
    if decoded != target:
        candidates.append(decoded)
    for candidate in candidates:
        try:
            verifier.verify(prefix + candidate.encode() + body, raw_signature)
        except BadSignatureError:
            continue
        return key
    raise SimError(e.INVALID_SIGNATURE, "signature does not match the request")


def require_scope(key: ApiKey, scope: str) -> None:
    if scope not in {part.strip() for part in key.scope.split(",")}:
        raise SimError(e.UNAUTHORIZED, f"orderly key lacks the {scope} scope")
