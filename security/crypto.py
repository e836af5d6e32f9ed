"""Field encryption at rest: data keys with ids (AES-256-GCM envelopes) and a separate blind-index key (HMAC-SHA256).

The data keys file (``CPTS_DATA_KEYS_FILE``; unset in development: ``KEYS_DIR/data-keys.json``, generated with mode
0600) is JSON::

    {"active": "k2-5c01d7",
     "keys": {"k1-9a3f0e": "<base64 of 32 random bytes>", "k2-5c01d7": "<base64 of 32 random bytes>"},
     "index_key": "<base64 of 32 random bytes>"}

``active`` seals new envelopes; every key listed still opens the envelopes that name it, so a rotation never makes
data unreadable. Key ids are ``[A-Za-z0-9_-]`` and end with a random part, so two files never share one. The index
key only feeds HMACs (blind indexes), never AES, and is never rotated by ``keys rotate-data`` (the search indexes
would have to be rebuilt).

Envelopes carry the key id in clear, a random 96-bit nonce, and are bound to their place by associated data (the
caller's ``aad``, e.g. ``Patient/123``): an envelope copied to another record does not open there.

- text (inside JSON): ``cpts1.<kid>.<base64url(nonce ‖ ciphertext ‖ tag)>``
- bytes (raw payloads): ``CPTS1\\x00<kid>\\x00`` ‖ nonce ‖ ciphertext ‖ tag

Errors::

    CryptoError (500, SEC-CRYPTO)
    ├── DataKeysError          the keys file is missing or malformed (names the file and what is wrong)
    ├── UnknownKeyId           an envelope names a key the file does not hold
    └── TamperedCiphertext     the envelope does not open: altered, truncated, or moved to another record
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.errors import GatewayError
from gateway.settings import Settings

KEY_BYTES = 32
NONCE_BYTES = 12
TEXT_PREFIX = "cpts1."
BYTES_PREFIX = b"CPTS1\x00"
DEV_FILE_NAME = "data-keys.json"
KID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
REFRESH_SECONDS = 5.0


class CryptoError(GatewayError):
    """Stored data cannot be sealed or opened; a server-side problem, never the client's."""

    status = 500
    issue_code = "security"
    default_code = "SEC-CRYPTO"


class DataKeysError(CryptoError):
    default_code = "SEC-DATA-KEYS"


class UnknownKeyId(CryptoError):
    default_code = "SEC-KEY-UNKNOWN"


class TamperedCiphertext(CryptoError):
    default_code = "SEC-CIPHERTEXT"


@dataclass(frozen=True)
class DataKeys:
    """The content of a data keys file."""

    active: str
    keys: Mapping[str, bytes]
    index_key: bytes
    path: Path | None = None
    development: bool = False  # generated because CPTS_DATA_KEYS_FILE is unset: production refuses these


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _key_bytes(value: Any, where: str, path: Path) -> bytes:
    if not isinstance(value, str):
        raise DataKeysError(f"{path}: {where} must be a base64 string of {KEY_BYTES} bytes")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DataKeysError(f"{path}: {where} is not valid base64") from exc
    if len(raw) != KEY_BYTES:
        raise DataKeysError(f"{path}: {where} must be {KEY_BYTES} bytes, it is {len(raw)}")
    return raw


def parse_keys(text: bytes, path: Path, *, development: bool = False) -> DataKeys:
    """Check and decode a data keys file; every problem names the file and the key."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise DataKeysError(f"{path}: not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise DataKeysError(f"{path}: expected an object with 'active', 'keys' and 'index_key'")
    keys = data.get("keys")
    if not isinstance(keys, dict) or not keys:
        raise DataKeysError(f"{path}: 'keys' must be a non-empty object of key id -> base64 key")
    decoded: dict[str, bytes] = {}
    for kid, value in keys.items():
        if not KID.match(kid):
            raise DataKeysError(f"{path}: key id {kid!r} must be 1-64 characters among A-Z a-z 0-9 _ -")
        decoded[kid] = _key_bytes(value, f"keys.{kid}", path)
    active = data.get("active")
    if active not in decoded:
        raise DataKeysError(f"{path}: 'active' ({active!r}) must name one of the keys ({', '.join(decoded)})")
    index_key = _key_bytes(data.get("index_key"), "index_key", path)
    if index_key in decoded.values():
        raise DataKeysError(f"{path}: 'index_key' must differ from every data key")
    return DataKeys(str(active), decoded, index_key, path, development)


def render_keys(keys: DataKeys) -> bytes:
    document = {
        "active": keys.active,
        "keys": {kid: _b64(raw) for kid, raw in keys.keys.items()},
        "index_key": _b64(keys.index_key),
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"


def write_keys(path: Path, keys: DataKeys) -> None:
    """Write the file atomically, readable by its owner only (the keys never go near the repository)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(render_keys(keys))
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()


def new_kid(existing: Mapping[str, bytes]) -> str:
    while True:
        kid = f"k{len(existing) + 1}-{secrets.token_hex(3)}"
        if kid not in existing:
            return kid


def generate_keys(path: Path | None = None, *, development: bool = False) -> DataKeys:
    kid = new_kid({})
    return DataKeys(kid, {kid: secrets.token_bytes(KEY_BYTES)}, secrets.token_bytes(KEY_BYTES), path, development)


def keys_path(settings: Settings) -> Path:
    """Where the data keys live: ``CPTS_DATA_KEYS_FILE``, or the development file under ``KEYS_DIR``."""
    return settings.data_keys_file if settings.data_keys_file is not None else settings.keys_dir / DEV_FILE_NAME


def uses_development_keys(settings: Settings) -> bool:
    """True when no data keys file is configured (keys generated under KEYS_DIR): production must refuse this."""
    return settings.data_keys_file is None


def read_keys(path: Path, *, development: bool = False) -> DataKeys:
    try:
        text = path.read_bytes()
    except FileNotFoundError as exc:
        raise DataKeysError(f"{path}: the data keys file does not exist (CPTS_DATA_KEYS_FILE)") from exc
    except OSError as exc:
        raise DataKeysError(f"{path}: cannot read the data keys file ({exc.strerror})") from exc
    return parse_keys(text, path, development=development)


_generation = threading.Lock()


def load_data_keys(settings: Settings) -> DataKeys:
    """The configured keys; in development (no file configured) they are generated once under KEYS_DIR."""
    path = keys_path(settings)
    development = uses_development_keys(settings)
    if development and not path.exists():
        with _generation:
            if not path.exists():
                write_keys(path, generate_keys(path, development=True))
    return read_keys(path, development=development)


def rotate_data_key(path: Path) -> DataKeys:
    """Add a fresh data key to the file and make it the active one; the older keys stay to open old envelopes."""
    current = read_keys(path)
    kid = new_kid(current.keys)
    rotated = DataKeys(kid, {**current.keys, kid: secrets.token_bytes(KEY_BYTES)}, current.index_key, path)
    write_keys(path, rotated)
    return rotated


class DataCipher:
    """Seals and opens envelopes with the keys of one file, and computes blind indexes with its index key.

    A process notices a rotation made by another one: the file is read again when an envelope names a key it does
    not know, and (at most every few seconds) before sealing, so new envelopes move to the new active key.
    """

    def __init__(self, keys: DataKeys) -> None:
        self._keys = keys
        self._aead = {kid: AESGCM(raw) for kid, raw in keys.keys.items()}
        self._mac = hmac.new(keys.index_key, digestmod=hashlib.sha256)  # keyed once, copied for each value
        self._mtime = self._stat()
        self._checked = time.monotonic()
        self._lock = threading.Lock()

    @property
    def keys(self) -> DataKeys:
        return self._keys

    @property
    def active_kid(self) -> str:
        self._maybe_refresh()
        return self._keys.active

    def refresh(self) -> None:
        """Read the keys file again now if it changed (a rotation by another process)."""
        self._maybe_refresh(force=True)

    # -- keys file changes -----------------------------------------------------------------------------------------
    def _stat(self) -> float | None:
        path = self._keys.path
        try:
            return path.stat().st_mtime if path is not None else None
        except OSError:
            return None

    def _maybe_refresh(self, *, force: bool = False) -> None:
        if self._keys.path is None or (not force and time.monotonic() - self._checked < REFRESH_SECONDS):
            return
        with self._lock:
            self._checked = time.monotonic()
            mtime = self._stat()
            if mtime is None or mtime == self._mtime:
                return
            fresh = read_keys(self._keys.path, development=self._keys.development)
            self._aead = {kid: AESGCM(raw) for kid, raw in fresh.keys.items()}
            self._mac = hmac.new(fresh.index_key, digestmod=hashlib.sha256)
            self._keys, self._mtime = fresh, mtime

    def _opener(self, kid: str) -> AESGCM:
        aead = self._aead.get(kid)
        if aead is None:
            self._maybe_refresh(force=True)
            aead = self._aead.get(kid)
        if aead is None:
            where = self._keys.path or "the data keys"
            raise UnknownKeyId(f"data key '{kid}' is not in {where}: an envelope sealed with it cannot be opened")
        return aead

    # -- envelopes -------------------------------------------------------------------------------------------------
    def _seal(self, plaintext: bytes, aad: bytes) -> tuple[str, bytes]:
        kid = self.active_kid
        nonce = secrets.token_bytes(NONCE_BYTES)
        return kid, nonce + self._aead[kid].encrypt(nonce, plaintext, aad)

    def _open(self, kid: str, sealed: bytes, aad: bytes) -> bytes:
        aead = self._opener(kid)
        if len(sealed) < NONCE_BYTES + 16:
            raise TamperedCiphertext("a sealed value is truncated")
        try:
            return aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)
        except InvalidTag as exc:
            raise TamperedCiphertext(
                "a sealed value does not open: it was altered or moved from another record"
            ) from exc

    def seal_text(self, plaintext: bytes, aad: bytes) -> str:
        kid, sealed = self._seal(plaintext, aad)
        return f"{TEXT_PREFIX}{kid}.{base64.urlsafe_b64encode(sealed).decode().rstrip('=')}"

    def open_text(self, envelope: str, aad: bytes) -> bytes:
        kid, body = split_text(envelope)
        try:
            sealed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (binascii.Error, ValueError) as exc:
            raise TamperedCiphertext("a sealed value is not valid base64") from exc
        return self._open(kid, sealed, aad)

    def seal_bytes(self, plaintext: bytes, aad: bytes) -> bytes:
        kid, sealed = self._seal(plaintext, aad)
        return BYTES_PREFIX + kid.encode() + b"\x00" + sealed

    def open_bytes(self, envelope: bytes, aad: bytes) -> bytes:
        kid = bytes_kid(envelope)
        if kid is None:
            raise TamperedCiphertext("a sealed payload has no valid header")
        return self._open(kid, envelope[len(BYTES_PREFIX) + len(kid) + 1 :], aad)

    # -- blind indexes ---------------------------------------------------------------------------------------------
    def blind(self, domain: str, value: str) -> str:
        """A keyed, deterministic stand-in for ``value`` in ``domain`` (equal inputs give equal outputs)."""
        mac = self._mac.copy()
        mac.update(f"{domain}\x1f{value}".encode())
        return base64.urlsafe_b64encode(mac.digest()).decode()[:43]

    def keyed_hash(self, data: bytes) -> str:
        """A keyed content hash (hex), for change detection on sealed resources without an unkeyed fingerprint."""
        mac = self._mac.copy()
        mac.update(b"content\x1f" + data)
        return mac.hexdigest()


def split_text(envelope: str) -> tuple[str, str]:
    """(key id, body) of a text envelope."""
    if not envelope.startswith(TEXT_PREFIX):
        raise TamperedCiphertext("a sealed value has no valid header")
    kid, dot, body = envelope[len(TEXT_PREFIX) :].partition(".")
    if not dot or not KID.match(kid):
        raise TamperedCiphertext("a sealed value has no valid key id")
    return kid, body


def bytes_kid(envelope: bytes) -> str | None:
    """The key id of a bytes envelope, or None when ``envelope`` is not one."""
    if not envelope.startswith(BYTES_PREFIX):
        return None
    end = envelope.find(b"\x00", len(BYTES_PREFIX))
    if end < 0:
        return None
    kid = envelope[len(BYTES_PREFIX) : end].decode("ascii", "replace")
    return kid if KID.match(kid) else None


__all__ = [
    "CryptoError",
    "DataCipher",
    "DataKeys",
    "DataKeysError",
    "TamperedCiphertext",
    "UnknownKeyId",
    "bytes_kid",
    "generate_keys",
    "keys_path",
    "load_data_keys",
    "parse_keys",
    "read_keys",
    "rotate_data_key",
    "split_text",
    "uses_development_keys",
    "write_keys",
]
