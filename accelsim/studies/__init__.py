"""Many runs: sweeps over hardware and mapping fields (`sweep`, locally or on Dask), sizing
the array and buffers against a target (`sizing`), policies side by side (`compare`) and the
gain of planning against the hardware (`scheduling_gain`).

May import every layer below: the foundation, workload, policies, engine, outputs, and the
one-run pipeline (`accelsim.scenario`, `accelsim.pipeline`, `accelsim.baseline_cache`).
Only the CLI sits above.
"""
