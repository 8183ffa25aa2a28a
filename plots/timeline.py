"""Draw the PE timeline of a result directory: python plots/timeline.py results/default

One row per PE (beyond 64 PEs, per band of PEs: the share of its PEs in each state), coloured
by state (busy, wait_weights, wait_inputs, wait_noc, wait_output, idle), with layer
boundaries. --window T0 T1 zooms into a cycle range.
"""

import argparse
import json
from pathlib import Path

from accelsim.outputs import plotting


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("result_dir", type=Path)
    parser.add_argument(
        "--out",
        type=Path,
        help="PNG to write (default: DIR/timeline.png, or DIR/timeline_T0_T1.png with --window)",
    )
    parser.add_argument("--window", type=int, nargs=2, metavar=("T0", "T1"))
    args = parser.parse_args()
    if args.window and args.window[1] <= args.window[0]:
        parser.error(f"--window {args.window[0]} {args.window[1]}: T1 must be after T0")
    name = "timeline.png" if not args.window else "timeline_{}_{}.png".format(*args.window)
    out = args.out or args.result_dir / name
    plotting.save_timeline(
        plotting.load_trace(args.result_dir), out, _title(args.result_dir, args.window), args.window
    )
    print(f"wrote {out}")


def _title(result_dir: Path, window) -> str:
    """The run's own title (scenario, policy, PEs) from its summary.json, and the window."""
    try:
        summary = json.loads((result_dir / "summary.json").read_text())
        hw = summary["hardware"]
        title = f"{summary['scenario']}: {summary['policy']} on {hw['pe_rows'] * hw['pe_cols']} PEs"
    except (OSError, ValueError, KeyError, TypeError):
        title = f"PE timeline: {result_dir}"
    return title + (f", cycles {window[0]:,} to {window[1]:,}" if window else "")


if __name__ == "__main__":
    main()
