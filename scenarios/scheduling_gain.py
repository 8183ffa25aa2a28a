"""How much does sparsity-aware scheduling gain over round-robin, and how far is the best
policy from what the hardware allows? Every shipped pruned network, lock-step and decoupled.

The same as `accelsim compare --networks` (accelsim/studies/scheduling_gain.py says what it runs):
prints the table and writes scheduling_gain.png and scheduling_gain.json.

    python scenarios/scheduling_gain.py [--out DIR] [--evaluations N] [--networks a,b]
"""

from __future__ import annotations

import sys

from accelsim.cli import main

if __name__ == "__main__":
    args = sys.argv[1:]
    if "--networks" not in args:
        args += ["--networks"]
    if "--out" not in args:
        args += ["--out", "results/scheduling_gain"]
    sys.exit(main(["compare", *args]))
