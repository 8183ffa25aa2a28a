"""Networks: layers and their shapes (`layers`), the topology CSV and `load_network` over
every format (`topology`), the importers (`onnx_import`, `ncnn_io`, `scalesim`), the ONNX
writer (`onnx_io`) and the built-in zoo (`zoo`).

May import: the foundation modules only.
"""
