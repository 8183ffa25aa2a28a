import pytest

from accelsim.errors import ConfigError
from accelsim.workload import load_network, read_topology
from accelsim.workload.networks.scalesim import read_scalesim, write_scalesim
from accelsim.workload.networks.topology import PER_AXIS_COLUMNS

# SCALE-Sim v2's own topologies/conv_nets/alexnet.csv, as it ships
ALEXNET = """Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,
Conv1     ,224         ,224        ,11           ,11          ,3       ,96        ,4      ,
Conv2     ,27         ,27        ,5            ,5           ,96      ,256       ,1      ,
Conv3     ,13          ,13         ,3            ,3           ,256     ,384       ,1      ,
"""


def test_reads_scalesims_own_file():
    net = read_scalesim(ALEXNET, "alexnet.csv", "alexnet")
    conv1 = net.layer("Conv1")
    assert (conv1.in_c, conv1.in_h, conv1.out_c, conv1.k_h, conv1.stride) == (
        3,
        224,
        96,
        11,
        (4, 4),
    )
    assert conv1.out_h == (224 - 11) // 4 + 1
    assert [l.name for l in net.mac_layers] == ["Conv1", "Conv2", "Conv3"]


@pytest.mark.parametrize("name", ["alexnet", "vgg16", "resnet18", "mobilenet_v1", "lenet5"])
def test_round_trip_keeps_every_layers_weights_and_macs(name, tmp_path):
    net = load_network(name)
    path = tmp_path / f"{name}.csv"
    path.write_text(write_scalesim(net))
    back = load_network(path)  # detected as SCALE-Sim by its header
    assert [(l.name, l.weights, l.dense_macs) for l in back.mac_layers] == [
        (l.name, l.weights, l.dense_macs) for l in net.mac_layers
    ]
    assert back.dense_macs == net.dense_macs


def test_bad_scalesim_rows_are_named():
    with pytest.raises(ConfigError, match=r"t.csv: row 2 \(Conv1\): Strides = 'x'"):
        read_scalesim(ALEXNET.replace("96        ,4", "96        ,x"), "t.csv", "t")
    with pytest.raises(
        ConfigError, match=r"t.csv: layer Conv1: kernel 11x11 with pad 0 does not fit a 8x8"
    ):
        read_scalesim(ALEXNET.replace("224         ,224", "8,8"), "t.csv", "t")


def test_per_axis_strides_and_asymmetric_pads_keep_weights_and_macs(tmp_path):
    text = (
        "# accelsim topology: t\n"
        f"{','.join(PER_AXIS_COLUMNS)}\n"
        "data,input,,3,32,100,3,1,1,1,1,0,0,0,0,1,1,1\n"
        "c1,conv,,3,32,100,8,3,5,2,1,0,1,2,2,1,1,1\n"
        "c2,conv,,8,16,100,16,1,1,1,1,0,0,0,0,1,1,1\n"
    )
    net = read_topology(text, "t.csv", "t")
    written = write_scalesim(net)
    assert written.splitlines()[0].endswith("Num Filter, Stride Height, Stride Width,")
    assert written.splitlines()[1] == "c1, 33, 104, 3, 5, 3, 8, 2, 1,"
    path = tmp_path / "s.csv"
    path.write_text(written)
    back = load_network(path)
    assert back.layer("c1").stride == (2, 1)
    assert [(l.weights, l.dense_macs, l.out_shape) for l in back.mac_layers] == [
        (l.weights, l.dense_macs, l.out_shape) for l in net.mac_layers
    ]
    dilated = read_topology(text.replace("0,1,2,2,1,1,1\n", "1,2,2,2,2,1,1\n", 1), "t.csv", "t")
    with pytest.raises(ConfigError, match="t: layer c1 is dilated, which a SCALE-Sim topology"):
        write_scalesim(dilated)
