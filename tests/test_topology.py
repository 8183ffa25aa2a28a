import pytest

from accelsim.errors import ConfigError
from accelsim.workload import load_network, read_topology, write_topology
from accelsim.workload.networks import zoo
from accelsim.workload.networks.layers import LayerKind
from accelsim.workload.networks.topology import COLUMNS, PER_AXIS_COLUMNS, shipped_networks

# (weights excluding biases and BN, MACs at batch 1): the published figures.
PUBLISHED = {
    "vgg16": (138_344_128, 15_470_264_320),
    "resnet50": (25_502_912, 4_089_184_256),
    "resnet18": (11_678_912, 1_814_073_344),
    "mobilenet_v1": (4_209_088, 568_740_352),
    "alexnet": (60_954_656, 724_406_816),
    "lenet5": (430_500, 2_293_000),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_dense_totals_match_published_figures(name):
    net = load_network(name)
    assert (net.weights, net.dense_macs) == PUBLISHED[name]


def test_every_shipped_topology_is_the_zoo_scripts_output(tmp_path):
    # the real_* topologies are written by accelsim.workload.sparsity.real_weights (tests/test_measured.py)
    assert [n for n in shipped_networks() if not n.startswith("real_")] == sorted(zoo.ZOO)
    zoo.main([str(tmp_path)])
    for name in zoo.ZOO:
        shipped = load_network(name)
        assert (tmp_path / f"{name}.csv").read_text() == write_topology(shipped)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_write_then_read_is_identity(name):
    net = load_network(name)
    assert read_topology(write_topology(net), "<mem>", name) == net


def test_alexnet_grouped_convs_and_mobilenet_depthwise():
    alex = load_network("alexnet")
    assert [alex.layer(n).groups for n in ("conv1", "conv2", "conv3", "conv4", "conv5")] == [
        1,
        2,
        1,
        2,
        2,
    ]
    dw = load_network("mobilenet_v1").layer("conv1_dw")
    assert dw.groups == dw.in_c == dw.out_c == 32 and dw.weights == 32 * 9


def test_resnet_shortcut_sources_are_checked():
    net = load_network("resnet18")
    add = net.layer("layer2.0.add")
    assert add.kind is LayerKind.ADD and add.sources == ("layer2.0.conv2", "layer2.0.downsample.0")


HEADER = ",".join(COLUMNS)
GOOD = f"{HEADER}\ndata,input,,3,8,8,3,1,1,1,0,1\nc1,conv,,3,8,8,4,3,3,1,1,1\n"


def test_small_good_topology_loads():
    net = read_topology(GOOD, "t.csv", "t")
    assert net.layer("c1").out_shape == (4, 8, 8)


@pytest.mark.parametrize(
    "row, message",
    [
        (
            "c2,conv,,5,8,8,4,3,3,1,1,1",
            r"t.csv: layer c2: input shape .* = \(5, 8, 8\), but c1 produces \(4, 8, 8\)",
        ),
        ("c2,bogus,,4,8,8,4,3,3,1,1,1", r"row 4 \(c2\): kind = 'bogus'"),
        ("c2,conv,,4,8,8,four,3,3,1,1,1", r"row 4 \(c2\): out_c = 'four': must be an integer"),
        ("c2,conv,,4,8,8,6,3,3,1,1,4", r"groups = 4 must divide in_c = 4 and out_c = 6"),
        ("c2,conv,nowhere,4,8,8,4,3,3,1,1,1", r"source 'nowhere' is not an earlier layer"),
        ("c1,conv,,4,8,8,4,3,3,1,1,1", r"layer c1: duplicate layer name"),
        ("f,fc,,100,1,1,10,1,1,1,0,1", r"layer f: in_c = 100 .* c1 gives 4x8x8 = 256 features"),
        ("c2,conv,,4,8,8,4,11,11,1,0,1", r"kernel 11x11 with pad 0 does not fit a 8x8 input"),
        ("c2,conv,,4,8,8,0,3,3,1,1,1", r"row 4 \(c2\): out_c = 0: must be an integer from 1 to"),
    ],
)
def test_malformed_topologies_are_rejected_with_file_row_and_field(row, message):
    with pytest.raises(ConfigError, match=message):
        read_topology(GOOD + row + "\n", "t.csv", "t")


def test_wrong_header_and_unknown_network():
    with pytest.raises(ConfigError, match="t.csv: header must be"):
        read_topology("a,b\n1,2\n", "t.csv", "t")
    with pytest.raises(ConfigError, match="'resnet19' is neither a shipped topology"):
        load_network("resnet19")


def test_a_missing_network_file_is_named_where_it_was_looked_for(tmp_path):
    # a path is not a name: no list of shipped topologies, but the file looked for
    with pytest.raises(ConfigError) as info:
        load_network("nets/missing.csv", base=tmp_path)
    message = str(info.value)
    assert f"no such file {tmp_path / 'nets' / 'missing.csv'}" in message
    assert f"read relative to {tmp_path}" in message and "resnet18" not in message


def test_an_fc_row_fed_by_unmodelled_operators_takes_its_input_as_given():
    # sources '-' on an fc row once ended in "unexpected IndexError"
    net = read_topology(GOOD + "f,fc,-,256,1,1,10,1,1,1,0,1\n", "t.csv", "t")
    f = net.layer("f")
    assert (f.sources, f.weights, f.dense_macs) == ((), 2560, 2560)
    with pytest.raises(ConfigError, match=r"t.csv: layer f: in_h = 4, in_w = 4: an fc layer"):
        read_topology(GOOD + "f,fc,-,16,4,4,10,1,1,1,0,1\n", "t.csv", "t")
    with pytest.raises(ConfigError, match=r"t.csv: layer a: add needs two or more sources"):
        read_topology(GOOD + "a,add,-,4,8,8,4,1,1,1,0,1\n", "t.csv", "t")


PER_AXIS = ",".join(PER_AXIS_COLUMNS)


def test_per_axis_geometry_round_trips_and_old_files_still_load():
    text = (
        f"{PER_AXIS}\ndata,input,,3,32,100,3,1,1,1,1,0,0,0,0,1,1,1\n"
        "c1,conv,,3,32,100,8,3,5,2,1,0,1,2,2,1,1,1\n"
        "c2,conv,,8,16,100,8,3,3,1,1,2,2,2,2,2,2,8\n"
    )
    net = read_topology(text, "t.csv", "t")
    c1, c2 = net.layer("c1"), net.layer("c2")
    assert (c1.stride, c1.pad, c1.out_shape) == ((2, 1), (0, 1, 2, 2), (8, 16, 100))
    assert (c2.dilation, c2.out_shape, c2.dense_macs) == ((2, 2), (8, 16, 100), 8 * 9 * 1600)
    written = write_topology(net)
    assert written.splitlines()[1] == PER_AXIS
    assert read_topology(written, "<mem>", "t") == net
    # a network whose every layer is uniform keeps the short header, as older files have
    assert write_topology(read_topology(GOOD, "t.csv", "t")).splitlines()[1] == HEADER
    short_and_long = read_topology(
        f"{PER_AXIS}\ndata,input,,3,8,8,3,1,1,1,1,0,0,0,0,1,1,1\n"
        "c1,conv,,3,8,8,4,3,3,1,1,1,1,1,1,1,1,1\n",
        "t.csv",
        "t",
    )
    assert short_and_long == read_topology(GOOD, "t.csv", "t")


@pytest.mark.parametrize(
    "row, message",
    [
        ("c2,conv,,4,8,8,4,3,3,0,1,1,1,1,1,1,1,1", r"row 4 \(c2\): stride = \(0, 1\): must be"),
        ("c2,conv,,4,8,8,4,3,3,1,1,-1,1,1,1,1,1,1", r"row 4 \(c2\): pad = \(-1, 1, 1, 1\)"),
        ("c2,conv,,4,8,8,4,3,3,1,1,1,1,1,1,0,1,1", r"row 4 \(c2\): dilation = \(0, 1\)"),
        ("c2,conv,,4,8,8,4,3,3,1,1,0,0,0,0,4,4,1", r"kernel 3x3 dilated 4 with pad 0 does not"),
        ("c2,conv,,4,8,8,4,3,3,1,1,1,1", r"row 4: 13 cells for 18 columns"),
    ],
)
def test_malformed_per_axis_rows_name_the_row_and_field(row, message):
    good = f"{PER_AXIS}\ndata,input,,3,8,8,3,1,1,1,1,0,0,0,0,1,1,1\n"
    good += "c1,conv,,3,8,8,4,3,3,1,1,1,1,1,1,1,1,1\n"
    with pytest.raises(ConfigError, match=message):
        read_topology(good + row + "\n", "t.csv", "t")
