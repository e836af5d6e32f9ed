"""Attack: deploying with development settings. ``CPTS_ENV=production`` refuses to start on any of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.app import ProductionRefused, create_app
from gateway.settings import Settings
from security.production import production_problems


def _hardened(tmp_path: Path) -> Settings:
    signing = tmp_path / "signing.json"
    data = tmp_path / "data.json"
    signing.write_text("{}")
    data.write_text("{}")
    return Settings(
        env="production",
        database_url=f"sqlite:///{tmp_path}/p.db",
        issuer="https://gateway.cpts.example",
        signing_key_file=signing,
        data_keys_file=data,
    )


def test_hardened_settings_raise_no_problem(tmp_path: Path) -> None:
    assert production_problems(_hardened(tmp_path)) == []


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"open_access": True}, "CPTS_OPEN_ACCESS"),
        ({"issuer": "http://gateway.cpts.example"}, "CPTS_ISSUER"),
        ({"signing_key_file": None}, "CPTS_SIGNING_KEY_FILE"),
        ({"data_keys_file": None}, "CPTS_DATA_KEYS_FILE"),
        ({"signing_key_file": Path("/nonexistent/keys.json")}, "does not exist"),
        ({"rate_limit_per_minute": 0}, "CPTS_RATE_LIMIT_PER_MINUTE"),
        ({"mllp_port": 2575}, "CPTS_MLLP_FACILITIES"),
        ({"external_issuers": '[{"issuer": "http://idp.example", "audience": "x"}]'}, "CPTS_EXTERNAL_ISSUERS"),
    ],
)
def test_production_refuses_to_start(tmp_path: Path, change: dict[str, object], named: str) -> None:
    settings = _hardened(tmp_path).model_copy(update=change)
    with pytest.raises(ProductionRefused, match=named):
        create_app(settings, configure_logs=False)


def test_development_starts_with_the_same_settings(tmp_path: Path) -> None:
    update = {"env": "development", "open_access": True, "signing_key_file": None, "data_keys_file": None}
    settings = _hardened(tmp_path).model_copy(update={**update, "keys_dir": tmp_path / "keys"})
    assert create_app(settings, configure_logs=False) is not None
