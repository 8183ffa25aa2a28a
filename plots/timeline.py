"""Draw the PE timeline of a result directory: python plots/timeline.py results/default

One row per PE, coloured by state (busy, wait_weights, wait_inputs, wait_noc, wait_output,
idle), with layer boundaries. --window T0 T1 zooms into a cycle range.
"""

import argparse
from pathlib import Path

import matplotlib.pyplot as plt

from accelsim import plotting


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("result_dir", type=Path)
    parser.add_argument("--out", type=Path, help="PNG to write (default: DIR/timeline.png)")
    parser.add_argument("--window", type=int, nargs=2, metavar=("T0", "T1"))
    args = parser.parse_args()
    trace = plotting.load_trace(args.result_dir)
    states = plotting.intervals_of(trace)
    if args.window:
        states = states.window(*args.window)
    n_pes = int(trace["n_pes"])
    fig, ax = plt.subplots(figsize=(14, max(3.5, 0.22 * n_pes + 3.0)))
    plotting.draw_timeline(ax, states, n_pes, trace["layer_start"], trace["layer_end"],
                           trace["layer_name"])
    if args.window:
        ax.set_xlim(*args.window)
    ax.set_title(f"PE timeline: {args.result_dir}")
    fig.tight_layout()
    out = args.out or args.result_dir / "timeline.png"
    fig.savefig(out, dpi=130)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
