"""Training loop: Adam with per-group learning rates, linear decay, early stopping,
checkpoint/resume and a metrics log (one row per validation: per epoch, or every
``valid_every`` steps when the length is given in steps, :class:`TrainConfig`).

Reproducibility: the weights come from the model seed, the order of training
structures in epoch e from ``default_rng([seed, e])`` (stateless), and the
checkpoint stores weights, Adam moments, the step counter, the best weights and
the metrics history.  A run killed at any step (also inside an epoch, e.g. by the
SIGTERM of a SLURM time limit) and resumed from its checkpoint therefore ends with the
same weights as an uninterrupted run.

Scale: the trainer keeps only index arrays per structure (the batch order is a
permutation of ``arange(n)``, computed once per epoch); model inputs come from
:meth:`gmnn.model.batch.GraphData.batch` batch by batch, and GraphData decides whether
neighbour lists are cached or built per batch (large sets such as ANI-1x: per batch).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from gmnn.data.structures import forces_missing, labels_source
from gmnn.fingerprints import arrays_fingerprint
from gmnn.io import atomic_save_npz, atomic_write_text
from gmnn.model.batch import GraphData
from gmnn.model.potential import input_spec
from gmnn.runs import (
    CheckpointDamaged,
    StopSignals,
    claim_checkpoint,
    identity_array,
    read_checkpoint,
)
from gmnn.train.config import TrainConfig
from gmnn.units import KCAL_MOL

METRIC_COLUMNS = [
    "epoch",
    "step",
    "lr_factor",
    "train_loss",
    "valid_loss",
    "valid_energy_mae",
    "valid_energy_rmse",
    "valid_force_mae",
    "valid_force_rmse",
    "best",
    "seconds",
]


class TrainingInterrupted(RuntimeError):
    """Raised after a checkpoint was written because the run received a signal."""


def resolve_learning_rates(model, learning_rates: dict) -> dict[str, float]:
    """Initial learning rate of every variable group of ``model``."""
    groups = model.variable_groups()
    dense = [g for g in groups if g.startswith("dense_")]
    unknown = sorted(set(learning_rates) - set(groups) - {"nn"})
    if unknown:
        raise ValueError(f"unknown learning-rate group(s) {unknown}; known: nn, {sorted(groups)}")
    out = {}
    for g in groups:
        if g in learning_rates:
            out[g] = float(learning_rates[g])
        elif g in dense and "nn" in learning_rates:
            out[g] = float(learning_rates["nn"])
        else:
            raise ValueError(f"no learning rate for group {g!r}")
    return out


class GroupAdam:
    """Adam (Kingma & Ba) with one learning rate per variable and a global decay factor.

    Matches the Keras update: lr_t = lr · sqrt(1 - β2^t) / (1 - β1^t),
    θ ← θ - lr_t · m / (sqrt(v) + ε).  ε is absolute, so the update depends on the
    unit of the loss unless the gradients are far above it (``TrainConfig.loss_units``).
    """

    def __init__(self, variables, rates, beta1=0.9, beta2=0.999, epsilon=1e-7):
        self.variables = list(variables)
        self.rates = [float(r) for r in rates]
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        self.m = [tf.Variable(tf.zeros_like(v), trainable=False) for v in self.variables]
        self.v = [tf.Variable(tf.zeros_like(v), trainable=False) for v in self.variables]
        self.t = tf.Variable(0, dtype=tf.int64, trainable=False)

    def apply(self, grads, factor):
        t = tf.cast(self.t.assign_add(1), tf.float64)
        corr = tf.sqrt(1.0 - self.beta2**t) / (1.0 - self.beta1**t)
        for var, g, m, v, rate in zip(
            self.variables, grads, self.m, self.v, self.rates, strict=True
        ):
            g = tf.convert_to_tensor(g)
            m.assign(self.beta1 * m + (1.0 - self.beta1) * g)
            v.assign(self.beta2 * v + (1.0 - self.beta2) * tf.square(g))
            step = tf.cast(rate * factor * corr, var.dtype)
            var.assign_sub(step * m / (tf.sqrt(v) + self.epsilon))

    def state(self) -> dict[str, np.ndarray]:
        out = {"adam/t": np.array(self.t.numpy())}
        for k, (m, v) in enumerate(zip(self.m, self.v, strict=True)):
            out[f"adam/m{k}"] = m.numpy()
            out[f"adam/v{k}"] = v.numpy()
        return out

    def load_state(self, data) -> None:
        self.t.assign(int(data["adam/t"]))
        for k, (m, v) in enumerate(zip(self.m, self.v, strict=True)):
            m.assign(data[f"adam/m{k}"])
            v.assign(data[f"adam/v{k}"])


def check_sets(train, valid) -> None:
    """Raise a ValueError naming the data set unless ``train`` and ``valid`` both hold
    at least one structure (``n_train=0`` would give a NaN energy scale, ``n_valid=0``
    no model selection)."""
    for name, what, structures in (
        ("n_train", "training", train),
        ("n_valid", "validation", valid),
    ):
        if structures is None or len(structures) == 0:
            source = (getattr(structures, "meta", None) or {}).get("source")
            origin = f" (from {source})" if source else ""
            raise ValueError(
                f"the {what} set is empty ({name}=0){origin}: give at least one {what} structure"
            )


class Trainer:
    """Train ``model`` on ``train`` with validation on ``valid`` (both Structures)."""

    def __init__(self, model, train, valid, config: TrainConfig, out_dir):
        check_sets(train, valid)
        if train.energy is None:
            raise ValueError(f"{labels_source(train)}: training structures have no energy labels")
        if valid.energy is None:
            raise ValueError(f"{labels_source(valid)}: validation structures have no energy labels")
        if config.loss == "EF" and train.forces is None:
            raise ValueError(
                f"{labels_source(train)}: loss 'EF' needs force labels, but the "
                f"training structures have none{forces_missing(train)}"
            )
        self.model, self.config = model, config
        self.out_dir = Path(out_dir)
        self.train_data = GraphData(train, model.cutoff, model.species)
        self.valid_data = GraphData(valid, model.cutoff, model.species)
        sizes = np.concatenate([train.n_atoms, valid.n_atoms])
        self.mixed_sizes = bool(sizes.min() != sizes.max())
        self.lam_e, self.lam_f = config.loss_weights(self.mixed_sizes)
        # eV per unit of the loss's residuals (config.loss_units); c is fixed in training
        self.loss_unit = config.loss_unit(float(model.energy_scale.numpy()))
        self.use_forces = self.lam_f > 0
        self.valid_forces = self.use_forces and valid.forces is not None
        rates = resolve_learning_rates(model, config.learning_rates)
        self.group_rates = rates
        groups = model.variable_groups()
        self.trainable, var_rates = [], []
        for g, vs in groups.items():
            if rates[g] > 0:
                self.trainable += vs
                var_rates += [rates[g]] * len(vs)
        if not self.trainable:
            raise ValueError("every learning rate is zero: nothing to train")
        self.optimizer = GroupAdam(
            self.trainable, var_rates, config.beta1, config.beta2, config.epsilon
        )
        n = len(train)
        self.steps_per_epoch = int(np.ceil(n / config.batch_size))
        self.max_steps = config.total_steps(self.steps_per_epoch)
        # steps between validations (one epoch unless training by steps)
        self.valid_interval = config.validation_interval(self.steps_per_epoch)
        self.checkpoint_interval = config.checkpoint_interval(self.steps_per_epoch)
        self._order = (None, None)  # (epoch, permutation) of the current epoch
        self.identity = {
            "training": config.identity(),
            "model": {
                "config": dict(model.config),
                "initial_weights": arrays_fingerprint(model.get_weights()),
            },
            "data": {"train": train.fingerprint(), "valid": valid.fingerprint()},
        }
        self._build_functions()

    # ------------------------------------------------------------------ compiled steps
    def _loss_terms(self, batch):
        """Predictions, energy residuals ``de`` (eV) and the per-structure squared energy
        and force residuals, measured in :attr:`loss_unit` (and per Å) before squaring."""
        model = self.model
        if self.use_forces or self.valid_forces:
            energy, forces, _ = model.energy_and_forces(batch)
        else:
            energy, forces = model.energy(batch), None
        n_at = tf.cast(batch["n_atoms"], tf.float64)
        inv_unit = tf.constant(1.0 / self.loss_unit, tf.float64)
        de = energy - batch["energy"]
        e_sq = tf.square(de * inv_unit)
        e_term = e_sq / n_at if self.mixed_sizes else e_sq
        f_sq = None
        if forces is not None:
            df = tf.cast(forces - batch["forces"], tf.float64) * inv_unit
            f_sq = tf.math.unsorted_segment_sum(
                tf.reduce_sum(tf.square(df), axis=1), batch["segment"], batch["n_structures"]
            )
        return energy, forces, de, e_term, f_sq

    def _build_functions(self):
        dtype = self.model.dtype
        spec = input_spec(dtype)
        spec["n_atoms"] = tf.TensorSpec((None,), tf.int32)
        spec["energy"] = tf.TensorSpec((None,), tf.float64)
        if self.use_forces or self.valid_forces:
            spec["forces"] = tf.TensorSpec((None, 3), dtype)
        lam_e, lam_f = self.lam_e, self.lam_f
        trainable, optimizer = self.trainable, self.optimizer

        def train_step(batch, factor):
            with tf.GradientTape(watch_accessed_variables=False) as tape:
                tape.watch(trainable)
                _, _, _, e_term, f_sq = self._loss_terms(batch)
                per_structure = lam_e * e_term
                if lam_f > 0:
                    per_structure += lam_f * f_sq
                loss = tf.reduce_mean(per_structure)
            grads = tape.gradient(loss, trainable)
            optimizer.apply(grads, factor)
            return loss

        def eval_step(batch):
            _, forces, de, e_term, f_sq = self._loss_terms(batch)
            per_structure = lam_e * e_term
            out = {"abs_e": tf.abs(de), "sq_e": tf.square(de)}
            if f_sq is not None:
                if lam_f > 0:
                    per_structure += lam_f * f_sq
                df = tf.cast(forces - batch["forces"], tf.float64)
                out["abs_f"] = tf.reduce_sum(tf.abs(df))
                out["sq_f"] = tf.reduce_sum(tf.square(df))
            out["loss"] = per_structure
            return out

        # autograph off: the steps have no tensor-dependent Python control flow, and its
        # source conversion costs start-up time in every training job
        self._train_step = tf.function(
            train_step, input_signature=[spec, tf.TensorSpec((), tf.float64)], autograph=False
        )
        self._eval_step = tf.function(eval_step, input_signature=[spec], autograph=False)
        self._spec_keys = list(spec)

    def _feed(self, batch: dict) -> dict:
        return {k: batch[k] for k in self._spec_keys}

    def step_inputs(self, batch: dict) -> dict:
        """The inputs of the compiled steps (:meth:`train_step`, :meth:`eval_step`) from a
        batch of :meth:`gmnn.model.batch.GraphData.batch`, as tensors (converted once,
        e.g. to time the steps alone)."""
        return {k: tf.constant(v) for k, v in self._feed(batch).items()}

    def train_step(self, batch: dict, lr_factor) -> float:
        """One compiled optimisation step on ``batch`` (a batch of
        :meth:`gmnn.model.batch.GraphData.batch` or its :meth:`step_inputs`) with the
        learning rates times ``lr_factor``; returns the batch's training loss."""
        return float(self._train_step(self._feed(batch), tf.constant(lr_factor, tf.float64)))

    def eval_step(self, batch: dict) -> dict[str, np.ndarray]:
        """The compiled validation step on ``batch`` (as for :meth:`train_step`): the
        per-structure loss and energy errors (eV) and, with force labels, the sums of the
        absolute and squared force errors (eV/Å), by name (summed by :meth:`validate`)."""
        return {k: v.numpy() for k, v in self._eval_step(self._feed(batch)).items()}

    def epoch_order(self, epoch: int) -> np.ndarray:
        """The order of the training structures in ``epoch`` (0-based): a permutation of
        their indices from ``default_rng([seed, epoch])``, kept for the current epoch."""
        if self._order[0] != epoch:
            n = len(self.train_data)
            self._order = (epoch, np.random.default_rng([self.config.seed, epoch]).permutation(n))
        return self._order[1]

    def batch_indices(self, step: int) -> np.ndarray:
        """Indices of the training structures of optimiser step ``step`` (0-based)."""
        epoch, k = divmod(int(step), self.steps_per_epoch)
        bs = self.config.batch_size
        return self.epoch_order(epoch)[k * bs : (k + 1) * bs]

    # ------------------------------------------------------------------ evaluation
    def validate(self) -> dict:
        data = self.valid_data
        n = len(data)
        tot = {"loss": 0.0, "abs_e": 0.0, "sq_e": 0.0, "abs_f": 0.0, "sq_f": 0.0}
        n_comp = 0
        for start in range(0, n, self.config.valid_batch_size):
            idx = np.arange(start, min(n, start + self.config.valid_batch_size))
            batch = data.batch(idx, self.model.dtype.as_numpy_dtype)
            for k, v in self.eval_step(batch).items():
                tot[k] += float(np.sum(v))
            n_comp += 3 * int(batch["n_atoms"].sum())
        res = {
            "valid_loss": tot["loss"] / n,
            "valid_energy_mae": tot["abs_e"] / n / KCAL_MOL,
            "valid_energy_rmse": np.sqrt(tot["sq_e"] / n) / KCAL_MOL,
            "valid_force_mae": np.nan,
            "valid_force_rmse": np.nan,
        }
        if self.valid_forces:
            res["valid_force_mae"] = tot["abs_f"] / n_comp / KCAL_MOL
            res["valid_force_rmse"] = np.sqrt(tot["sq_f"] / n_comp) / KCAL_MOL
        return res

    # ------------------------------------------------------------------ checkpoints
    @property
    def checkpoint_path(self) -> Path:
        return self.out_dir / "checkpoint.npz"

    def _save_checkpoint(self, state: dict) -> None:
        arrays = {f"model/{k}": v for k, v in self.model.get_weights().items()}
        arrays.update(self.optimizer.state())
        if state.get("best_weights") is not None:
            arrays.update({f"best/{k}": v for k, v in state["best_weights"].items()})
        meta = {k: v for k, v in state.items() if k != "best_weights"}
        arrays["state"] = np.array(json.dumps(meta))
        arrays["identity"] = identity_array(self.identity)
        atomic_save_npz(self.checkpoint_path, arrays)

    def _load_checkpoint(self) -> dict:
        """The training state of the checkpoint (weights and Adam moments restored); a
        checkpoint that cannot be read or lacks what this run needs is a
        :class:`gmnn.runs.CheckpointDamaged` naming the file and what to delete."""
        path = self.checkpoint_path
        data = read_checkpoint(path)
        try:
            try:
                state = json.loads(str(data["state"]))
            except json.JSONDecodeError as err:
                raise ValueError(f"member 'state' is not valid JSON ({err})") from err
            if not isinstance(state, dict):
                raise ValueError("member 'state' is not a JSON object")
            needed = {"step", "epoch_loss_sum", "best_valid", "best_epoch", "bad_epochs"}
            missing = sorted((needed | {"history", "finished"}) - set(state))
            if missing:
                raise KeyError(f"'state' lacks {missing}")
            weights = {k[6:]: data[k] for k in data if k.startswith("model/")}
            best = {k[5:]: data[k] for k in data if k.startswith("best/")}
            self.model.set_weights(weights)
            if best:
                self.model.set_weights(best)  # (checks them; set back below)
                self.model.set_weights(weights)
            self.optimizer.load_state(data)
        except (KeyError, ValueError, TypeError) as err:
            problem = err.args[0] if isinstance(err, KeyError) and err.args else err
            if isinstance(err, KeyError) and " " not in str(problem):
                problem = f"no member {problem!r}"
            raise CheckpointDamaged(path, str(problem)) from err
        state["best_weights"] = best or None
        # (checkpoints by epochs written before these existed; there they are unused)
        state.setdefault("loss_count", 0)
        state.setdefault("best_step", None)
        return state

    def _write_metrics(self, history: list[dict]) -> None:
        lines = [",".join(METRIC_COLUMNS)]
        for row in history:
            lines.append(",".join(_fmt(row[c]) for c in METRIC_COLUMNS))
        atomic_write_text(self.out_dir / "metrics.csv", "\n".join(lines) + "\n")

    # ------------------------------------------------------------------ main loop
    def fit(
        self,
        resume: bool = True,
        stop_after_steps: int | None = None,
        on_mismatch: str = "error",
    ):
        """Train; returns the history (list of dicts, one per validation: per epoch, or
        every :attr:`valid_interval` steps and after the last when training by steps).

        A checkpoint in ``out_dir`` is resumed only if it was written by this very run
        (same settings, data and initial weights: :attr:`identity`); one of another run
        raises :class:`gmnn.runs.CheckpointMismatch` saying what differs, or, with
        ``on_mismatch="restart"``, is deleted. ``resume=False`` always starts over.
        ``stop_after_steps`` simulates a kill after that many optimisation steps
        in this call (checkpoint written, :class:`TrainingInterrupted` raised).
        """
        cfg = self.config
        self.out_dir.mkdir(parents=True, exist_ok=True)
        state = {
            "step": 0,
            "epoch_loss_sum": 0.0,
            "loss_count": 0,
            "best_valid": None,
            "best_epoch": -1,
            "best_step": None,
            "best_weights": None,
            "bad_epochs": 0,
            "history": [],
            "finished": False,
        }
        metrics_log = self.out_dir / "metrics.csv"
        if not resume:
            self.checkpoint_path.unlink(missing_ok=True)
            metrics_log.unlink(missing_ok=True)
        if claim_checkpoint(
            self.checkpoint_path, self.identity, on_mismatch, companions=[metrics_log]
        ):
            state = self._load_checkpoint()
            print(
                f"{self.checkpoint_path}: "
                + (
                    "this run finished already; its best weights are taken"
                    if state["finished"]
                    else f"resuming the training at step {state['step']} of {self.max_steps} "
                    f"(epoch {state['step'] // self.steps_per_epoch})"
                ),
                file=sys.stderr,
            )
        if state["finished"]:
            self.model.set_weights(state["best_weights"])
            return state["history"]
        dtype = self.model.dtype.as_numpy_dtype
        by_steps = cfg.by_steps
        steps_this_call = 0
        t_epoch = time.time()
        bar = None
        if cfg.progress:
            from tqdm.auto import tqdm

            bar = tqdm(
                total=self.max_steps if by_steps else cfg.epochs,
                initial=state["step"] if by_steps else state["step"] // self.steps_per_epoch,
                desc="steps" if by_steps else "epochs",
                file=sys.stderr,
                dynamic_ncols=True,
            )
        try:
            with StopSignals() as guard:
                while state["step"] < self.max_steps:
                    epoch = state["step"] // self.steps_per_epoch
                    idx = self.batch_indices(state["step"])
                    factor = 1.0 - state["step"] / self.max_steps
                    loss = self.train_step(self.train_data.batch(idx, dtype), factor)
                    if not np.isfinite(loss):
                        raise FloatingPointError(
                            f"training loss became {loss} at epoch {epoch}, step {state['step']}"
                        )
                    state["epoch_loss_sum"] += loss * len(idx)
                    state["loss_count"] += len(idx)
                    state["step"] += 1
                    steps_this_call += 1
                    if bar is not None and by_steps:
                        bar.update(1)
                    step = state["step"]
                    stop = False
                    if step % self.valid_interval == 0 or (by_steps and step == self.max_steps):
                        stop = self._end_epoch(state, epoch, factor, time.time() - t_epoch)
                        t_epoch = time.time()
                        if bar is not None:
                            if not by_steps:
                                bar.update(1)
                            h = state["history"][-1]
                            bar.set_postfix(
                                loss=f"{h['train_loss']:.3g}",
                                E=f"{h['valid_energy_rmse']:.3g}",
                                F=f"{h['valid_force_rmse']:.3g}",
                            )
                        if not by_steps and (epoch + 1) % self.checkpoint_interval == 0:
                            self._save_checkpoint(state)
                    if by_steps and step % self.checkpoint_interval == 0:
                        self._save_checkpoint(state)
                    if stop:
                        break
                    if guard.received is not None or (
                        stop_after_steps is not None and steps_this_call >= stop_after_steps
                    ):
                        self._save_checkpoint(state)
                        why = f"signal {guard.received}" if guard.received else "requested stop"
                        raise TrainingInterrupted(
                            f"training stopped ({why}) at step {state['step']}; checkpoint "
                            f"written to {self.checkpoint_path}, rerun to resume"
                        )
        finally:
            if bar is not None:
                bar.close()
        if state["best_weights"] is not None:
            self.model.set_weights(state["best_weights"])
        state["finished"] = True
        self._save_checkpoint(state)
        return state["history"]

    def _end_epoch(self, state, epoch, factor, seconds) -> bool:
        """Validate after the step ``state["step"]`` (in ``epoch``, 0-based), log a row
        and keep the best weights; True if early stopping says stop.

        Rows by epochs give the epoch (1-based) and the mean training loss of the epoch;
        by steps the passes over the data so far (``step / steps_per_epoch``) and the
        mean training loss since the previous validation."""
        cfg = self.config
        metrics = self.validate()
        if cfg.by_steps:
            label = state["step"] / self.steps_per_epoch
            train_loss = state["epoch_loss_sum"] / max(state["loss_count"], 1)
        else:
            label = epoch + 1
            train_loss = state["epoch_loss_sum"] / len(self.train_data)
        row = {
            "epoch": label,
            "step": state["step"],
            "lr_factor": factor,
            "train_loss": train_loss,
            **metrics,
            "best": False,
            "seconds": seconds,
        }
        state["epoch_loss_sum"] = 0.0
        state["loss_count"] = 0
        val = metrics["valid_loss"]
        best = state["best_valid"]
        if best is None or val < best - cfg.min_delta:
            state["best_valid"], state["best_epoch"] = val, label
            state["best_step"] = state["step"]
            state["best_weights"] = self.model.get_weights()
            state["bad_epochs"] = 0
            row["best"] = True
        else:
            state["bad_epochs"] += 1
        state["history"].append(row)
        self._write_metrics(state["history"])
        return cfg.patience is not None and state["bad_epochs"] >= cfg.patience


def _fmt(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "1" if value else "0"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return f"{float(value):.8g}"


__all__ = ["Trainer", "TrainingInterrupted", "GroupAdam", "check_sets", "resolve_learning_rates"]
