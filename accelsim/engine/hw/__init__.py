"""SimPy components of the accelerator; `accelsim.engine.assemble` wires them.

`status` holds the boards the dispatcher and the PEs share, so that `pe` and `dispatch` each
import it and not each other. May import: the foundation modules and `accelsim.workload`.
"""
