"""``CPTS_ENV=production`` refuses to start on settings that would leave it open or trusting the wrong party."""

from __future__ import annotations

import orjson

from gateway.settings import Settings


def production_problems(settings: Settings) -> list[str]:
    """Each setting that production refuses, said so that the operator knows what to change."""
    problems: list[str] = []
    if settings.open_access:
        problems.append("CPTS_OPEN_ACCESS=true would answer every request without a token")
    if not settings.issuer.startswith("https://"):
        problems.append(f"CPTS_ISSUER={settings.issuer} is not an https:// URL")
    if settings.signing_key_file is None:
        problems.append("CPTS_SIGNING_KEY_FILE is unset: the generated development signing key is refused")
    elif not settings.signing_key_file.is_file():
        problems.append(f"CPTS_SIGNING_KEY_FILE={settings.signing_key_file} does not exist")
    if settings.data_keys_file is None:
        problems.append("CPTS_DATA_KEYS_FILE is unset: the generated development data keys are refused")
    elif not settings.data_keys_file.is_file():
        problems.append(f"CPTS_DATA_KEYS_FILE={settings.data_keys_file} does not exist")
    if settings.mllp_port is not None and not settings.mllp_facility_map:
        problems.append("CPTS_MLLP_PORT without CPTS_MLLP_FACILITIES would take HL7 v2 from any sending facility")
    if settings.rate_limit_per_minute == 0:
        problems.append("CPTS_RATE_LIMIT_PER_MINUTE=0 leaves clients unthrottled")
    try:
        issuers = orjson.loads(settings.external_issuers) if settings.external_issuers.strip() else []
    except orjson.JSONDecodeError:
        issuers = []  # the external issuer configuration reports its own syntax errors
    for entry in issuers if isinstance(issuers, list) else []:
        if not isinstance(entry, dict):
            continue
        for key in ("issuer", "jwks_uri"):
            value = entry.get(key)
            if isinstance(value, str) and not value.startswith("https://"):
                problems.append(f"CPTS_EXTERNAL_ISSUERS: {key} {value} is not an https:// URL")
    return problems


__all__ = ["production_problems"]
