"""Every test gets its own baseline cache, so no test reads another's or the user's."""

import pytest


@pytest.fixture(autouse=True)
def _own_baseline_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ACCELSIM_CACHE_DIR", str(tmp_path / "accelsim-cache"))
