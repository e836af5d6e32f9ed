"""A bad measure file stops the gateway before it serves: ``serve`` names the file and the field, no traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[3]


def test_serve_refuses_a_bad_measure_file(tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    for package in ("gateway", "mappings", "security", "adapters", "conformance"):
        shutil.copytree(REPOSITORY / package, copy / package, ignore=shutil.ignore_patterns("__pycache__"))
    bad = copy / "mappings" / "measures" / "ind-noshow.yaml"
    bad.write_text(bad.read_text(encoding="utf-8").replace("code: numerator\n", "code: numerator2\n"), "utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": str(copy),
        "CPTS_DATABASE_URL": f"sqlite:///{tmp_path}/gateway.db",
        "CPTS_KEYS_DIR": str(tmp_path / "keys"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "serve", "--port", "1"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 4, done.stderr
    assert done.stderr.strip() == (
        "cpts-gateway: mappings/measures/ind-noshow.yaml: groups[0].populations[3].code: "
        "'numerator2' is not a measure-population code"
    )
