"""accelsim: a discrete-event simulator of accelerators running weight-pruned CNNs.

The public API, in the order a script uses it:
    load_scenario(path) -> Scenario;  run_scenario(scenario) -> Outcome (.report, .result)
    or, piece by piece: load_network, prune_with_profile / prune_magnitude, build_jobs,
    load_policy, simulate, build_report.
"""

from accelsim.config import EnergyTable, Hardware, Mapping
from accelsim.engine.assemble import SimResult, simulate
from accelsim.errors import AccelsimError, ConfigError, DeadlockError, PolicyError
from accelsim.outputs.report import Report, build_report
from accelsim.pipeline import Outcome, run_scenario, write_outputs
from accelsim.policies import Plan, Policy, Problem, load_policy
from accelsim.scenario import Scenario, load_scenario
from accelsim.version import __version__
from accelsim.workload.jobs import Job, LayerJobs, build_jobs
from accelsim.workload.networks.topology import load_network
from accelsim.workload.sparsity.methods import prune_magnitude, prune_weights
from accelsim.workload.sparsity.pruning import (
    PrunedNetwork,
    SparsityProfile,
    load_profile,
    prune_with_profile,
)

__all__ = [
    "__version__",
    "AccelsimError",
    "ConfigError",
    "DeadlockError",
    "EnergyTable",
    "Hardware",
    "Job",
    "LayerJobs",
    "Mapping",
    "Outcome",
    "Plan",
    "Policy",
    "PolicyError",
    "Problem",
    "PrunedNetwork",
    "Report",
    "Scenario",
    "SimResult",
    "SparsityProfile",
    "build_jobs",
    "build_report",
    "load_network",
    "load_policy",
    "load_profile",
    "load_scenario",
    "prune_magnitude",
    "prune_weights",
    "prune_with_profile",
    "run_scenario",
    "simulate",
    "write_outputs",
]
