"""The package's layers: every import (module-level, function-level, under TYPE_CHECKING)
goes to the importer's own layer or one below, and no modules import each other in a circle.

The order, lowest first (docs/model.md, "Packages and layers", draws the same map):
"""

import ast
from pathlib import Path

import pytest

import accelsim

LAYERS = (
    (
        "foundation",
        (
            "accelsim.errors",
            "accelsim.units",
            "accelsim.config",
            "accelsim.files",
            "accelsim.jsonio",
            "accelsim.trace",
            "accelsim.version",
        ),
    ),
    ("networks", ("accelsim.workload.networks",)),
    ("sparsity", ("accelsim.workload.sparsity",)),
    ("jobs", ("accelsim.workload",)),
    ("policies", ("accelsim.policies",)),
    ("components", ("accelsim.engine.hw",)),
    ("engine", ("accelsim.engine",)),
    ("outputs", ("accelsim.outputs",)),
    ("pipeline", ("accelsim.scenario", "accelsim.baseline_cache", "accelsim.pipeline")),
    ("studies", ("accelsim.studies",)),
    ("cli", ("accelsim.cli", "accelsim.__main__", "accelsim")),
)
# programs apart from the library: they may use the layers up to `APART_MAY_USE`, and no
# library module may import them
APART, APART_MAY_USE = ("accelsim.training",), "jobs"
__doc__ += (
    "\n".join(f"    {i}. {name}: {', '.join(mods)}" for i, (name, mods) in enumerate(LAYERS))
    + f"\n    apart: {', '.join(APART)}\n"
)


def layer_of(module: str) -> int:
    """Index in LAYERS by the longest matching prefix; len(LAYERS) for the programs apart."""
    best, rank = -1, None
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            # the package itself (its public API) is only itself, not everything below it
            inside = module.startswith(p + ".") and p != "accelsim"
            if (module == p or inside) and len(p) > best:
                best, rank = len(p), i
    if any(module == p or module.startswith(p + ".") for p in APART):
        return len(LAYERS)
    if rank is None:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS")
    return rank


def modules(root: Path) -> dict[str, Path]:
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The accelsim modules `name` imports anywhere in its file, each resolved to the module
    itself where `from package import module` names one."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = name.split(".") if is_package else name.split(".")[:-1]
                base = ".".join(here[: len(here) - node.level + 1] + ([base] if base else []))
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
            ]
        else:
            continue
        for target in targets:
            while target not in known and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in known and target != name:
                found.add(target)
    return found


def graph(root: Path) -> dict[str, set[str]]:
    known = modules(root)
    return {name: imports_of(name, path, known) for name, path in known.items()}


def upward(g: dict[str, set[str]]) -> list[str]:
    """Every import into a higher layer, or into a program apart from a library module, or
    from a program apart into the layers it may not use."""
    limit = [name for name, _ in LAYERS].index(APART_MAY_USE)
    bad = []
    for src, targets in g.items():
        for dst in targets:
            a, b = layer_of(src), layer_of(dst)
            apart_src, apart_dst = a == len(LAYERS), b == len(LAYERS)
            if (
                (apart_dst and not apart_src)
                or (apart_src and not apart_dst and b > limit)
                or (not apart_src and not apart_dst and b > a)
            ):
                bad.append(f"{src} ({_name(a)}) imports {dst} ({_name(b)})")
    return sorted(bad)


def _name(rank: int) -> str:
    return LAYERS[rank][0] if rank < len(LAYERS) else "apart"


def circles(g: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = 0
    for root in sorted(g):
        if root in index:
            continue
        work = [(root, iter(sorted(g[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in g:
                    continue
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(g[w]))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


PACKAGE = Path(accelsim.__file__).parent


def test_no_import_goes_up_a_layer():
    assert upward(graph(PACKAGE)) == []


def test_no_modules_import_each_other_in_a_circle():
    assert circles(graph(PACKAGE)) == []


def test_every_subpackage_says_what_it_owns():
    for init in PACKAGE.rglob("__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and len(doc) > 40, init


def _package(tmp_path, files: dict[str, str]) -> Path:
    root = tmp_path / "accelsim"
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for folder in [root, *[p for p in root.rglob("*") if p.is_dir()]]:
        (folder / "__init__.py").touch()
    return root


@pytest.mark.parametrize(
    "files, expected",
    [
        (
            {
                "engine/gap.py": "def f():\n    from accelsim.outputs import report\n",
                "outputs/report.py": "",
            },
            ["accelsim.engine.gap (engine) imports accelsim.outputs.report (outputs)"],
        ),
        (
            {
                "policies/exact.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                "    from accelsim.engine.assemble import simulate\n",
                "engine/assemble.py": "",
            },
            ["accelsim.policies.exact (policies) imports accelsim.engine.assemble (engine)"],
        ),
        (
            {"pipeline.py": "from accelsim import __version__\n"},
            ["accelsim.pipeline (pipeline) imports accelsim (cli)"],
        ),
        (
            {
                "workload/jobs.py": "from accelsim.training import im2col\n",
                "training/im2col.py": "",
            },
            ["accelsim.workload.jobs (jobs) imports accelsim.training.im2col (apart)"],
        ),
        (
            {"training/fit.py": "from accelsim.engine import assemble\n", "engine/assemble.py": ""},
            ["accelsim.training.fit (apart) imports accelsim.engine.assemble (engine)"],
        ),
        (
            {
                "engine/assemble.py": "from accelsim.policies import classic\n",
                "policies/classic.py": "from accelsim.workload.jobs import Job\n",
                "workload/jobs.py": "",
            },
            [],
        ),
    ],
)
def test_the_layer_check_catches_an_upward_import(tmp_path, files, expected):
    assert upward(graph(_package(tmp_path, files))) == expected


def test_the_circle_check_catches_a_circle_hidden_in_a_function(tmp_path):
    root = _package(
        tmp_path,
        {
            "workload/sparsity/pruning.py": "def f():\n    from . import model\n",
            "workload/sparsity/model.py": "from accelsim.workload.sparsity.counts import x\n",
            "workload/sparsity/counts.py": "from .pruning import f\n",
            "workload/sparsity/stats.py": "from accelsim.workload.sparsity import counts\n",
        },
    )
    assert circles(graph(root)) == [
        [
            "accelsim.workload.sparsity.counts",
            "accelsim.workload.sparsity.model",
            "accelsim.workload.sparsity.pruning",
        ]
    ]


def test_a_module_in_no_layer_is_named(tmp_path):
    with pytest.raises(AssertionError, match="accelsim.newthing is in no layer"):
        layer_of("accelsim.newthing")
