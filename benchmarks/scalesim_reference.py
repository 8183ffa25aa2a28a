"""Reproduce the stored SCALE-Sim reference set (tests/scalesim_reference.json).

    pip install scalesim==3.0.0      # not an accelsim dependency; numpy < 2.4 per its notes
    python benchmarks/scalesim_reference.py [--out tests/scalesim_reference.json]
        [--networks lenet5,resnet18,alexnet] [--shapes 32x32,64x64,16x128] [--append] [--quick]
    python benchmarks/scalesim_reference.py --compare   # the stored file against accelsim

The stored set was made by these runs (SCALE-Sim is deterministic). SCALE-Sim takes 1 to 10
minutes of CPU per network, shape and dataflow, so AlexNet is stored without its fully
connected layers, whose folds alone take it over 5 minutes of CPU a dataflow (fully
connected layers are covered by LeNet-5's ip1 and ip2 and ResNet-18's fc); the runs marked
with `fast_hits` in the file were made with --fast-hits (same numbers: see fast_hits):

    python benchmarks/scalesim_reference.py --networks lenet5 --shapes 32x32,64x64,16x128
    python benchmarks/scalesim_reference.py --networks resnet18 --shapes 32x32 --append
    python benchmarks/scalesim_reference.py --networks alexnet --shapes 128x128 \
        --conv-only alexnet --append
    python benchmarks/scalesim_reference.py --fast-hits --networks resnet18 \
        --shapes 64x64,16x128 --append     # 16x128 os and is run apart with --dataflows
    python benchmarks/scalesim_reference.py --fast-hits --networks alexnet \
        --shapes 64x64,16x128 --conv-only alexnet --append

SCALE-Sim 3.0 runs every MAC layer of each network (as a SCALE-Sim topology: topology_csv)
on each array shape and dataflow, in its estimate-bandwidth mode (InterfaceBandwidth =
CALC: no stalls, ideal memory) with 64 KiB IFMAP, filter and OFMAP SRAMs and 1-byte words,
layer by layer through its Python API without traces. The file keeps, per layer,
SCALE-Sim's compute cycles and its DRAM IFMAP reads, filter reads and OFMAP writes
(words = bytes), and says which SCALE-Sim version and config made it.
tests/test_systolic_scalesim.py compares accelsim's systolic reference
(accelsim.engine.systolic) against it; SCALE-Sim itself is never imported by the tests.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

from accelsim.workload.networks.scalesim import HEADER
from accelsim.workload.networks.topology import load_network

ROOT = Path(__file__).resolve().parent.parent
NETWORKS = ("lenet5", "resnet18", "alexnet")  # the default run: every network, every shape
SHAPES = ((32, 32), (64, 64), (16, 128))
DATAFLOWS = ("ws", "os", "is")
SRAM_KIB = 64

CONFIG = """[general]
run_name = ref

[run_presets]
InterfaceBandwidth = CALC
UseRamulatorTrace = False

[architecture_presets]
ArrayHeight = {rows}
ArrayWidth = {cols}
IfmapSramSzkB = {sram}
FilterSramSzkB = {sram}
OfmapSramSzkB = {sram}
IfmapOffset = 0
FilterOffset = 10000000
OfmapOffset = 20000000
Dataflow = {dataflow}
ReadRequestBuffer = 32
WriteRequestBuffer = 32
Bandwidth = 10

[layout]
IfmapCustomLayout = False
FilterCustomLayout = False
IfmapSRAMBankBandwidth = 10
IfmapSRAMBankNum = 10
IfmapSRAMBankPort = 2
FilterSRAMBankBandwidth = 10
FilterSRAMBankNum = 10
FilterSRAMBankPort = 2

[sparsity]
SparsitySupport = false
SparseRep = ellpack_block
OptimizedMapping = false
BlockSize = 8
RandomNumberGeneratorSeed = 40
"""


def topology_csv(mac_layers) -> str:
    """The network's MAC layers as a SCALE-Sim topology, each IFMAP cropped to the rows and
    columns its windows span, (out - 1) x stride + kernel: SCALE-Sim counts
    ceil((H - k + stride) / stride) outputs, one more than the layer has wherever the padded
    map has rows past its last window (ResNet-18's stride-2 layers); those rows are never
    read, so cropping them keeps the layer the same and its outputs the layer's own."""
    rows = [", ".join(HEADER) + ","]
    for layer in mac_layers:
        h = (layer.out_h - 1) * layer.stride_h + layer.extent_h
        w = (layer.out_w - 1) * layer.stride_w + layer.extent_w
        rows.append(
            f"{layer.name}, {h}, {w}, {layer.k_h}, {layer.k_w}, {layer.channels_per_group}, "
            f"{layer.out_c}, {layer.stride_h},"
        )
    return "\n".join(rows) + "\n"


def layout_csv(topology: str) -> str:
    """A layout file with a row per layer: SCALE-Sim reads one even with custom layouts off."""
    names = [row.split(",")[0] for row in topology.splitlines()[1:] if row.strip()]
    return (
        "Layer name,"
        + ",".join(["x"] * 20)
        + ",\n"
        + "".join(f"{n}," + ",".join(["1"] * 20) + ",\n" for n in names)
    )


def fast_hits() -> None:
    """Make SCALE-Sim's estimate-bandwidth read buffer answer its hit test from an index
    instead of scanning up to 50 Python sets per address (60 % of its CPU on a ResNet-18
    layer), with the same answer on every call, and skip the disabled progress bar its write
    buffer builds every cycle. Nothing else changes: the demand matrices, the buffer's sets,
    slides and counts are SCALE-Sim's own.

    Why the answer is the same: check_hit(addr) asks whether addr lies in a completed set
    with id in [start, min(current, end + 1)). An address is added to the current set only
    on a miss, so when it is added no set in the window holds it; the window's start never
    decreases and current <= end + 1 always, so an older set holding addr can never be in a
    later window either. The newest completed set holding addr therefore decides, and the
    index keeps exactly that (sets are indexed in id order, newest last)."""
    from scalesim.memory import write_buffer
    from scalesim.memory.read_buffer_estimate_bw import ReadBufferEstimateBw

    def check_hit(self, addr):
        start = self.read_buffer_set_start_id
        end = min(self.current_set_id, self.read_buffer_set_end_id + 1)
        if start == end:
            return False
        where = self.__dict__.setdefault("_where", {})
        done = self.__dict__.setdefault("_indexed", 0)
        while done < end:  # index the sets completed since the last call, oldest first
            members = self.list_of_sets[done]
            if members is not None:  # None: discarded by a slide, out of every window
                for a in members:
                    where[a] = done
            done += 1
        self._indexed = done
        newest = where.get(addr)
        return newest is not None and start <= newest < end

    ReadBufferEstimateBw.check_hit = check_hit
    write_buffer.tqdm = lambda iterable, **_: iterable


def run_layer(sim_mod, cfg, topo, lay, layer_id: int) -> dict:
    """One layer through SCALE-Sim's single_layer_sim: its own object, freed after."""
    layer = sim_mod.single_layer_sim()
    layer.set_params(
        layer_id=layer_id, config_obj=cfg, topology_obj=topo, layout_obj=lay, verbose=False
    )
    layer.run()
    compute = layer.get_compute_report_items()
    detail = layer.get_detail_report_items()
    return {
        "compute_cycles": int(compute[1]),
        "ifmap_dram_bytes": int(detail[11]),
        "filter_dram_bytes": int(detail[14]),
        "ofmap_dram_bytes": int(detail[17]),
        "ifmap_sram_reads": int(detail[2]),
        "filter_sram_reads": int(detail[5]),
        "ofmap_sram_writes": int(detail[8]),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "tests" / "scalesim_reference.json"))
    ap.add_argument("--networks", default=",".join(NETWORKS))
    ap.add_argument(
        "--shapes",
        default=",".join(f"{r}x{c}" for r, c in SHAPES),
        help="array shapes, ROWSxCOLS joined by commas",
    )
    ap.add_argument("--dataflows", default=",".join(DATAFLOWS), help="of ws, os, is")
    ap.add_argument(
        "--conv-only",
        default="",
        help="networks (comma-separated) whose fc layers are left out: AlexNet's fc6 to fc8 "
        "take SCALE-Sim over 5 minutes of CPU a dataflow at 128 x 128",
    )
    ap.add_argument(
        "--append",
        action="store_true",
        help="keep the runs already in --out (those run again are replaced)",
    )
    ap.add_argument("--quick", action="store_true", help="LeNet-5 only, one shape")
    ap.add_argument(
        "--fast-hits",
        action="store_true",
        help="answer SCALE-Sim's read-buffer hit test from an index (same numbers, about 2x "
        "less CPU; see fast_hits)",
    )
    ap.add_argument(
        "--compare",
        action="store_true",
        help="no SCALE-Sim: compare accelsim's systolic reference with the stored file",
    )
    args = ap.parse_args()
    if args.compare:
        return compare(Path(args.out))
    try:
        from scalesim import scale_config, single_layer_sim, topology_utils
        from scalesim.layout_utils import layouts
    except ImportError:
        print("SCALE-Sim is not installed: pip install scalesim==3.0.0", file=sys.stderr)
        return 2
    if args.fast_hits:
        fast_hits()
    networks = ["lenet5"] if args.quick else args.networks.split(",")
    shapes = [tuple(int(n) for n in shape.split("x")) for shape in args.shapes.split(",")]
    shapes = shapes[:1] if args.quick else shapes
    kept = json.loads(Path(args.out).read_text())["runs"] if args.append else []
    runs: list[dict] = []
    tmp = Path(tempfile.mkdtemp(prefix="scalesim-ref-"))
    for name in networks:
        network = load_network(name)
        conv_only = name in args.conv_only.split(",")
        mac_layers = [l for l in network.mac_layers if not conv_only or l.kind == "conv"]
        topology = topology_csv(mac_layers)
        (tmp / f"{name}.csv").write_text(topology)
        (tmp / f"{name}_layout.csv").write_text(layout_csv(topology))
        for rows, cols in shapes:
            for dataflow in args.dataflows.split(","):
                cfg_path = tmp / f"{name}_{rows}x{cols}_{dataflow}.cfg"
                cfg_path.write_text(
                    CONFIG.format(rows=rows, cols=cols, sram=SRAM_KIB, dataflow=dataflow)
                )
                cfg = scale_config.scale_config()
                cfg.read_conf_file(str(cfg_path))
                topo = topology_utils.topologies()
                topo.load_arrays(topofile=str(tmp / f"{name}.csv"))
                lay = layouts()
                lay.load_arrays(layoutfile=str(tmp / f"{name}_layout.csv"))
                layers = {}
                t0 = time.process_time()
                for i, layer in enumerate(mac_layers):
                    with contextlib.redirect_stdout(io.StringIO()):
                        layers[layer.name] = run_layer(single_layer_sim, cfg, topo, lay, i)
                print(
                    f"{name} {rows}x{cols} {dataflow}: "
                    f"{sum(l['compute_cycles'] for l in layers.values()):,} cycles "
                    f"({time.process_time() - t0:.1f} s CPU)",
                    flush=True,
                )
                runs.append(
                    {
                        "network": name,
                        "rows": rows,
                        "cols": cols,
                        "dataflow": dataflow,
                        **({"left_out": "fc layers (--conv-only)"} if conv_only else {}),
                        **({"fast_hits": True} if args.fast_hits else {}),
                        "layers": layers,
                    }
                )
                done = {(r["network"], r["rows"], r["cols"], r["dataflow"]) for r in runs}
                old = [
                    r
                    for r in kept
                    if (r["network"], r["rows"], r["cols"], r["dataflow"]) not in done
                ]
                write(Path(args.out), old + runs)  # after every run: a long job keeps its work
    print(f"wrote {args.out}")
    return 0


def compare(path: Path) -> int:
    """Per stored run: layers whose compute cycles agree (SCALE-Sim's + 1), and the DRAM
    bytes of each operand in total, accelsim's over SCALE-Sim's, with the layers within 1 %;
    and the compulsory input bytes (each input word once, the least any buffer reads) over
    SCALE-Sim's, the other side of accelsim's upper bound."""
    from accelsim.config import Hardware
    from accelsim.engine import systolic

    data = json.loads(path.read_text())
    kib = data["config"]["ifmap_sram_kib"] * 1024
    print(
        f"{'run':<22}{'cycles':>8}{'filter':>16}{'ifmap':>16}{'ofmap':>16}{'all DRAM':>10}"
        f"{'ifmap once':>12}"
        "\n(cycles: layers equal; each operand: accelsim / SCALE-Sim bytes, layers within 1 %;"
        "\n ifmap once: compulsory / SCALE-Sim input bytes)"
    )
    for run in data["runs"]:
        array = systolic.SystolicArray(run["rows"], run["cols"], run["dataflow"], kib, kib, kib)
        layers = [l for l in load_network(run["network"]).mac_layers if l.name in run["layers"]]
        ours = [systolic.run_layer(l, array, Hardware()) for l in layers]
        theirs = [run["layers"][l.name] for l in layers]
        same = sum(o.compute_cycles == t["compute_cycles"] + 1 for o, t in zip(ours, theirs))
        cells = []
        for op in ("filter", "ifmap", "ofmap"):
            a = [getattr(o, f"{op}_dram_bytes") for o in ours]
            b = [t[f"{op}_dram_bytes"] for t in theirs]
            close = sum(abs(x - y) <= 0.01 * y for x, y in zip(a, b))
            cells.append(f"{sum(a) / max(sum(b), 1):>9.3f} {close:>2}/{len(a):<2}")
        once = sum(systolic.ifmap_words(l) for l in layers)
        total = sum(o.dram_bytes for o in ours) / sum(
            t["filter_dram_bytes"] + t["ifmap_dram_bytes"] + t["ofmap_dram_bytes"] for t in theirs
        )
        print(
            f"{run['network'] + ' ' + array.label():<22}{same:>3}/{len(layers):<4}"
            + "".join(f"{c:>16}" for c in cells)
            + f"{total:>10.3f}"
            + f"{once / sum(t['ifmap_dram_bytes'] for t in theirs):>12.3f}"
        )
    return 0


def write(path: Path, runs: list[dict]) -> None:
    from importlib.metadata import version

    data = {
        "made_by": "benchmarks/scalesim_reference.py",
        "scalesim_version": version("scalesim"),
        "config": {
            "mode": "estimate bandwidth (InterfaceBandwidth = CALC): no stalls",
            "ifmap_sram_kib": SRAM_KIB,
            "filter_sram_kib": SRAM_KIB,
            "ofmap_sram_kib": SRAM_KIB,
            "word_bytes": 1,
            "topology": "topology_csv: each IFMAP the padded rows and columns its windows span",
        },
        "fields": {
            "compute_cycles": "COMPUTE_REPORT 'Total Cycles' (compute, no stalls)",
            "ifmap_dram_bytes": "DETAILED_ACCESS_REPORT 'DRAM IFMAP Reads' x 1 byte",
            "filter_dram_bytes": "DETAILED_ACCESS_REPORT 'DRAM Filter Reads' x 1 byte",
            "ofmap_dram_bytes": "DETAILED_ACCESS_REPORT 'DRAM OFMAP Writes' x 1 byte",
            "*_sram_reads, ofmap_sram_writes": "DETAILED_ACCESS_REPORT SRAM accesses, words",
        },
        "runs": runs,
    }
    path.write_text(json.dumps(data, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
