"""SimPy components of the accelerator; `accelsim.assemble` wires them."""
