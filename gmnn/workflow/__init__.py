"""The pipeline's side of gmnn: what the rules build once from ``config`` and call.

- :mod:`gmnn.workflow.boundary`: the preamble of every job script (:func:`job`: log,
  threads, errors);
- :mod:`gmnn.workflow.grid`: what every study names (settings, model references, the typed
  config sections, the MD17 grid, the data files' sizes);
- :mod:`gmnn.workflow.design`: :class:`Design`, the experimental design built once from a
  config and its cross-checks, with :mod:`gmnn.workflow.md17` (MD, bond scans, spectra
  figures), :mod:`gmnn.workflow.ani` (the ANI study and its exported models) and
  :mod:`gmnn.workflow.ala10` (the ensembles);
- :mod:`gmnn.workflow.jobs`: one function per kind of job;
- :mod:`gmnn.workflow.resources`: what a job costs (the cost model and job estimates).

The library never reaches back into the workflow: everything here takes what it needs
as arguments.
"""

from gmnn.workflow.boundary import checked, finish, job
from gmnn.workflow.design import Design
from gmnn.workflow.grid import ConfigError, ModelRef, Setting, md_steps, typed_settings
from gmnn.workflow.jobs import (
    ala10_analysis_job,
    ala10_structure_job,
    check_architecture,
    collect_job,
    ensemble_md_stage_job,
    evaluate_job,
    md_job,
    model_record,
    solvate_job,
    train_job,
)

__all__ = [
    "ConfigError",
    "Design",
    "ModelRef",
    "Setting",
    "ala10_analysis_job",
    "ala10_structure_job",
    "check_architecture",
    "checked",
    "finish",
    "collect_job",
    "ensemble_md_stage_job",
    "evaluate_job",
    "job",
    "md_job",
    "md_steps",
    "model_record",
    "solvate_job",
    "train_job",
    "typed_settings",
]
