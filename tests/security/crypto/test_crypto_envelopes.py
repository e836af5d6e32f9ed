"""AES-256-GCM envelopes, the data keys file and the blind-index normalisation, with real crypto."""

from __future__ import annotations

import base64
import json
import re
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.settings import Settings
from security.crypto import (
    DataCipher,
    DataKeysError,
    TamperedCiphertext,
    UnknownKeyId,
    generate_keys,
    load_data_keys,
    read_keys,
    rotate_data_key,
    split_text,
    uses_development_keys,
    write_keys,
)
from security.protect import Protector, normalise_token, phrase, words

AAD = b"Patient/p1"


@pytest.fixture
def cipher(tmp_path: Path) -> DataCipher:
    path = tmp_path / "keys.json"
    write_keys(path, generate_keys(path))
    return DataCipher(read_keys(path))


@settings(max_examples=200, deadline=None)
@given(plaintext=st.binary(max_size=2048), aad=st.binary(max_size=64))
def test_text_envelopes_round_trip(plaintext: bytes, aad: bytes) -> None:
    cipher = DataCipher(generate_keys())
    envelope = cipher.seal_text(plaintext, aad)
    assert envelope.startswith(f"cpts1.{cipher.active_kid}.")
    assert cipher.open_text(envelope, aad) == plaintext


@settings(max_examples=200, deadline=None)
@given(plaintext=st.binary(max_size=2048), aad=st.binary(max_size=64))
def test_bytes_envelopes_round_trip(plaintext: bytes, aad: bytes) -> None:
    cipher = DataCipher(generate_keys())
    assert cipher.open_bytes(cipher.seal_bytes(plaintext, aad), aad) == plaintext


def test_each_seal_uses_a_fresh_nonce(cipher: DataCipher) -> None:
    assert cipher.seal_text(b"284053523804256", AAD) != cipher.seal_text(b"284053523804256", AAD)


def test_an_envelope_does_not_open_in_another_place(cipher: DataCipher) -> None:
    envelope = cipher.seal_text(b"MARTIN", AAD)
    with pytest.raises(TamperedCiphertext, match="moved from another record"):
        cipher.open_text(envelope, b"Patient/p2")
    payload = cipher.seal_bytes(b"MSH|...", b"ingest_message/a")
    with pytest.raises(TamperedCiphertext):
        cipher.open_bytes(payload, b"ingest_message/b")


@settings(max_examples=100, deadline=None)
@given(position=st.integers(min_value=0))
def test_any_altered_byte_is_refused(position: int) -> None:
    cipher = DataCipher(generate_keys())
    envelope = cipher.seal_text(b"12 rue de la Paix", AAD)
    kid, body = split_text(envelope)
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw[position % len(raw)] ^= 0x01
    altered = f"cpts1.{kid}.{base64.urlsafe_b64encode(bytes(raw)).decode().rstrip('=')}"
    with pytest.raises(TamperedCiphertext):
        cipher.open_text(altered, AAD)


def test_an_unknown_key_id_is_a_clear_error(cipher: DataCipher) -> None:
    envelope = cipher.seal_text(b"x", AAD)
    _kid, body = split_text(envelope)
    with pytest.raises(UnknownKeyId, match="data key 'k9-000000' is not in") as caught:
        cipher.open_text(f"cpts1.k9-000000.{body}", AAD)
    assert caught.value.code == "SEC-KEY-UNKNOWN"
    assert caught.value.status == 500


@pytest.mark.parametrize("envelope", ["", "cpts1.", "cpts1.k1", "cpts1.bad kid.AAAA", "cpts1.k1.!!!!", "cpts1.k1.AAAA"])
def test_malformed_envelopes_are_refused(cipher: DataCipher, envelope: str) -> None:
    with pytest.raises((TamperedCiphertext, UnknownKeyId)):
        cipher.open_text(envelope.replace("k1", cipher.active_kid), AAD)


def test_development_keys_are_generated_once_with_mode_0600(tmp_path: Path) -> None:
    settings_ = Settings(keys_dir=tmp_path / "keys")
    assert uses_development_keys(settings_)
    first = load_data_keys(settings_)
    path = tmp_path / "keys" / "data-keys.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.development
    assert load_data_keys(settings_).keys == first.keys
    document = json.loads(path.read_text())
    assert set(document) == {"active", "keys", "index_key"}
    assert len(base64.b64decode(document["index_key"])) == 32


def test_a_configured_file_is_not_development(tmp_path: Path) -> None:
    path = tmp_path / "prod-keys.json"
    write_keys(path, generate_keys(path))
    configured = Settings(data_keys_file=path, keys_dir=tmp_path / "unused")
    assert not uses_development_keys(configured)
    assert not load_data_keys(configured).development
    missing = Settings(data_keys_file=tmp_path / "absent.json")
    with pytest.raises(DataKeysError, match=r"absent\.json: the data keys file does not exist"):
        load_data_keys(missing)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("not json", "not JSON"),
        ("[]", "expected an object"),
        ('{"active": "k1", "keys": {}}', "'keys' must be a non-empty object"),
        ('{"active": "k2", "keys": {"k1": "KEY"}, "index_key": "KEY2"}', "'active' ('k2') must name one of the keys"),
        ('{"active": "k1", "keys": {"k1": "c2hvcnQ="}, "index_key": "KEY2"}', "keys.k1 must be 32 bytes"),
        ('{"active": "k1", "keys": {"k1": "KEY"}, "index_key": "%%%"}', "index_key is not valid base64"),
        ('{"active": "k1", "keys": {"k1": "KEY"}, "index_key": "KEY"}', "'index_key' must differ"),
        ('{"active": "k 1", "keys": {"k 1": "KEY"}, "index_key": "KEY2"}', "key id 'k 1' must be"),
    ],
)
def test_a_bad_keys_file_names_what_is_wrong(tmp_path: Path, document: str, message: str) -> None:
    path = tmp_path / "keys.json"
    key, other = base64.b64encode(b"a" * 32).decode(), base64.b64encode(b"b" * 32).decode()
    path.write_text(document.replace("KEY2", other).replace("KEY", key))
    with pytest.raises(DataKeysError, match=re.escape(message)):
        read_keys(path)


def test_rotation_adds_an_active_key_and_keeps_the_old_ones(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    original = generate_keys(path)
    write_keys(path, original)
    cipher = DataCipher(read_keys(path))
    old = cipher.seal_text(b"old", AAD)
    rotated = rotate_data_key(path)
    assert rotated.active != original.active and set(original.keys) < set(rotated.keys)
    assert rotated.index_key == original.index_key  # blind indexes stay valid
    cipher.refresh()
    assert cipher.active_kid == rotated.active
    assert split_text(cipher.seal_text(b"new", AAD))[0] == rotated.active
    assert cipher.open_text(old, AAD) == b"old"


def test_another_process_rotation_is_noticed_when_a_new_key_id_shows_up(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    write_keys(path, generate_keys(path))
    reader, writer = DataCipher(read_keys(path)), DataCipher(read_keys(path))
    rotate_data_key(path)
    writer.refresh()
    envelope = writer.seal_text(b"sealed with the new key", AAD)
    assert reader.open_text(envelope, AAD) == b"sealed with the new key"


# -- normalisation of blind index inputs -------------------------------------------------------------------------------
def test_normalisation_examples() -> None:
    assert normalise_token(" 2 84 05 35 238 042 56 ") == "284053523804256"
    assert normalise_token("06.12.34-56(78)") == "0612345678"
    assert words("Jean-Pierre  DUPRÉ") == ["jean", "pierre", "dupre"]
    assert phrase("Anne-Sophie") == phrase("anne sophie") == "anne sophie"
    assert words("12 rue de l'Église") == ["12", "rue", "de", "l", "eglise"]


@given(st.text(max_size=60))
def test_normalisation_is_idempotent(text: str) -> None:
    assert normalise_token(normalise_token(text)) == normalise_token(text)
    assert phrase(phrase(text)) == phrase(text)
    assert words(" ".join(words(text))) == words(text)


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyzéèêàç -'", max_size=30))
def test_blind_phrases_ignore_case_accents_and_punctuation(text: str) -> None:
    protector = Protector(DataCipher(generate_keys()))
    plain = "".join({"é": "e", "è": "e", "ê": "e", "à": "a", "ç": "c"}.get(c, c) for c in text)
    loud = text.upper().replace("-", " ").replace("'", "  ")
    assert protector.blind_phrase("Patient", "family", loud) == protector.blind_phrase("Patient", "family", plain)


def test_blind_values_depend_on_the_parameter_and_the_index_key() -> None:
    first, second = Protector(DataCipher(generate_keys())), Protector(DataCipher(generate_keys()))
    assert first.blind_token("Patient", "identifier", "1 84") == first.blind_token("Patient", "identifier", "184")
    assert first.blind_token("Patient", "identifier", "184") != first.blind_token("Patient", "telecom", "184")
    assert first.blind_token("Patient", "identifier", "184") != second.blind_token("Patient", "identifier", "184")
    nir = "1840575123456"  # long enough that a random 43-character token containing it would be a 1-in-10^13 chance
    assert nir not in first.blind_token("Patient", "identifier", nir)


# -- resources: sealed elements come back in place ---------------------------------------------------------------------
_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
_identifier = st.fixed_dictionaries(
    {
        "system": st.sampled_from(["urn:oid:1.2.250.1.213.1.4.8", "urn:oid:1.2.250.1.213.1.4.10", "urn:ipp"]),
        "value": st.text(min_size=1, max_size=15),
    }
)
_elements = st.sampled_from(
    ["name", "birthDate", "_birthDate", "address", "telecom", "contact", "gender", "active", "meta", "link"]
)


@settings(max_examples=150, deadline=None)
@given(
    fields=st.lists(st.tuples(_elements, _values), max_size=8, unique_by=lambda pair: pair[0]),
    identifiers=st.lists(_identifier, max_size=4),
    at=st.integers(min_value=0, max_value=8),
)
def test_resources_open_exactly_as_sealed(fields: list[tuple[str, object]], identifiers: list[object], at: int) -> None:
    protector = Protector(DataCipher(generate_keys()))
    resource: dict[str, object] = {"resourceType": "Patient", "id": "p1", **dict(fields)}
    if identifiers:
        items = list(resource.items())
        items.insert(min(at, len(items)), ("identifier", identifiers))
        resource = dict(items)
    stored = protector.seal("Patient", "p1", resource)
    opened = protector.open("Patient", "p1", stored)
    assert json.loads(opened) == resource
    assert list(json.loads(opened)) == list(resource)
    clear = json.loads(stored)
    assert not {"name", "birthDate", "_birthDate", "address", "telecom", "contact"} & set(clear)
    assert all(i["system"] == "urn:ipp" for i in clear.get("identifier", []))
