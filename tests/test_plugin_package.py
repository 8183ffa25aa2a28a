"""A policy shipped in its own installed package, found by its entry point."""

import subprocess
import sys
import textwrap

import pytest

from accelsim.errors import PolicyError
from accelsim.policies import Problem, available, load_policy, plan_layer


@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory):
    src = tmp_path_factory.mktemp("src")
    (src / "pyproject.toml").write_text(
        textwrap.dedent("""
        [build-system]
        requires = ["setuptools"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "accelsim-tiny-plugin"
        version = "0.1"
        [project.entry-points."accelsim.policies"]
        longest-on-pe0 = "tiny_plugin:LongestOnPE0"
        broken = "tiny_plugin:Broken"
    """)
    )
    (src / "tiny_plugin.py").write_text(
        textwrap.dedent("""
        from accelsim.policies import Plan

        class LongestOnPE0:
            name = "longest-on-pe0"
            def plan(self, problem):
                order = sorted(range(problem.n_jobs), key=lambda j: -problem.cycles[j])
                return Plan.static([order[:1], order[1:]] + [[]] * (problem.n_pes - 2))

        class Broken:
            name = "broken"
            def plan(self, problem):
                return Plan.static([[0]] * problem.n_pes)
    """)
    )
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(src),
        ],
        check=True,
        capture_output=True,
    )
    sys.path.insert(0, str(target))
    yield
    sys.path.remove(str(target))
    sys.modules.pop("tiny_plugin", None)


@pytest.mark.slow
def test_an_installed_plugin_is_found_by_name(installed_plugin):
    assert "longest-on-pe0" in available()
    plan = plan_layer(load_policy("longest-on-pe0"), Problem([1, 9, 4], 2))
    assert plan.queues == ((1,), (2, 0))


def test_an_installed_but_broken_plugin_is_named(installed_plugin):
    with pytest.raises(PolicyError, match="policy 'broken' must place every job exactly once"):
        plan_layer(load_policy("broken"), Problem([1, 9, 4], 2))
