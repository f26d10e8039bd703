# Molecular dynamics and bond analysis of Sec. 3.1 and the SI (Figs. 4, S1-S5): Langevin
# NVT with the Fig. 2 models of seed md.seed, vibrational power spectra, bond-length
# histograms of the coupled-cluster data and rigid bond scans with harmonic wavenumbers.
#
#   trajectories/md17/<molecule>/<setting>/n<N>/seed<S>/T<T>K/md.traj      (ASE, large)
#   results/md17/md/<molecule>/<setting>/n<N>/seed<S>/T<T>K/summary.json   (one run)
#   results/md17/md/<molecule>/<setting>/n<N>/seed<S>/T<T>K/{spectrum,peaks}.csv
#   results/md17/{md_runs,spectra,spectra_peaks}.csv                        (tidy)
#   results/md17/{bond_histograms,bond_scans,harmonic_frequencies}.csv     (tidy)
#
# A run writes its trajectory to md.partial.traj and checkpoints to md.ckpt.npz beside it
# (both undeclared, so that Snakemake keeps them when it reruns a killed job with
# --rerun-incomplete); the finished trajectory is renamed to md.traj. A run that diverges
# is not a failed job: it ends early and its summary records when and why.
#
# Which models run (md.models) and which the bond scans compare (bond_scan.models) is
# data in the config; paths and the parsed design come from rules/common.smk.


rule md:
    """Langevin NVT run of one model at one temperature (checkpointed, resumable)."""
    input:
        model=md_model,
        data=md17_data("{molecule}", "cc"),
    output:
        trajectory=MD_TRAJECTORY,
        summary=MD_SUMMARY,
    log:
        f"logs/md/{MD_RUN}.log",
    benchmark:
        f"benchmarks/rules/md/{MD_RUN}.tsv"
    wildcard_constraints:
        setting=alternatives(Setting.names()),
        n=r"\d+",
        temp=r"\d+",
    priority: 5  # long single jobs: start them before the short ones
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        # from the cost model (rules/common.smk); --set-resources overrides them
        mem_mb=job_mem_mb,
        runtime=job_runtime,
    params:
        md=md_params,
        # the model must match the configured architecture (an error names both values)
        model=config.get("model", {}),
        record=lambda wc: {
            "molecule": wc.molecule,
            "setting": wc.setting,
            "n_train": int(wc.n),
            "seed": int(wc.seed),
            "temperature_K": int(wc.temp),
            "equilibration_ps": MD["equilibration_ps"],
            "production_ps": MD["production_ps"],
        },
    script:
        "../workflow_scripts/md_run.py"


rule power_spectrum:
    """Power spectrum (Fourier transform of the VACF) of one run's production part, and
    the fitted C-H and O-H stretch peaks."""
    input:
        trajectory=MD_TRAJECTORY,
        summary=MD_SUMMARY,
    output:
        spectrum=MD_SPECTRUM,
        peaks=MD_PEAKS,
    log:
        f"logs/power_spectrum/{MD_RUN}.log",
    benchmark:
        f"benchmarks/rules/power_spectrum/{MD_RUN}.tsv"
    wildcard_constraints:
        setting=alternatives(Setting.names()),
        n=r"\d+",
        temp=r"\d+",
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        spectra=SPECTRA,
    script:
        "../workflow_scripts/power_spectrum.py"


rule collect_md:
    """The tidy MD tables: one row per run, the spectra on a common grid, the peaks."""
    input:
        summaries=checked(md_paths(MD_SUMMARY) if MD else []),
        spectra=checked(md_paths(MD_SPECTRUM) if MD else []),
        peaks=checked(md_paths(MD_PEAKS) if MD else []),
    output:
        **TABLES_MD,
    log:
        "logs/collect_md.log",
    benchmark:
        "benchmarks/rules/collect_md.tsv"
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../workflow_scripts/collect_md.py"


rule bond_analysis:
    """Figs. S1/S2 tables: bond-length histograms of the coupled-cluster data, rigid scans
    of one O-H and one C-H bond with the bond_scan.models, harmonic wavenumbers."""
    input:
        data=lambda wc: md17_data(MD["molecule"], "cc"),
        models=lambda wc: [
            f
            for m in BOND_MODELS
            for f in model_files(model_dir(MD["molecule"], m, MD["seed"]))
        ],
    output:
        **TABLES_BONDS,
    log:
        "logs/bond_analysis.log",
    benchmark:
        "benchmarks/rules/bond_analysis.tsv"
    conda:
        "../envs/gmnn.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        molecule=MD["molecule"] if MD else None,
        # each model with its name: the script pairs nothing by position
        models=[
            {
                "setting": m.setting,
                "n_train": (
                    m.n_train if m.n_train is not None else MD17["dft"]["n_train"]
                ),
                "model": model_dir(MD["molecule"], m, MD["seed"]),
            }
            for m in BOND_MODELS
        ],
        bond_scan=BOND_SCAN,
    script:
        "../workflow_scripts/bond_analysis.py"


if MD:

    ALL_TARGETS += list(TABLES_MD.values()) + list(TABLES_BONDS.values())
