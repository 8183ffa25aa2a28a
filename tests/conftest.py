"""Every test gets its own baseline cache, so no test reads another's or the user's; no
property test has a time limit per example (a loaded CI machine made a 200 ms deadline
fail at random: tests assert behaviour, never speed)."""

import pytest
from hypothesis import settings

settings.register_profile("accelsim", deadline=None)
settings.load_profile("accelsim")


@pytest.fixture(autouse=True)
def _own_baseline_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ACCELSIM_CACHE_DIR", str(tmp_path / "accelsim-cache"))
