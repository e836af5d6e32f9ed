"""Verified tokens kept for a moment (security/token_cache.py): recognised without a new signature check, but never
past the client check, the token's expiry or the withdrawal of the key that signed it."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from joserfc import jwt
from sqlalchemy import Engine

from gateway.errors import Unauthenticated
from gateway.settings import Settings
from security.keys import new_key_dict, signing_key_path, signing_keys, write_key_file
from security.oauth import gateway_verifier
from security.token_cache import VerifiedTokens
from tests.security.oauth.oauth_helpers import claims_of, issue_token


@pytest.fixture
def issued(anonymous: httpx.Client, clean_db: Engine, secure_settings: Settings) -> str:
    return issue_token(anonymous, clean_db, secure_settings.issuer)


def test_a_verified_token_is_recognised_without_a_new_check(
    issued: str, secure_settings: Settings, clean_db: Engine
) -> None:
    verifier = gateway_verifier(secure_settings, clean_db)
    assert verifier.cached(issued) is None
    principal = verifier.principal(issued)
    assert verifier.cached(issued) == principal
    assert verifier.cached(issued[:-2] + ("AA" if not issued.endswith("AA") else "BB")) is None


def test_a_token_is_kept_no_longer_than_the_client_check(
    issued: str, secure_settings: Settings, clean_db: Engine
) -> None:
    from security.oauth.clients import ClientRegistry

    verifier = gateway_verifier(secure_settings, clean_db, client_cache_seconds=0)
    verifier.principal(issued)
    assert verifier.cached(issued) is None  # the client is looked up again: so is the token
    ClientRegistry(clean_db).remove("centre-a")
    with pytest.raises(Unauthenticated, match="no longer registered"):
        verifier.principal(issued)


def test_a_token_is_dropped_when_its_signing_key_is_withdrawn(
    issued: str, secure_settings: Settings, clean_db: Engine, tmp_path: Path
) -> None:
    settings = secure_settings.model_copy(update={"keys_dir": tmp_path})
    keys = signing_keys(settings)  # development keys of their own, so the shared server's stay as they are
    signing = keys.current
    token = jwt.encode({"alg": "ES256", "kid": signing.kid}, claims_of(issued), signing.key, algorithms=["ES256"])
    verifier = gateway_verifier(settings, clean_db)
    assert verifier.cached(token) is None and verifier.principal(token).client == "centre-a"
    assert verifier.cached(token) is not None
    write_key_file(signing_key_path(settings), [new_key_dict()])
    keys.refresh(force=True)
    assert verifier.cached(token) is None
    with pytest.raises(Unauthenticated, match="unknown kid"):
        verifier.principal(token)


def test_an_expired_token_is_not_kept(issued: str, secure_settings: Settings, clean_db: Engine) -> None:
    claims = {**claims_of(issued), "exp": int(time.time()) - 5}  # within the verifier's leeway: accepted
    signing = signing_keys(secure_settings).current
    token = jwt.encode({"alg": "ES256", "kid": signing.kid}, claims, signing.key, algorithms=["ES256"])
    verifier = gateway_verifier(secure_settings, clean_db)
    assert verifier.principal(token).client == "centre-a"
    assert verifier.cached(token) is None


def test_the_cache_forgets_everything_rather_than_grow() -> None:
    cache: VerifiedTokens[str] = VerifiedTokens(max_entries=2)
    cache.put("t1", "one", 30)
    cache.put("t2", "two", 30)
    assert (cache.get("t1"), cache.get("t2"), len(cache)) == ("one", "two", 2)
    cache.put("t3", "three", 30)
    assert (cache.get("t1"), cache.get("t2"), cache.get("t3")) == (None, None, "three")
    cache.put("t4", "four", 0)  # nothing to keep
    assert cache.get("t4") is None


def test_an_entry_lapses_after_its_time() -> None:
    cache: VerifiedTokens[str] = VerifiedTokens(max_seconds=1)
    cache.put("t1", "one", 30)  # capped by max_seconds
    assert cache.get("t1") == "one"
    time.sleep(1.1)
    assert cache.get("t1") is None and len(cache) == 0
