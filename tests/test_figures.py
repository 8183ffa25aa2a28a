"""The matplotlib figures off the run path stay bounded and label what they show."""

from types import SimpleNamespace

import matplotlib.image
import numpy as np
import pytest

from accelsim.outputs import figures
from accelsim.outputs.figures import MAX_FIGSIZE


@pytest.mark.slow
def test_per_layer_figures_stop_growing(tmp_path):
    rng = np.random.default_rng(0)
    pruned = SimpleNamespace(
        layers=[
            SimpleNamespace(
                filter_nnz=rng.integers(0, 50, 16), density=0.5, layer=SimpleNamespace(name=f"l{i}")
            )
            for i in range(40)
        ]
    )
    figures.save_nnz_histograms(pruned, tmp_path / "nnz.png")
    rows = [{"a": a, "b": b, "cycles": a * b} for a in range(30) for b in range(12)]
    figures.save_heatmap(rows, "a", "b", "cycles", tmp_path / "heatmap.png")
    figures.save_pe_models(
        {m: list(range(1, 151)) for m in ("zero-skip", "dense")},
        [f"layer{i}" for i in range(150)],
        tmp_path / "pe_models.png",
    )
    for name, dpi in (("nnz", 110), ("heatmap", 120), ("pe_models", 120)):
        height, width = matplotlib.image.imread(tmp_path / f"{name}.png").shape[:2]
        assert height <= MAX_FIGSIZE[1] * dpi and width <= MAX_FIGSIZE[0] * dpi, name


def test_heatmap_labels_values_and_failed_points(tmp_path, monkeypatch):
    assert figures._label("hardware.pe_cols") == "PE columns [hardware.pe_cols]"
    assert (
        figures._label("hardware.input_buffer_bytes")
        == "input buffer (bytes) [hardware.input_buffer_bytes]"
    )
    assert figures._label("policy") == "policy"
    assert [figures._si(v) for v in (6_325_034, 951_493, 812, 1.5)] == [
        "6.325M",
        "951.5k",
        "812",
        "1.5",
    ]
    texts, bars = [], []
    real_text = figures.plt.Axes.text
    monkeypatch.setattr(
        figures.plt.Axes,
        "text",
        lambda self, *a, **k: texts.append((a[2], k.get("color"))) or real_text(self, *a, **k),
    )
    real_colorbar = figures.plt.Figure.colorbar
    monkeypatch.setattr(
        figures.plt.Figure,
        "colorbar",
        lambda self, *a, **k: bars.append(1) or real_colorbar(self, *a, **k),
    )
    rows = [
        {
            "x": a,
            "y": b,
            "cycles": None if a == b == 2 else 1000 * a * b,
            "error": "too big" if a == b == 2 else None,
        }
        for a in (1, 2)
        for b in (1, 2)
    ]
    figures.save_heatmap(rows, "x", "y", "cycles", tmp_path / "h.png")
    assert ("failed", "black") in texts and len(bars) == 1
    shown = dict(texts)
    assert {"1k", "2k"} <= shown.keys()
    assert shown["1k"] != shown["2k"]  # text colour follows the cell's lightness
    texts.clear()
    failed = [{**r, "cycles": None, "error": "job needs 2880 B"} for r in rows]
    figures.save_heatmap(failed, "x", "y", "cycles", tmp_path / "f.png")
    assert len(bars) == 1  # no colour bar for nothing
    assert any(t.startswith("every point failed:\njob needs 2880 B") for t, _ in texts)
