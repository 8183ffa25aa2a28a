"""The engine: one layer after another on the modelled hardware, and what bounds it.

Owns the SimPy components (`hw/`: PEs, buffers and their loader, DRAM port, interconnect,
dispatcher, the shared boards, the clock), their assembly per layer (`assemble`: plan, fit
check, engine choice, run), the exact closed form (`closed_form`), the broadcast order both
engines read (`broadcasts`, kept between the plans a planner scores: `broadcast_memo`), the
lower bounds that let a planner drop a plan unsimulated (`plan_bounds`), the bounds of the
hardware (`hardware_bounds`), where the cycles
go (`gap`), the cost models (`area`, `energy`), and the mapper that picks each layer's tiling
for the hardware by simulating candidates (`mapper`).

May import: the foundation modules (errors, units, config, trace), `accelsim.workload` and
`accelsim.policies`. Policies reach the simulator only as `Problem.evaluate`, which
`assemble.layer_problem` provides: nothing below imports the engine.
"""
