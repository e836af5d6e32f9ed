"""Signing keys: generated in development (0600), rotated without downtime, pruned, required in production."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import Engine

from gateway.settings import Settings
from security.keys import (
    PRUNE_MARGIN_SECONDS,
    SigningKeyError,
    SigningKeys,
    rotate,
    signing_key_path,
    signing_keys,
    uses_development_keys,
    write_key_file,
)
from tests.security.oauth.oauth_helpers import ask_token, assertion, es384_key, header_of, register, token_form


def _token(http: httpx.Client, key: object, settings: Settings) -> str:
    response = ask_token(http, token_form(assertion(key, "centre-a", f"{settings.issuer}/oauth/token")))  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def test_rotation_keeps_old_tokens_valid_and_signs_with_the_new_key(
    anonymous: httpx.Client, clean_db: Engine, secure_settings: Settings
) -> None:
    key = es384_key()
    register(clean_db, "centre-a", key)
    before = _token(anonymous, key, secure_settings)
    old_kid = header_of(before)["kid"]

    kids = rotate(signing_key_path(secure_settings), lifetime_seconds=secure_settings.token_lifetime_seconds)
    assert kids[1:].count(old_kid) == 1 and kids[0] != old_kid

    published = [k["kid"] for k in anonymous.get("/oauth/jwks").json()["keys"]]
    assert published[0] == kids[0] and old_kid in published
    after = _token(anonymous, key, secure_settings)
    assert header_of(after)["kid"] == kids[0]
    for token in (before, after):
        response = anonymous.get("/fhir/Slot", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text


def test_development_keys_are_generated_owner_only(secure_settings: Settings) -> None:
    assert uses_development_keys(secure_settings)
    path = signing_key_path(secure_settings)
    signing_keys(secure_settings)
    assert path.is_file() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.parent == secure_settings.keys_dir


def test_production_refuses_missing_signing_keys(secure_settings: Settings, tmp_path: Path) -> None:
    production = secure_settings.model_copy(update={"env": "production"})
    with pytest.raises(SigningKeyError, match="CPTS_SIGNING_KEY_FILE"):
        signing_keys(production)
    key_file = tmp_path / "gateway-keys.json"
    rotate(key_file)
    configured = production.model_copy(update={"signing_key_file": key_file})
    assert not uses_development_keys(configured)
    assert signing_keys(configured).current.kid == orjson.loads(key_file.read_bytes())["keys"][0]["kid"]


def test_prune_drops_only_keys_retired_longer_than_a_token_lives(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    long_ago = int(time.time()) - 10_000
    first = rotate(path, now=long_ago)
    second = rotate(path, now=long_ago + 10)  # retired `first` 10 000 s ago
    third = rotate(path, now=int(time.time()) - 5)  # retired `second` a moment ago
    assert len(third) == 3
    pruned = rotate(path, prune=True, lifetime_seconds=300)
    # `first` stopped signing when `second` was created, long ago: no valid token can need it any more;
    # `second` stopped signing a moment ago (when `third` came): tokens it signed may still be in use
    assert pruned[1:] == [third[0], second[0]]
    assert first[0] not in pruned and 300 + PRUNE_MARGIN_SECONDS < 10_000


def test_a_running_key_set_reloads_a_changed_file(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    rotate(path)
    keys = SigningKeys(path)
    first = keys.current.kid
    rotate(path)
    assert keys.verification_key(first) is not None
    keys.refresh(force=True)
    assert keys.current.kid != first
    assert [k.kid for k in keys.all()][1] == first


def test_a_broken_rewrite_does_not_take_the_server_down(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    rotate(path)
    keys = SigningKeys(path)
    kid = keys.current.kid
    path.write_text("{not json")
    keys.refresh(force=True)
    assert keys.current.kid == kid
    with pytest.raises(SigningKeyError, match="not JSON"):
        SigningKeys(path)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ({"keys": []}, "at least one key"),
        ({"keys": [{"kty": "RSA", "n": "x", "e": "AQAB"}]}, "EC P-256"),
        ({"keys": [{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}]}, "private key"),
    ],
)
def test_bad_key_files_are_refused_with_the_reason(tmp_path: Path, content: dict[str, object], says: str) -> None:
    path = tmp_path / "keys.json"
    write_key_file(path, content["keys"])  # type: ignore[arg-type]
    with pytest.raises(SigningKeyError, match=says):
        SigningKeys(path)
