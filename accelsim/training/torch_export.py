"""A pruned PyTorch model into accelsim: torch.nn.utils.prune, torch.onnx.export, the importer.

    python -m accelsim.training.torch_export [--out DIR] [--seed N]

needs PyTorch (`pip install torch`; it is in no accelsim extra: it is large). It builds a
small CNN with what real networks have (a stem with BatchNorm, a text-recogniser stride of
(2, 1), a depthwise-separable block with a residual Add, a feature-pyramid branch that is
upsampled and concatenated, global pooling and a classifier), prunes every conv and linear
layer by L1 magnitude with `torch.nn.utils.prune` (layer by layer to 50 %, then the
classifier globally with the convs to 70 %), makes the pruning permanent
(`prune.remove`: the zeros are then in the weights) and exports it twice with
`torch.onnx.export` (TorchScript exporter, dynamic height and width, in eval mode so the
exporter folds the BatchNorms):
- `torch_pruned_cnn.onnx`, and
- `torch_pruned_cnn.nnz.json`: each pruned module's nonzero weights as PyTorch counts them,
  which the importer's masks must reproduce.
The shipped copies are `tests/data/` (a few tens of kB); tests/test_torch_route.py imports
them with `accelsim import` and runs them, without torch. The same three steps take any
pruned model:

    for m in model.modules(): prune.remove(m, "weight")  # after prune.l1_unstructured & co
    torch.onnx.export(model.eval(), torch.zeros(1, 3, 32, 96), "m.onnx", dynamo=False)
    accelsim import m.onnx --input-shape 3,32,96 --out work/
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[2] / "tests" / "data"
INPUT = (3, 32, 96)  # a text-line-like input: the (2, 1) stride halves only the height


def build_model(torch):
    nn = torch.nn

    class Small(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 16, 3, stride=2, padding=1, bias=False)
            self.bn = nn.BatchNorm2d(16)
            self.rect = nn.Conv2d(16, 24, (3, 3), stride=(2, 1), padding=(1, 1))
            self.dw = nn.Conv2d(24, 24, 3, padding=1, groups=24)
            self.pw = nn.Conv2d(24, 24, 1)
            self.down = nn.Conv2d(24, 32, 3, stride=2, padding=1)
            self.lateral = nn.Conv2d(32 + 24, 32, 1)
            self.fc = nn.Linear(32, 10)

        def forward(self, x):
            x = torch.relu(self.bn(self.stem(x)))
            x = torch.relu(self.rect(x))
            x = x + self.pw(torch.relu(self.dw(x)))  # depthwise-separable block, residual
            deep = torch.relu(self.down(x))
            up = nn.functional.interpolate(deep, size=x.shape[2:], mode="nearest")
            x = torch.relu(self.lateral(torch.cat([x, up], dim=1)))  # a pyramid's merge
            return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))

    return Small()


def prune_model(torch, model) -> dict[str, int]:
    """L1 pruning as torch.nn.utils.prune does it, made permanent; nonzeros per module."""
    from torch.nn.utils import prune

    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    for conv in convs:
        prune.l1_unstructured(conv, "weight", amount=0.5)
    prune.ln_structured(model.lateral, "weight", amount=0.25, n=1, dim=0)  # whole filters
    prune.l1_unstructured(model.fc, "weight", amount=0.7)
    for module in [*convs, model.fc]:
        prune.remove(module, "weight")
    return {
        name: int((module.weight != 0).sum())
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Conv2d | torch.nn.Linear)
    }


def export(out: Path, seed: int) -> list[Path]:
    import torch

    torch.manual_seed(seed)
    model = build_model(torch)
    with torch.no_grad():  # a BatchNorm with statistics of its own, as after training
        model.bn.running_mean.uniform_(-0.5, 0.5)
        model.bn.running_var.uniform_(0.5, 2.0)
        model.bn.weight.uniform_(0.5, 1.5)
    nnz = prune_model(torch, model)
    out.mkdir(parents=True, exist_ok=True)
    onnx_path = out / "torch_pruned_cnn.onnx"
    torch.onnx.export(
        model.eval(),
        torch.zeros(1, *INPUT),
        str(onnx_path),
        input_names=["image"],
        output_names=["logits"],
        dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"}},
        opset_version=17,
        dynamo=False,
    )
    meta = {"torch": torch.__version__, "seed": seed, "input_shape": list(INPUT), "nnz": nnz}
    json_path = out / "torch_pruned_cnn.nnz.json"
    json_path.write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    return [onnx_path, json_path]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m accelsim.training.torch_export")
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder (default {OUT})")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        import torch  # noqa: F401
    except ImportError:
        print("torch_export: needs PyTorch: pip install torch", file=sys.stderr)
        return 2
    for path in export(args.out, args.seed):
        print(f"wrote {path} ({path.stat().st_size:,} B)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
