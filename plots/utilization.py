"""Draw the utilization of a result directory: python plots/utilization.py results/default

Stacked state shares per PE; beyond 64 PEs, per band of PEs, with the range of busy shares
over each band's PEs.
"""

import argparse
from pathlib import Path

from accelsim.outputs import plotting


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("result_dir", type=Path)
    parser.add_argument("--out", type=Path, help="PNG to write (default: DIR/utilization.png)")
    args = parser.parse_args()
    out = args.out or args.result_dir / "utilization.png"
    plotting.save_utilization(plotting.load_trace(args.result_dir), out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
