"""What a run gives a person: the report (`report`: summary.json, layers.csv, the printed
table), the HTML page (`html_report`), the Perfetto trace (`perfetto`), the run's plots
(`plotting`, drawn by `charts`) and the studies' matplotlib figures (`figures`).

May import: the foundation modules, `accelsim.workload`, `accelsim.policies` and
`accelsim.engine`. Nothing in the simulation imports it.
"""
