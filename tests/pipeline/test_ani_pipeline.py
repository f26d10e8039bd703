"""The ANI study's rules (rules/ani.smk): the paper-scale job graph of Table 1, Figs. 5 and
6 (dry run), and the embedded preset end to end on a tiny grid with stand-in data."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import yaml
from _pipeline import tiny_config
from _synthetic import perturbed
from test_experiments import REPO, job_stats, snakemake, stand_in

from gmnn.analysis.ani import FIG5, FIG6, TABLE1
from gmnn.data import Structures, read_h5, write_h5

ANI_FIGURES = ("figures/table1.md", "figures/fig5.pdf", "figures/fig6.pdf")


def expected_ani_jobs(ani: dict, md17_seeds: int) -> dict[str, int]:
    """One job per grid point of Table 1, Figs. 5 and 6."""
    seeds = len(ani["seeds"])
    sizes = {
        *ani["table1"]["sizes"],
        *ani["fig5"]["pretrain_sizes"],
        *ani["fig6"]["pretrain_sizes"],
    }
    n_cc = len(ani["ani1ccx"]["train_sizes"])
    fig5 = ani["fig5"]
    finetuned5 = [s for s in fig5["settings"] if s.startswith("finetune")]
    fig6 = ani["fig6"]
    n6 = len(fig6["molecules"])
    return {
        "split_ani": 2 * seeds,
        "pretrain_ani": len(sizes) * seeds,
        "evaluate_comp6": len(ani["table1"]["sizes"]) * seeds,
        "train_ani1ccx": ("scratch_E" in fig5["settings"]) * n_cc * seeds,
        "finetune_ani1ccx": len(finetuned5) * len(fig5["pretrain_sizes"]) * n_cc * seeds,
        "finetune_ani_md17": n6 * len(fig6["pretrain_sizes"]) * len(fig6["settings"]) * seeds,
        "evaluate_ani_md17": n6 * seeds,
        "aggregate_table1": 1,
        "table1": 1,
        "aggregate_fig5": 1,
        "fig5": 1,
        "aggregate_fig6": 1,
        "fig6": 1,
    }


def test_dry_run_paper_grid(tmp_path):
    """config.yaml: Table 1, Figs. 5 and 6 at paper scale, one job per grid point."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    start = time.perf_counter()
    configs = ("--configfile", str(REPO / "config.yaml"))
    proc = snakemake(tmp_path, "-n", "--quiet", "rules", *configs, "--", *ANI_FIGURES)
    seconds = time.perf_counter() - start
    counts = job_stats(proc.stdout)
    expected = expected_ani_jobs(config["ani"], len(config["md17"]["seeds"]))
    assert {rule: counts.get(rule, 0) for rule in expected} == expected
    # 7 pre-training sizes x 5 seeds; Fig. 5: 10 sizes x (scratch + 2 pre-training sizes)
    # x 5 seeds; Fig. 6: 7 sizes x 4 settings x 5 seeds on aspirin
    assert expected["pretrain_ani"] == 35 and expected["finetune_ani1ccx"] == 100
    assert expected["finetune_ani_md17"] == 140
    # the Fig. 6 black lines are the Fig. 2 from-scratch runs on aspirin at 950
    assert counts["train_cc"] == 2 * len(config["md17"]["seeds"])
    print(f"config.yaml: {counts['total']} jobs for Table 1, Figs. 5 and 6 ({seconds:.0f} s)")


STAND_IN_MOLECULES = ("CH3CH2OH", "H2O", "CH4", "CH3OH", "CH3CHO")


def stand_in_ani(work: Path, molecules=STAND_IN_MOLECULES) -> None:
    """EMT-labelled stand-ins of the embedded ANI-like data (H, C, O by default): the
    accurate set is a relabelled subset of the cheap one with the same ids, as the real
    one."""
    frames = []
    for k, name in enumerate(molecules):
        frames += perturbed(name, 12, seed=k)
    train = Structures.from_ase(frames, meta={"source": "stand-in:ani"})
    write_h5(train, work / "data/embedded/ani_xtb.h5")
    pick = np.arange(0, len(train), 2)
    accurate = train[pick].without_labels(forces=True)
    accurate = accurate.with_labels(energy=1.02 * accurate.energy - 3.0)
    write_h5(accurate, work / "data/embedded/ani_wb97x.h5")
    # named as two of the embedded held-out subsets (config.yaml embedded_ani.heldout)
    for k, (subset, name) in enumerate([("peptides", "CH2OCH2"), ("drugs", "CH3COOH")]):
        held = Structures.from_ase(perturbed(name, 6, seed=10 + k), meta={"source": subset})
        write_h5(held, work / f"data/embedded/comp6_{subset}.h5")


TINY_ANI = tiny_config(
    dft=(8, 4),
    cc_valid=4,
    structures=(20, 20),
    pretrain_size=None,
    md=None,
    ani={
        "comp6_subsets": ["peptides", "drugs"],
        "seeds": [0],
        "training": {"batch_size": 8, "steps": 4, "valid_batch_size": 16},
        "ani1x": {"n_valid": 4},
        "ani1ccx": {"train_sizes": [4, 8], "n_valid": 4},
        "table1": {"sizes": [16, 30]},
        "fig5": {"pretrain_sizes": [30]},
        "fig6": {
            "molecules": ["methanol"],
            "n_train": 8,
            "pretrain_sizes": [16, 30],
            "settings": ["finetune_E", "finetune_nd_EF"],
        },
    },
)


def merged_ani(paths) -> dict:
    """The `ani` section as Snakemake merges the config files (dicts key by key)."""

    def merge(a, b):
        out = dict(a)
        for key, value in b.items():
            both = isinstance(value, dict) and isinstance(out.get(key), dict)
            out[key] = merge(out[key], value) if both else value
        return out

    ani: dict = {}
    for path in paths:
        ani = merge(ani, yaml.safe_load(Path(path).read_text()).get("ani") or {})
    return ani


def test_embedded_ani_end_to_end(tmp_path):
    work = tmp_path
    (work / "data/embedded").mkdir(parents=True)
    write_h5(stand_in(20, seed=1), work / "data/embedded/methanol_dft.h5")
    write_h5(stand_in(20, 2, -0.3, 1.05), work / "data/embedded/methanol_cc.h5")
    stand_in_ani(work)
    (work / "tiny.yaml").write_text(yaml.safe_dump(TINY_ANI))
    configs = [
        str(REPO / "config.yaml"),
        str(REPO / "presets/embedded.yaml"),
        str(work / "tiny.yaml"),
    ]
    threads = [
        f"{r}=1" for r in ("pretrain_ani", "train_ani1ccx", "finetune_ani1ccx", "evaluate_comp6")
    ]
    args = ("--cores", "2", "--set-threads", *threads, "--configfile", *configs, "--")
    targets = (*ANI_FIGURES, "models/export/ani1x_pretrained", "models/export/ani1ccx_finetuned")
    proc = snakemake(work, *args, *targets, timeout=900)
    counts = job_stats(proc.stdout + proc.stderr)
    expected = expected_ani_jobs(merged_ani(configs), 1)
    assert {rule: counts.get(rule, 0) for rule in expected} == expected
    assert counts["export_ani"] == 2

    # Table 1: both sizes, each subset and the pooled row, energies and forces
    table = TABLE1.read(work / "results/ani/table1_comp6.csv")
    assert set(table["subset"]) == {"peptides", "drugs", "comp6"}
    assert set(table["n_train"]) == {16, 30} and set(table["quantity"]) == {"energy", "force"}
    assert np.isfinite(table["mean"]).all()
    text = (work / "figures/table1.md").read_text()
    assert "COMP6" in text or "comp6" in text
    # the ANI-1x split keeps the ANI-1ccx test geometries out of pre-training
    ani1x = json.loads((work / "data/splits/ani/ani1x_seed0.json").read_text())
    ani1ccx = json.loads((work / "data/splits/ani/ani1ccx_seed0.json").read_text())
    train_ids = read_h5(work / "data/embedded/ani_xtb.h5").ids
    ccx_ids = read_h5(work / "data/embedded/ani_wb97x.h5").ids
    seen = set(train_ids[np.concatenate([ani1x["train"], ani1x["valid"]])].tolist())
    assert not seen & set(ccx_ids[ani1ccx["test"]].tolist())

    fig5 = FIG5.read(work / "results/ani/fig5_learning_curves.csv")
    assert set(fig5["setting"]) == {"scratch_E", "finetune_E"}
    fig6 = FIG6.read(work / "results/ani/fig6_pretrain_size.csv")
    assert set(fig6["role"]) == {"finetuned", "scratch", "pretrained"}
    assert {"finetune_E", "finetune_nd_EF"} <= set(fig6["setting"])
    # Fig. 6's fine-tuned models keep the ANI cutoff (5.0 A), not MD17's 4.0
    model = json.loads(
        (work / "models/ani/md17/methanol/pre30/finetune_E/n8/seed0/model/model.json").read_text()
    )
    assert model["config"]["cutoff"] == 5.0
    for figure in ("fig5", "fig6"):
        assert (work / f"figures/{figure}.png").stat().st_size > 1000
    card = json.loads((work / "models/export/ani1x_pretrained/card.json").read_text())
    assert card["seeds"] == [0] and card["n_train"] == 30
