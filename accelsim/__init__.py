"""accelsim: a discrete-event simulator of accelerators running weight-pruned CNNs.

The public API, in the order a script uses it:
    load_scenario(path) -> Scenario;  run_scenario(scenario) -> Outcome (.report, .result)
    or, piece by piece: load_network, prune_with_profile / prune_magnitude, build_jobs,
    load_policy, simulate, build_report.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("accelsim")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+source"

from accelsim.assemble import SimResult, simulate  # noqa: E402
from accelsim.config import EnergyTable, Hardware, Mapping
from accelsim.errors import AccelsimError, ConfigError, DeadlockError, PolicyError
from accelsim.pipeline import Outcome, run_scenario, write_outputs
from accelsim.policies import Plan, Policy, Problem, load_policy
from accelsim.report import Report, build_report
from accelsim.scenario import Scenario, load_scenario
from accelsim.workload.jobs import Job, LayerJobs, build_jobs
from accelsim.workload.methods import prune_magnitude, prune_weights
from accelsim.workload.pruning import (PrunedNetwork, SparsityProfile, load_profile,
                                       prune_with_profile)
from accelsim.workload.topology import load_network

__all__ = ["AccelsimError", "ConfigError", "DeadlockError", "EnergyTable", "Hardware", "Job",
           "LayerJobs", "Mapping", "Outcome", "Plan", "Policy", "PolicyError", "Problem",
           "PrunedNetwork", "Report", "Scenario", "SimResult", "SparsityProfile", "build_jobs",
           "build_report", "load_network", "load_policy", "load_profile", "load_scenario",
           "prune_magnitude", "prune_weights", "prune_with_profile", "run_scenario", "simulate",
           "write_outputs"]
