"""Every module's ``__all__`` names things that exist, so the public surface stays honest."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

PACKAGES = ("gateway", "adapters", "mappings", "security", "conformance")


def modules() -> list[str]:
    names = []
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        names.append(package_name)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}."):
            if ".migrations" not in info.name and not info.name.endswith("__main__"):
                names.append(info.name)
    return names


@pytest.mark.parametrize("name", modules())
def test_all_names_exist(name: str) -> None:
    module = importlib.import_module(name)
    missing = [symbol for symbol in getattr(module, "__all__", ()) if not hasattr(module, symbol)]
    assert missing == []
