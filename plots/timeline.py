"""Draw the PE timeline of a result directory: python plots/timeline.py results/default

One row per PE (beyond 64 PEs, per band of PEs: the share of its PEs in each state), coloured
by state (busy, wait_weights, wait_inputs, wait_noc, wait_output, idle), with layer
boundaries. --window T0 T1 zooms into a cycle range; --format png|svg|pdf, or an --out file
name's extension, chooses the format; --dpi the resolution; --style a matplotlib style sheet.
"""

import argparse
import json
import sys
from pathlib import Path

import matplotlib.style

from accelsim.errors import AccelsimError, ConfigError
from accelsim.outputs import plotting

MAX_CYCLE = 2**62  # beyond any run's cycles, and far from int64 overflow


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("result_dir", type=Path)
    parser.add_argument(
        "--out",
        type=Path,
        help="file to write, .png, .svg or .pdf (default: DIR/timeline.FORMAT, or "
        "DIR/timeline_T0_T1.FORMAT with --window)",
    )
    parser.add_argument("--window", type=int, nargs=2, metavar=("T0", "T1"))
    add_figure_options(parser)
    args = parser.parse_args(argv)
    if args.window and args.window[1] <= args.window[0]:
        parser.error(f"--window {args.window[0]} {args.window[1]}: T1 must be after T0")
    if args.window and not 0 <= args.window[0] < args.window[1] <= MAX_CYCLE:
        parser.error(f"--window {args.window[0]} {args.window[1]}: need 0 <= T0 < T1 <= 2^62")
    stem = "timeline" if not args.window else "timeline_{}_{}".format(*args.window)
    try:
        trace = plotting.load_trace(args.result_dir)
        out = output_path(args, stem)
        if not out.parent.is_dir():
            raise ConfigError(f"--out {out}: no directory {out.parent}; create it first")
        end = int(trace["end"].max(initial=0))
        if args.window and args.window[0] >= end:
            raise ConfigError(
                f"--window {args.window[0]} {args.window[1]}: the run ends at cycle {end:,}; "
                f"give T0 below it"
            )
        if args.window:  # past the run's end there is nothing to draw
            args.window = [args.window[0], min(args.window[1], end)]
        try:
            with matplotlib.style.context(args.style or {}):
                figure = plotting.timeline_figure(
                    trace,
                    _title(args.result_dir, args.window),
                    args.window,
                    dpi=args.dpi or plotting.DPI,
                )
                plotting.save_figure(figure, out, args.dpi)
        except (KeyError, ValueError, IndexError) as exc:
            raise ConfigError(
                f"{args.result_dir / 'trace.npz'}: incomplete or inconsistent trace "
                f"({type(exc).__name__}: {exc}); run accelsim run again to write it"
            ) from None
    except (AccelsimError, OSError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0


def add_figure_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=plotting.FORMATS, help="png (default), svg or pdf")
    parser.add_argument("--dpi", type=float, help=f"dots per inch (default {plotting.DPI})")
    parser.add_argument("--style", help="a matplotlib style sheet: a name or a .mplstyle file")


def output_path(args, stem: str) -> Path:
    """--out, whose extension must name a format (and agree with --format), or
    DIR/stem.FORMAT."""
    if args.out is None:
        return args.result_dir / f"{stem}.{args.format or 'png'}"
    fmt = plotting.figure_format(args.out)
    if args.format and args.format != fmt:
        raise AccelsimError(f"--out {args.out} is {fmt}, --format says {args.format}: pick one")
    return args.out


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
