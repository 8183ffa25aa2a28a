"""Every malformed or extreme input of tests/fuzz_cases.py through the command line, and the
count of each outcome: clean errors (one line naming file, field and value, exit 2),
unclear errors, unforeseen errors (the last-resort line), tracebacks, hangs, bad input
accepted, accepted runs, and accepted runs with wrong numbers.

    python benchmarks/fuzz.py [--show OUTCOME] [--kind KIND]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from fuzz_cases import GOOD, OUTCOMES, all_cases, run_case  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--show",
        action="append",
        default=[],
        help="print every case with this outcome (repeatable; 'bad' for all "
        "but clean errors and accepted runs)",
    )
    parser.add_argument("--kind", help="only cases of this kind (e.g. 'onnx')")
    args = parser.parse_args()
    counts, by_kind = Counter(), {}
    for case in all_cases():
        if args.kind and case.kind != args.kind:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            outcome, detail = run_case(case, Path(tmp))
        counts[outcome] += 1
        by_kind.setdefault(case.kind, Counter())[outcome] += 1
        if outcome in args.show or ("bad" in args.show and outcome not in GOOD):
            print(f"[{outcome}] {case.kind}: {case.name}: {detail[:300]}")
    print(f"\n{sum(counts.values())} cases")
    print(f"{'kind':<20}" + "".join(f"{o[:12]:>13}" for o in OUTCOMES))
    for kind, c in by_kind.items():
        print(f"{kind:<20}" + "".join(f"{c[o]:>13}" for o in OUTCOMES))
    print(f"{'total':<20}" + "".join(f"{counts[o]:>13}" for o in OUTCOMES))
    return 0 if set(counts) <= GOOD else 1


if __name__ == "__main__":
    sys.exit(main())
