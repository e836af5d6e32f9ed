"""The gateway's token signing keys: a JWKS file of private ES256 keys, newest first.

The newest key signs; every key in the file verifies and is published at ``GET /oauth/jwks``. Rotation without
downtime (``cpts-gateway keys rotate-signing``) puts a new key at the front and keeps the older ones, so tokens
signed before the rotation stay valid until they expire; ``--prune`` drops the keys that stopped signing longer ago
than a token lives. A running server notices the file changed (a cheap ``stat``) and reloads it.

In development, without ``CPTS_SIGNING_KEY_FILE``, the file is generated under ``CPTS_KEYS_DIR`` (mode 0600, never
in the repository); :func:`uses_development_keys` tells the production check that this is the case.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, import_key

from gateway.settings import Settings

ALGORITHM = "ES256"
DEVELOPMENT_FILE = "signing-keys.json"
PRUNE_MARGIN_SECONDS = 300  # clock skew and in-flight requests, on top of the token lifetime
STAT_INTERVAL_SECONDS = 1.0  # how often verification looks at the file's mtime (an unknown kid looks at once;
# signing and publishing look every time)
_PUBLIC_MEMBERS = ("kty", "crv", "x", "y", "kid", "alg", "use")


class SigningKeyError(RuntimeError):
    """The signing key file is missing, unreadable or holds no usable ES256 private key."""


@dataclass(frozen=True)
class SigningKey:
    kid: str
    key: ECKey  # private
    public: ECKey
    created: int | None  # epoch seconds (the file's "iat" member), None when unknown


def new_key_dict(now: int | None = None) -> dict[str, Any]:
    """A fresh P-256 private JWK with its thumbprint as ``kid`` and its creation time as ``iat``."""
    key = ECKey.generate_key("P-256", private=True, auto_kid=True)
    data: dict[str, Any] = dict(key.as_dict(private=True))
    data.update({"alg": ALGORITHM, "use": "sig", "iat": int(time.time()) if now is None else now})
    return data


def _parse(path: Path, raw: bytes) -> tuple[SigningKey, ...]:
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise SigningKeyError(f"{path}: not JSON ({exc})") from exc
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise SigningKeyError(f"{path}: expected a JWK Set with at least one key ({{'keys': [...]}})")
    keys: list[SigningKey] = []
    for n, entry in enumerate(entries):
        where = f"{path}: keys[{n}]"
        if not isinstance(entry, dict) or entry.get("kty") != "EC" or entry.get("crv") != "P-256":
            raise SigningKeyError(f"{where}: the gateway signs with ES256: an EC P-256 key is expected")
        if "d" not in entry:
            raise SigningKeyError(f"{where}: a private key ('d') is expected")
        try:
            key = import_key(entry, "EC")
        except (JoseError, ValueError, TypeError) as exc:
            raise SigningKeyError(f"{where}: {exc}") from exc
        kid = entry.get("kid") or key.thumbprint()
        public_dict = {name: entry[name] for name in ("kty", "crv", "x", "y") if name in entry}
        created = entry.get("iat")
        keys.append(
            SigningKey(
                kid=str(kid),
                key=key,
                public=import_key(public_dict, "EC"),
                created=created if isinstance(created, int) else None,
            )
        )
    kids = [k.kid for k in keys]
    if len(set(kids)) != len(kids):
        raise SigningKeyError(f"{path}: two keys share a kid")
    return tuple(keys)


def write_key_file(path: Path, entries: list[dict[str, Any]]) -> None:
    """Write the JWKS atomically (a reader never sees half a file), readable by its owner only."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".signing-", dir=path.parent)
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "wb") as stream:
            stream.write(orjson.dumps({"keys": entries}, option=orjson.OPT_INDENT_2))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _create_development_file(path: Path) -> None:
    """Create the file once even when several processes start together (the first link wins)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".signing-", dir=path.parent)
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "wb") as stream:
            stream.write(orjson.dumps({"keys": [new_key_dict()]}, option=orjson.OPT_INDENT_2))
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)


def uses_development_keys(settings: Settings) -> bool:
    """True when the signing keys are the generated development ones (``CPTS_SIGNING_KEY_FILE`` unset)."""
    return settings.signing_key_file is None


def signing_key_path(settings: Settings) -> Path:
    if settings.signing_key_file is not None:
        return settings.signing_key_file
    return settings.keys_dir / DEVELOPMENT_FILE


class SigningKeys:
    """The key file, loaded and reloaded when it changes; thread-safe, shared by the issuer and the verifier."""

    def __init__(self, path: Path, *, generate: bool = False) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._checked = 0.0
        self._keys: tuple[SigningKey, ...] = ()
        self._by_kid: dict[str, SigningKey] = {}
        if generate and not path.exists():
            _create_development_file(path)
        self.refresh(force=True)

    def refresh(self, *, force: bool = False) -> None:
        """Reload the file if its mtime, size or inode changed (at most once a second unless ``force``)."""
        now = time.monotonic()
        if not force and now - self._checked < STAT_INTERVAL_SECONDS:
            return
        with self._lock:
            self._checked = now
            try:
                status = self.path.stat()
            except OSError as exc:
                if self._keys:
                    return  # keep serving with what was loaded; the operator is replacing the file
                raise SigningKeyError(f"{self.path}: the signing key file cannot be read ({exc.strerror})") from exc
            stamp = (status.st_mtime_ns, status.st_size, status.st_ino)
            if stamp == self._stamp:
                return
            try:
                keys = _parse(self.path, self.path.read_bytes())
            except (OSError, SigningKeyError):
                if self._keys:
                    return  # a broken rewrite must not take a running server down
                raise
            self._keys, self._by_kid, self._stamp = keys, {k.kid: k for k in keys}, stamp

    @property
    def current(self) -> SigningKey:
        """The newest key: the one that signs (the file is looked at on every issuance: a rotation applies at once)."""
        self.refresh(force=True)
        return self._keys[0]

    def all(self) -> tuple[SigningKey, ...]:
        self.refresh(force=True)
        return self._keys

    def verification_key(self, kid: str) -> SigningKey | None:
        self.refresh()
        found = self._by_kid.get(kid)
        if found is None:
            self.refresh(force=True)  # maybe rotated a moment ago
            found = self._by_kid.get(kid)
        return found

    def public_jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The public keys, as published at ``GET /oauth/jwks``."""
        published = []
        for signing in self.all():
            public = dict(signing.public.as_dict(private=False))
            public.update({"kid": signing.kid, "alg": ALGORITHM, "use": "sig"})
            published.append({name: public[name] for name in _PUBLIC_MEMBERS if name in public})
        return {"keys": published}


_shared: dict[Path, SigningKeys] = {}
_shared_lock = threading.Lock()


def signing_keys(settings: Settings) -> SigningKeys:
    """The process-wide key set of these settings (one per file, so the issuer and the verifier share it).

    In production a missing ``CPTS_SIGNING_KEY_FILE`` is refused (:class:`SigningKeyError`); in development the
    file is generated under ``CPTS_KEYS_DIR``.
    """
    if settings.env == "production" and uses_development_keys(settings):
        raise SigningKeyError("CPTS_ENV=production needs CPTS_SIGNING_KEY_FILE (a JWKS of ES256 private keys)")
    path = signing_key_path(settings).resolve()
    with _shared_lock:
        keys = _shared.get(path)
        if keys is None:
            keys = _shared[path] = SigningKeys(path, generate=uses_development_keys(settings))
        return keys


def rotate(path: Path, *, prune: bool = False, lifetime_seconds: int = 300, now: int | None = None) -> list[str]:
    """Add a new key at the front of the file (created if absent); with ``prune`` drop keys no token can need.

    A key stopped signing when the key in front of it was created; once that is longer ago than a token lives
    (plus a margin), nothing it signed is still valid and it may go. Returns the kids now in the file, newest first.
    """
    moment = int(time.time()) if now is None else now
    entries: list[dict[str, Any]] = []
    if path.exists():
        _parse(path, path.read_bytes())  # refuse to rotate a file that is broken
        entries = list(orjson.loads(path.read_bytes())["keys"])
    entries.insert(0, new_key_dict(moment))
    if prune:
        kept = [entries[0]]
        for newer, entry in itertools.pairwise(entries):
            retired_at = newer.get("iat")
            if isinstance(retired_at, int) and moment - retired_at > lifetime_seconds + PRUNE_MARGIN_SECONDS:
                continue
            kept.append(entry)
        entries = kept
    write_key_file(path, entries)
    return [str(entry.get("kid")) for entry in entries]


__all__ = [
    "ALGORITHM",
    "SigningKey",
    "SigningKeyError",
    "SigningKeys",
    "new_key_dict",
    "rotate",
    "signing_key_path",
    "signing_keys",
    "uses_development_keys",
    "write_key_file",
]
