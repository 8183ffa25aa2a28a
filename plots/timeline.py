"""Draw the PE timeline of a result directory: python plots/timeline.py results/default

One row per PE (beyond 64 PEs, per band of PEs: the share of its PEs in each state), coloured
by state (busy, wait_weights, wait_inputs, wait_noc, wait_output, idle), with layer
boundaries. --window T0 T1 zooms into a cycle range.
"""

import argparse
from pathlib import Path

from accelsim import plotting


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("result_dir", type=Path)
    parser.add_argument("--out", type=Path, help="PNG to write (default: DIR/timeline.png)")
    parser.add_argument("--window", type=int, nargs=2, metavar=("T0", "T1"))
    args = parser.parse_args()
    if args.window and args.window[1] <= args.window[0]:
        parser.error(f"--window {args.window[0]} {args.window[1]}: T1 must be after T0")
    out = args.out or args.result_dir / "timeline.png"
    plotting.save_timeline(plotting.load_trace(args.result_dir), out,
                           f"PE timeline: {args.result_dir}", args.window)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
