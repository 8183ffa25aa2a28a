"""Draw the PE timeline of a result directory: python plots/timeline.py results/default

One row per PE (beyond 64 PEs, per band of PEs: the share of its PEs in each state), coloured
by state (busy, wait_weights, wait_inputs, wait_noc, wait_output, idle), with layer
boundaries. --window T0 T1 zooms into a cycle range.
"""

import argparse
import json
import sys
from pathlib import Path

from accelsim.errors import AccelsimError, ConfigError
from accelsim.outputs import plotting

MAX_CYCLE = 2**62  # beyond any run's cycles, and far from int64 overflow


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("result_dir", type=Path)
    parser.add_argument(
        "--out",
        type=Path,
        help="PNG to write (default: DIR/timeline.png, or DIR/timeline_T0_T1.png with --window)",
    )
    parser.add_argument("--window", type=int, nargs=2, metavar=("T0", "T1"))
    args = parser.parse_args(argv)
    if args.window and args.window[1] <= args.window[0]:
        parser.error(f"--window {args.window[0]} {args.window[1]}: T1 must be after T0")
    if args.window and not 0 <= args.window[0] < args.window[1] <= MAX_CYCLE:
        parser.error(f"--window {args.window[0]} {args.window[1]}: need 0 <= T0 < T1 <= 2^62")
    try:
        trace = plotting.load_trace(args.result_dir)
        name = "timeline.png" if not args.window else "timeline_{}_{}.png".format(*args.window)
        out = args.out or args.result_dir / name
        if not out.parent.is_dir():
            raise ConfigError(f"--out {out}: no directory {out.parent}; create it first")
        last = int(trace["end"].max(initial=0))
        if args.window and args.window[0] >= last:
            raise ConfigError(
                f"--window {args.window[0]} {args.window[1]}: the run ends at cycle "
                f"{last:,}; choose T0 before it"
            )
        if args.window:  # past the run's end there is nothing to draw
            args.window = [args.window[0], min(args.window[1], last)]
        title = _title(args.result_dir, args.window)
        try:
            plotting.save_timeline(trace, out, title, args.window)
        except (KeyError, ValueError, IndexError) as exc:
            raise ConfigError(
                f"{args.result_dir / 'trace.npz'}: incomplete or inconsistent trace "
                f"({type(exc).__name__}: {exc}); run accelsim run again to write it"
            ) from None
    except (AccelsimError, OSError) as exc:
        print(f"timeline.py: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0


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
    sys.exit(main())
