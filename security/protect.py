"""Which parts of a stored resource are sealed, and how they stay searchable (the policy is data: protected.yaml).

Before a resource of a protected type is stored, its direct identifiers are taken out of the JSON and sealed into
one envelope kept under the private top-level key ``_sealed``; reading puts them back, in their original order,
so the API returns exactly what was written. The envelope's associated data is ``Type/id``: it opens nowhere else.

Search indexes of protected parameters hold blind indexes (HMAC with the index key), never plaintext:

- tokens (INS identifiers, telecom): ``code`` = blind of the value with whitespace and ``.-()/`` removed; the
  system stays in clear; local identifiers (IPP) stay in clear.
- strings (names, address): one row per normalised whole word and one for the whole value (accents and case
  folded, punctuation as spaces): ``family=martin`` finds "Martin", ``name=claire anne`` finds "Claire Anne", but
  prefix and ``:contains`` searches are not possible; ``:exact`` compares a blind of the exact text.
- dates (birthdate): blinds of the date as written and of its year and year-month, in the token table:
  ``birthdate=1984-05-12``, ``birthdate=1984-05`` and ``birthdate=1984`` work (eq), ranges and prefixes (lt, ge, ne,
  ...) do not; sorting on these parameters is refused.

The process installs the protector built from its settings (:func:`protector_for`); the query side and the raw
row readers use the installed one.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode

import orjson
import yaml

from gateway.fhir.paths import evaluate
from gateway.fhir.searchparams import registry
from gateway.settings import Settings
from security.crypto import DataCipher, DataKeysError, keys_path, load_data_keys

POLICY_FILE = Path(__file__).with_name("protected.yaml")
SEALED = "_sealed"
SEALED_MARK = '"_sealed":"'
BlindKind = Literal["token", "words", "date"]
_TOKEN_DROP = re.compile(r"[\s.\-()/]+")
_NOT_WORD = re.compile(r"[^0-9a-z]+")


@dataclass(frozen=True)
class TypePolicy:
    elements: frozenset[str]
    tokens: dict[str, Literal["all", "protected"]]
    words: frozenset[str]
    dates: frozenset[str]

    def kind(self, param: str) -> BlindKind | None:
        if param in self.tokens:
            return "token"
        if param in self.words:
            return "words"
        if param in self.dates:
            return "date"
        return None


@dataclass(frozen=True)
class Policy:
    systems: frozenset[str]
    identifier_types: frozenset[str]
    types: dict[str, TypePolicy] = field(default_factory=dict)

    def protected_identifier(self, identifier: Any) -> bool:
        if not isinstance(identifier, dict):
            return False
        if identifier.get("system") in self.systems:
            return True
        codings = (identifier.get("type") or {}).get("coding") or []
        return any(isinstance(c, dict) and c.get("code") in self.identifier_types for c in codings)


def load_policy(path: Path = POLICY_FILE) -> Policy:
    """Read and check the policy file; a bad file stops start-up naming the key."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    try:
        types = {}
        for name, spec in raw["types"].items():
            tokens = dict(spec.get("tokens") or {})
            if any(mode not in ("all", "protected") for mode in tokens.values()):
                raise ValueError(f"types.{name}.tokens: each mode is 'all' or 'protected'")
            words_, dates = frozenset(spec.get("words") or ()), frozenset(spec.get("dates") or ())
            types[name] = TypePolicy(frozenset(spec["elements"]), tokens, words_, dates)
        return Policy(frozenset(raw["identifier_systems"]), frozenset(raw["identifier_types"]), types)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{path}: malformed protection policy ({exc!r})") from exc


POLICY = load_policy()
PROTECTED_TYPES = frozenset(POLICY.types)


# -- normalisation (the same on the index side and the query side) -----------------------------------------------------
def normalise_token(value: str) -> str:
    """Identifiers and phone numbers: compatibility form, case folded, without whitespace and ``.-()/`` (repeated
    until stable: case folding can undo a composition)."""
    text = value
    for _ in range(4):
        folded = _TOKEN_DROP.sub("", unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold()))
        if folded == text:
            break
        text = folded
    return text


def words(text: str) -> list[str]:
    """Whole words: accents removed, case folded, anything but letters and digits separates."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return [w for w in _NOT_WORD.split(unicodedata.normalize("NFKC", plain)) if w]


def phrase(text: str) -> str:
    """The whole value as its words joined by one space (what a multi-word search must equal)."""
    return " ".join(words(text))


class Protector:
    """Seals and opens protected resources and derives their blind index values, for one set of data keys."""

    def __init__(self, cipher: DataCipher, policy: Policy = POLICY) -> None:
        self.cipher = cipher
        self.policy = policy

    def protects(self, resource_type: str) -> bool:
        return resource_type in self.policy.types

    def blind_kind(self, resource_type: str, param: str) -> BlindKind | None:
        policy = self.policy.types.get(resource_type)
        return policy.kind(param) if policy is not None else None

    # -- envelopes of resources ------------------------------------------------------------------------------------
    @staticmethod
    def _aad(resource_type: str, resource_id: str) -> bytes:
        return f"{resource_type}/{resource_id}".encode()

    def seal(self, resource_type: str, resource_id: str, resource: dict[str, Any]) -> str:
        """The JSON text to store: protected elements moved into the ``_sealed`` envelope."""
        policy = self.policy.types[resource_type]
        hidden: dict[str, Any] = {}
        clear: dict[str, Any] = {}
        for key, value in resource.items():
            element = key[1:] if key.startswith("_") else key
            if element not in policy.elements:
                clear[key] = value
                continue
            if key == "identifier" and isinstance(value, list):
                local = [i for i in value if not self.policy.protected_identifier(i)]
                if len(local) == len(value):
                    clear[key] = value
                    continue
                if local:
                    clear[key] = local  # local identifiers stay readable (and their copy travels in the envelope)
            hidden[key] = value
        if not hidden:
            return orjson.dumps(resource).decode()
        inner = orjson.dumps({"order": list(resource), "values": hidden})
        clear[SEALED] = self.cipher.seal_text(inner, self._aad(resource_type, resource_id))
        return orjson.dumps(clear).decode()

    def open_data(self, resource_type: str, resource_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """The resource with its sealed elements back in place (``data`` as read from the table)."""
        envelope = data.get(SEALED)
        if not isinstance(envelope, str):
            return data
        inner = orjson.loads(self.cipher.open_text(envelope, self._aad(resource_type, resource_id)))
        values: dict[str, Any] = inner["values"]
        opened = {k: values[k] if k in values else data[k] for k in inner["order"] if k in values or k in data}
        for key, value in data.items():
            if key != SEALED and key not in opened:
                opened[key] = value
        return opened

    def open(self, resource_type: str, resource_id: str, content: str) -> str:
        if SEALED_MARK not in content:
            return content
        return orjson.dumps(self.open_data(resource_type, resource_id, orjson.loads(content))).decode()

    def digest(self, canonical: bytes) -> str:
        return self.cipher.keyed_hash(canonical)

    # -- blind index values ----------------------------------------------------------------------------------------
    def blind_token(self, resource_type: str, param: str, value: str) -> str:
        return self.cipher.blind(f"{resource_type}.{param}", normalise_token(value))

    def blind_words(self, resource_type: str, param: str, value: str) -> list[str]:
        """Blind values of the whole words of ``value`` and of the whole value (a phrase)."""
        found = words(value)
        texts = dict.fromkeys([*found, " ".join(found)] if len(found) > 1 else found)
        return [self.cipher.blind(f"{resource_type}.{param}", text) for text in texts]

    def blind_phrase(self, resource_type: str, param: str, value: str) -> str | None:
        text = phrase(value)
        return self.cipher.blind(f"{resource_type}.{param}", text) if text else None

    def blind_exact(self, resource_type: str, param: str, value: str) -> str:
        return self.cipher.blind(f"{resource_type}.{param}:exact", value)

    def blind_date(self, resource_type: str, param: str, value: str) -> str:
        return self.cipher.blind(f"{resource_type}.{param}", value.strip())

    def blind_dates(self, resource_type: str, param: str, value: str) -> list[str]:
        """Blind values of a stored date at its precision and the coarser ones (1984-05-12 → also 1984-05, 1984), so
        ``eq`` searches at year, month or day precision work; a search finer than the stored date finds nothing."""
        text = value.strip()
        prefixes = [text[:n] for n in (4, 7, 10) if len(text) >= n and text[:n] != text] + [text]
        return [self.cipher.blind(f"{resource_type}.{param}", p) for p in dict.fromkeys(prefixes)]

    def blind_rows(self, resource: dict[str, Any], rows: Any) -> Any:
        """Replace the plaintext of protected parameters in ``rows`` (an IndexRows) by blind index values."""
        resource_type = resource["resourceType"]
        policy = self.policy.types[resource_type]
        hidden_ids = {
            str(i.get("value"))[:255]
            for i in resource.get("identifier") or []
            if self.policy.protected_identifier(i) and isinstance(i.get("value"), str)
        }
        for row in rows.token:
            mode = policy.tokens.get(row["param"])
            if mode == "all" or (mode == "protected" and row["code"] in hidden_ids):
                row["code"] = self.blind_token(resource_type, row["param"], row["code"])
        if policy.words:
            strings: list[dict[str, Any]] = []
            seen: set[tuple[str, str, str]] = set()
            for row in rows.string:
                name = row["param"]
                if name not in policy.words:
                    strings.append(row)
                    continue
                exact = self.blind_exact(resource_type, name, row["exact"])
                for value in self.blind_words(resource_type, name, row["exact"]):
                    if (name, value, exact) not in seen:
                        seen.add((name, value, exact))
                        strings.append({"param": name, "value": value, "exact": exact})
            rows.string = strings
        if policy.dates:
            rows.date = [row for row in rows.date if row["param"] not in policy.dates]
            specs = registry().get(resource_type, {})
            for name in sorted(policy.dates):
                spec = specs.get(name)
                values = {v for path in spec.paths for v in evaluate(resource, path)} if spec else set()
                for value in sorted(v for v in values if isinstance(v, str) and v.strip()):
                    for code in self.blind_dates(resource_type, name, value):
                        rows.token.append({"param": name, "system": None, "code": code})
        return rows

    def token_codes(self, resource_type: str, param: str, code: str) -> list[str]:
        """Codes a searched token value may be stored as: in clear (local identifiers) or blind (protected ones)."""
        return [code, self.blind_token(resource_type, param, code)]


# -- queries that name protected values (for the audit trail) --------------------------------------------------------
REDACTED = "redacted"


def _protected_param(resource_type: str | None, name: str) -> BlindKind | None:
    """How a (possibly chained) search parameter is blinded; an unknown chain target counts as protected."""
    segments = name.split(".")
    base = segments[-1].partition(":")[0]
    target = resource_type
    if len(segments) > 1:
        hop = segments[-2].partition(":")[2]
        target = hop if hop[:1].isupper() else None
    kinds = [p.kind(base) for t, p in POLICY.types.items() if target is None or t == target]
    return next((kind for kind in kinds if kind is not None), None)


def redact_query(resource_type: str | None, query: str) -> str:
    """The query string with the values of protected parameters replaced (INS values keep their system; local
    identifiers stay), so an audit record does not keep what the tables no longer hold in clear."""
    pairs = parse_qsl(query, keep_blank_values=True)
    out: list[tuple[str, str]] = []
    for name, value in pairs:
        kind = _protected_param(resource_type, name)
        if kind is None or not value:
            out.append((name, value))
        elif kind == "token" and name.split(".")[-1].partition(":")[0] == "identifier":
            parts = []
            for item in value.split(","):
                system, bar, _code = item.partition("|")
                if not bar:
                    parts.append(REDACTED)
                else:
                    parts.append(item if system not in POLICY.systems else f"{system}|{REDACTED}")
            out.append((name, ",".join(parts)))
        else:
            out.append((name, REDACTED))
    return urlencode(out, safe="|,:")


# -- the process's protector -------------------------------------------------------------------------------------------
_installed: Protector | None = None
_by_path: dict[Path, Protector] = {}
_lock = threading.Lock()


def install(protector: Protector | None) -> None:
    """Make ``protector`` the one raw readers and the search query side use in this process."""
    global _installed
    _installed = protector


def installed() -> Protector | None:
    return _installed


def protector_for(settings: Settings) -> Protector:
    """The protector of the settings' data keys (one per keys file in a process), installed for the process."""
    path = keys_path(settings).resolve()
    with _lock:
        protector = _by_path.get(path)
        if protector is None:
            protector = Protector(DataCipher(load_data_keys(settings)))
            _by_path[path] = protector
    install(protector)
    return protector


def open_content(resource_type: str, resource_id: str, content: str, protector: Protector | None = None) -> str:
    """Stored JSON text as the API shows it (types without protection pay one set lookup)."""
    if resource_type not in PROTECTED_TYPES or SEALED_MARK not in content:
        return content
    chosen = protector or _installed
    if chosen is None:
        raise DataKeysError(f"{resource_type}/{resource_id} is sealed and no data keys are loaded in this process")
    return chosen.open(resource_type, resource_id, content)


__all__ = [
    "POLICY",
    "PROTECTED_TYPES",
    "SEALED",
    "Policy",
    "Protector",
    "install",
    "installed",
    "load_policy",
    "normalise_token",
    "open_content",
    "phrase",
    "protector_for",
    "redact_query",
    "words",
]
