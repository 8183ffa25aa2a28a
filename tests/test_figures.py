"""The studies' figures stay bounded and label what they show."""

from types import SimpleNamespace

import matplotlib.image
import numpy as np
import pytest

from accelsim.outputs import figures
from accelsim.outputs.figures import MAX_FIGSIZE
from accelsim.outputs.plotting import save_figure


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
    rows = [{"a": a, "b": b, "cycles": a * b} for a in range(30) for b in range(12)]
    drawn = {
        "nnz": figures.nnz_histograms_figure(pruned),
        "heatmap": figures.heatmap_figure(rows, "a", "b", "cycles"),
        "pe_models": figures.pe_models_figure(
            {m: list(range(1, 151)) for m in ("zero-skip", "dense")},
            [f"layer{i}" for i in range(150)],
        ),
    }
    for name, fig in drawn.items():
        save_figure(fig, tmp_path / f"{name}.png", dpi=100)
        height, width = matplotlib.image.imread(tmp_path / f"{name}.png").shape[:2]
        assert height <= MAX_FIGSIZE[1] * 100 and width <= MAX_FIGSIZE[0] * 100, name


def test_heatmap_labels_values_and_failed_points():
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
    fig = figures.heatmap_figure(rows, "x", "y", "cycles")
    texts = [(t.get_text(), t.get_color()) for t in fig.axes[0].texts]
    assert ("failed", "black") in texts and len(fig.axes) == 2  # the axes and a colour bar
    shown = dict(texts)
    assert {"1k", "2k"} <= shown.keys()
    assert shown["1k"] != shown["2k"]  # text colour follows the cell's lightness
    failed = [{**r, "cycles": None, "error": "job needs 2880 B"} for r in rows]
    fig = figures.heatmap_figure(failed, "x", "y", "cycles")
    assert len(fig.axes) == 1  # no colour bar for nothing
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any(t.startswith("every point failed:\njob needs 2880 B") for t in texts)
