"""Draw the utilization of a result directory: python plots/utilization.py results/default

Stacked state shares per PE; beyond 64 PEs, per band of PEs, with the range of busy shares
over each band's PEs. --format png|svg|pdf, or an --out file name's extension, chooses the
format; --dpi the resolution; --style a matplotlib style sheet.
"""

import argparse
import sys
from pathlib import Path

import matplotlib.style
from timeline import add_figure_options, output_path

from accelsim.errors import AccelsimError
from accelsim.outputs import plotting


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("result_dir", type=Path)
    parser.add_argument(
        "--out", type=Path, help="file to write, .png, .svg or .pdf (default: DIR/utilization.png)"
    )
    add_figure_options(parser)
    args = parser.parse_args()
    try:
        out = output_path(args, "utilization")
        trace = plotting.load_trace(args.result_dir)
        with matplotlib.style.context(args.style or {}):
            plotting.save_figure(plotting.utilization_figure(trace), out, args.dpi)
    except (AccelsimError, OSError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
