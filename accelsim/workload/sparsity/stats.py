"""Per-layer workload statistics: what makes the scheduling problem hard or easy.

For each MAC layer: dense and pruned MACs, density, the spread of per-filter nonzeros (mean,
coefficient of variation, max over mean: the imbalance a sparsity-unaware mapping suffers),
the share of all-zero kernels (a filter's k x k slice of one input channel), and the ideal
speedup from pruning (dense / pruned MACs).
"""

from __future__ import annotations

from attrs import frozen

from accelsim.workload.sparsity.pruning import PrunedLayer, PrunedNetwork

KERNEL_LIMIT = 1 << 22  # per-(filter, channel) counts are drawn only up to this many kernels


@frozen
class LayerStats:
    name: str
    filters: int
    dense_macs: int
    pruned_macs: int
    density: float
    nnz_mean: float
    nnz_cv: float
    max_over_mean: float
    zero_kernels: float | None  # None: too many kernels to draw for a profile

    @property
    def ideal_speedup(self) -> float:
        return self.dense_macs / self.pruned_macs if self.pruned_macs else float("inf")


def zero_kernel_share(p: PrunedLayer) -> float | None:
    channels = p.layer.channels_per_group
    if p.mask is None and p.layer.out_c * channels > KERNEL_LIMIT:
        return None
    return float((p.chunk_nnz(channels) == 0).mean())


def layer_stats(pruned: PrunedNetwork) -> list[LayerStats]:
    out = []
    for p in pruned.layers:
        nnz = p.filter_nnz.astype(float)
        mean = float(nnz.mean())
        out.append(
            LayerStats(
                name=p.layer.name,
                filters=p.layer.out_c,
                dense_macs=p.layer.dense_macs,
                pruned_macs=p.pruned_macs,
                density=p.density,
                nnz_mean=mean,
                nnz_cv=float(nnz.std() / mean) if mean else 0.0,
                max_over_mean=float(nnz.max() / mean) if mean else 0.0,
                zero_kernels=zero_kernel_share(p),
            )
        )
    return out


def table(stats: list[LayerStats]) -> str:
    head = (
        f"{'layer':<24}{'filters':>8}{'dense MACs':>16}{'pruned MACs':>16}{'density':>9}"
        f"{'nnz mean':>10}{'CV':>7}{'max/mean':>9}{'0-kernels':>10}{'speedup':>9}"
    )
    lines = [head, "-" * len(head)]
    for s in stats:
        zero = "-" if s.zero_kernels is None else f"{s.zero_kernels:.1%}"
        lines.append(
            f"{s.name[:23]:<24}{s.filters:>8}{s.dense_macs:>16,}{s.pruned_macs:>16,}"
            f"{s.density:>9.1%}{s.nnz_mean:>10.1f}{s.nnz_cv:>7.3f}"
            f"{s.max_over_mean:>9.2f}{zero:>10}{s.ideal_speedup:>9.2f}"
        )
    dense = sum(s.dense_macs for s in stats)
    pruned = sum(s.pruned_macs for s in stats)
    lines += [
        "-" * len(head),
        f"{'total':<24}{sum(s.filters for s in stats):>8}{dense:>16,}{pruned:>16,}"
        f"{pruned / dense if dense else 0:>9.1%}{'':>36}"
        f"{dense / pruned if pruned else 0:>9.2f}",
    ]
    return "\n".join(lines)
