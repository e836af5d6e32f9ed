"""The coordinator dashboard end to end, in Debian's headless Chromium driven by playwright-core (dashboard.mjs).

The gateway is served (no open access) with the demo territory loaded and the test OpenID Connect provider trusted
as the dashboard's issuer; the browser logs in (development login, then the provider's authorization code flow),
reads today's capacity, filters by profession, opens an indicator chart and the pathways panel, and logs out. Then
this test searches every page text and every response body the browser received for the demo patients' names.

Screenshots, page texts and response bodies are kept under ``var/artifacts/e2e/<backend>/`` (git-ignored). Chromium
(``apt-get install chromium``) and ``npm ci`` in tests/e2e are installed by ``scripts/test``; without them this test
fails, it never skips.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from sqlalchemy import Engine

from gateway.app import create_app
from gateway.capacity.sync import record_sync
from gateway.demo import DemoOptions, generate_territory
from gateway.demo.loader import load_demo
from gateway.demo.territory import plan_territory
from gateway.indicators.evaluation import compute, parse_period
from gateway.settings import Settings
from gateway.storage.db import write_transaction
from gateway.storage.store import build_store
from tests.conftest import _free_port, serving

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ARTIFACTS = ROOT / "var" / "artifacts" / "e2e"
AUDIENCE = "urn:cpts-gateway"  # the test provider's resource indicator
STALE_AGE = dt.timedelta(hours=3)
DEMO = DemoOptions(centres=12, days=4, start=dt.datetime.now(ZoneInfo("Europe/Paris")).date())


def _chromium() -> str:
    path = os.environ.get("CPTS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail("Chromium is missing: run ./scripts/test (it installs Debian's chromium package)", pytrace=False)
    return path


def _node() -> str:
    node = shutil.which("node")
    if node is None or not (HERE / "node_modules" / "playwright-core").is_dir():
        pytest.fail("playwright-core is missing: run ./scripts/test (npm ci in tests/e2e)", pytrace=False)
    return node


def _names(kind: str) -> set[str]:
    """The full names of the demo's resources of this type, both orders, lower case."""
    found: set[str] = set()
    for _, resource in generate_territory(DEMO):
        if resource["resourceType"] != kind:
            continue
        for name in resource.get("name", []):
            given, family = " ".join(name.get("given", [])), name.get("family", "")
            if given and family:
                found |= {f"{given} {family}".lower(), f"{family} {given}".lower()}
    return found


@pytest.fixture
def dashboard_server(clean_db: Engine, settings: Settings, oidc_issuer: str) -> Iterator[tuple[str, Any]]:
    load_demo(build_store(clean_db, settings), DEMO)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with write_transaction(clean_db) as conn:  # every centre synced its slots minutes ago, but the last one (stale)
        for index, centre in enumerate(plan_territory(DEMO).centres):
            at = now - (STALE_AGE if index == DEMO.centres - 1 else dt.timedelta(minutes=5))
            record_sync(conn, tenant=centre.finess, kind="csv:slots", job_id=f"e2e-{index}", at=at, counts={})
    for month in sorted({f"{day:%Y-%m}" for day in (DEMO.first_day, DEMO.start)}):  # the charts' monthly reports
        compute(clean_db, settings, period=parse_period(month))
    port = _free_port()
    issuers = [{"issuer": oidc_issuer, "audience": AUDIENCE, "profile": "generic", "role": "coordinator"}]
    served = settings.model_copy(
        update={
            "open_access": False,
            "port": port,
            "issuer": f"http://127.0.0.1:{port}",
            "ingest_worker": False,
            "external_issuers": orjson.dumps(issuers).decode(),
            "dashboard_oidc_issuer": oidc_issuer,
        }
    )
    app = create_app(served, configure_logs=False)
    with serving(app, port) as base:
        yield base, app


def test_e2e_dashboard_in_chromium(dashboard_server: tuple[str, Any], is_postgres: bool) -> None:
    base, _ = dashboard_server
    out = ARTIFACTS / ("postgresql" if is_postgres else "sqlite")
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    command = [_node(), str(HERE / "dashboard.mjs"), "--base", base, "--out", str(out), "--oidc"]
    command += ["--indicators", "--pathways"]  # both panels must show their data
    run = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "CPTS_CHROMIUM": _chromium()},
        check=False,
    )
    assert run.returncode == 0, f"dashboard.mjs failed:\n{run.stderr}\n{run.stdout}"
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    print(f"\ndashboard first render: {summary['firstRenderMs']} ms (navigation start to the capacity grid drawn)")
    print(f"dashboard e2e summary: {json.dumps({k: v for k, v in summary.items() if k != 'texts'})}")

    assert summary["centres"] >= DEMO.centres  # every demo centre has a row (stale or not)
    assert summary["stale"] == 1  # the centre whose last slot sync is three hours old, and only it
    assert 0 < summary["filter"]["freeSlots"] < summary["freeSlots"]
    assert summary["oidcWho"].endswith("coordinatrice.oidc (coordination)")
    assert len(summary["screenshots"]) == 6
    assert all(Path(shot).stat().st_size > 10_000 for shot in summary["screenshots"])

    # no patient name anywhere: page texts (HTML and rendered text) and every response body from the gateway
    patients = _names("Patient") - _names("Practitioner")
    assert len(patients) > 100
    seen = [path for path in out.glob("*.txt")] + sorted((out / "network").glob("*.txt"))
    assert len(seen) >= 10, "too few pages and responses recorded to prove anything"
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(name) for name in sorted(patients)) + r")\b")
    for path in seen:
        text = " ".join(path.read_text(encoding="utf-8").lower().split())
        leaked = sorted(set(pattern.findall(text)))
        assert not leaked, f"{path.name} shows patient names: {leaked[:5]}"
        assert '"resourcetype":"patient"' not in text.replace(" ", ""), f"{path.name} carries a Patient resource"
