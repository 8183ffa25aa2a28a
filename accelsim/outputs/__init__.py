"""What a run gives a person: the report (`report`: summary.json, layers.csv, the printed
table), the HTML page (`html_report`), the Perfetto trace (`perfetto_proto`, the protobuf a
run writes, its packets encoded by numpy in `proto_rows`; `perfetto`, the same as Chrome JSON
for Python callers, its rows formatted by numpy in `text_rows`), the run's plots (`plotting`: the four figures of a run, the state
palette, `save_figure`) and the studies' figures (`figures`); every figure is a matplotlib
`Figure`.

May import: the foundation modules, `accelsim.workload`, `accelsim.policies` and
`accelsim.engine`. Nothing in the simulation imports it.
"""
