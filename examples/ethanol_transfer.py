"""Pre-train on rMD17 ethanol (DFT), then train from scratch and fine-tune on CCSD(T).

A small, self-contained version of the paper's Fig. 2 experiment for one molecule,
using the library directly (no pipeline).  Needs the rMD17 split files and an sGDML
coupled-cluster file; by default it takes them from ``../shared/data``.

    python examples/ethanol_transfer.py --epochs 300 --out runs/ethanol

Writes ``<out>/results.json`` with the test errors (kcal/mol, kcal/mol/Å) of the
pre-trained model on its own test set and on the coupled-cluster test set, and of
every (setting, size) model on the coupled-cluster test set.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from gmnn.analysis import error_metrics
from gmnn.data import make_split, read
from gmnn.io import atomic_write_json, load_model
from gmnn.train import TrainConfig, fit
from gmnn.transfer import finetune

HERE = Path(__file__).resolve().parents[1]
SHARED = HERE.parent / "shared" / "data"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    p.add_argument("--dft-train", default=SHARED / "rmd17" / "rmd17_ethanol_train_01.npz")
    p.add_argument("--dft-test", default=SHARED / "rmd17" / "rmd17_ethanol_test_01.npz")
    p.add_argument("--cc", default=SHARED / "md17_ccsd" / "ethanol_ccsd_t-train-subset700.npz")
    p.add_argument("--sizes", type=int, nargs="+", default=[64, 512])
    p.add_argument("--n-valid", type=int, default=50)
    p.add_argument("--epochs", type=int, default=1000)
    p.add_argument("--pretrain-epochs", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--settings", nargs="+", default=["scratch_E", "scratch_EF", "finetune_E", "finetune_EF"]
    )
    p.add_argument("--out", default="runs/ethanol_transfer")
    args = p.parse_args()
    out = Path(args.out)
    results = {"args": {k: str(v) for k, v in vars(args).items()}, "models": {}}
    t0 = time.time()

    dft, dft_test = read(args.dft_train), read(args.dft_test)
    split = make_split(len(dft), 950, 50, n_test=0, seed=args.seed)
    pre_dir = out / "pretrain"
    cfg = TrainConfig(epochs=args.pretrain_epochs or args.epochs, seed=args.seed, progress=False)
    t = time.time()
    fit(dft[split.train], dft[split.valid], pre_dir, cfg)
    pre = load_model(pre_dir / "model")
    cc = read(args.cc)
    cc_split = make_split(len(cc), max(args.sizes), args.n_valid, seed=args.seed)
    cc_test = cc[cc_split.test]
    results["pretrain"] = {
        "wall_seconds": time.time() - t,
        "dft_test": error_metrics(pre, dft_test),
        "cc_test": error_metrics(pre, cc_test),
    }
    print(json.dumps(results["pretrain"], indent=1), flush=True)
    for n in args.sizes:
        for setting in args.settings:
            kind, loss = setting.split("_")
            train, valid = cc[cc_split.train[:n]], cc[cc_split.valid]
            if loss == "E":
                train, valid = train.without_labels(forces=True), valid.without_labels(forces=True)
            cfg = TrainConfig(epochs=args.epochs, loss=loss, seed=args.seed, progress=False)
            run = out / setting / f"n{n}"
            t = time.time()
            if kind == "scratch":
                model = fit(train, valid, run, cfg)
            else:
                model = finetune(pre_dir / "model", train, valid, run, cfg)
            res = error_metrics(model, cc_test)
            res["wall_seconds"] = time.time() - t
            results["models"][f"{setting}/n{n}"] = res
            print(setting, n, json.dumps(res), flush=True)
            atomic_write_json(out / "results.json", results)
    results["wall_seconds"] = time.time() - t0
    atomic_write_json(out / "results.json", results)


if __name__ == "__main__":
    main()
