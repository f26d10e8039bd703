"""The embedded ANI-like data set: the paper's Sec. 3.2 at laptop scale, generated offline.

The ANI half of the paper pre-trains on many structures of many molecules at a cheap
level with energies and forces (ANI-1x, ωB97X/6-31G(d)), fine-tunes on a more accurate
level with energies only on a subset of the same geometries (ANI-1ccx, CCSD(T)*/CBS), and
tests on held-out systems at the cheap level (COMP6). The embedded default mirrors that:

=============== ============================ ============================================
role            embedded level               structures
=============== ============================ ============================================
ANI-1x          GFN2-xTB (tblite), E and F   Langevin MD frames of the ``train`` systems
ANI-1ccx        ωB97X/6-31G* (PySCF), E only  evenly spaced frames of the small train
                                             systems (at most ``max_atoms`` atoms) and
                                             of ``extra_systems`` (peptides, water)
COMP6           GFN2-xTB, E and F            MD frames of held-out systems, by subset
=============== ============================ ============================================

The accurate level is the paper's pre-training level, ωB97X/6-31G* with Cartesian d
functions as in ANI-1x, with density fitting; energies cost 2.5 s (methanol) to 51 s (a
22-atom capped dipeptide) on two threads, which is why only the small systems get them,
and a few larger ones named in ``accurate.extra_systems`` (the peptide backbone and
water environments of the deca-alanine MD). docs/embedded_data.md lists what the data
hold and what generating them costs.

Generation (rules/embedded_ani.smk) runs one job per system (:func:`sample_system`) and
one per system's accurate labels (:func:`label_accurate`); :func:`merge` writes the final
data sets. Structure ``ids`` run over the ANI-1x-role file (systems in config order,
frames in time order); the accurate subset keeps the ids of its geometries, so, as for
the real ANI-1ccx, its structures can be found in the ANI-1x-role file by id.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import ase
import numpy as np

from gmnn.data.structures import Structures
from gmnn.refdata import qc, systems

ROLES = ("train", "heldout")


def system_seed(name: str, seed: int) -> int:
    """A per-system seed that does not change when systems are added or removed."""
    return (int(seed) * 1_000_003 + zlib.crc32(name.encode())) % 2**32


def catalogue(config: Mapping) -> dict[str, dict[str, Any]]:
    """Every system of the ``embedded_ani`` config: name -> role, group, T, frames.

    ``config["train"]`` and ``config["heldout"]`` map group names to ``{systems: [...],
    temperature_K, frames}``; held-out groups are the COMP6-like subsets. Errors (each
    naming the config key at fault): an unknown system name
    (:func:`gmnn.refdata.systems.check_system_name`), a system in two groups, and an
    ``accurate.extra_systems`` entry that is not a train system or asks for more
    accurate frames than the system has.
    """
    out: dict[str, dict[str, Any]] = {}
    for role in ROLES:
        for group, spec in config[role].items():
            for name in spec["systems"]:
                try:
                    systems.check_system_name(name)
                except ValueError as err:
                    raise ValueError(f"embedded_ani.{role}.{group}.systems: {err}") from None
                if name in out:
                    raise ValueError(
                        f"embedded_ani: system {name!r} is in {out[name]['role']}."
                        f"{out[name]['group']} and in {role}.{group}"
                    )
                out[name] = {
                    "role": role,
                    "group": group,
                    "temperature_K": float(spec["temperature_K"]),
                    "frames": int(spec["frames"]),
                }
    for name, frames in extra_accurate_systems(config).items():
        if out.get(name, {}).get("role") != "train":
            where = f"in {out[name]['role']}.{out[name]['group']}" if name in out else "unknown"
            raise ValueError(
                f"embedded_ani.accurate.extra_systems: {name!r} is not a train system ({where})"
            )
        if frames > out[name]["frames"]:
            raise ValueError(
                f"embedded_ani.accurate.extra_systems.{name}: {frames} accurate frames of "
                f"{out[name]['frames']} sampled"
            )
    return out


def extra_accurate_systems(config: Mapping) -> dict[str, int]:
    """``accurate.extra_systems``: train systems labelled whatever their size, each with
    its number of accurate frames (name -> frames)."""
    return {n: int(f) for n, f in config.get("accurate", {}).get("extra_systems", {}).items()}


def sample_system(
    name: str, temperature_K: float, n_frames: int, sampling: Mapping
) -> dict[str, np.ndarray]:
    """GFN2-xTB Langevin MD frames of one named system, with their energies and forces.

    The system is built (:func:`gmnn.refdata.systems.build_system`), relaxed on the GFN2-xTB
    surface and sampled by :func:`gmnn.refdata.qc.sample_xtb_md` with the ``sampling``
    settings (``method``, ``timestep_fs``, ``n_equil``, ``stride``, ``seed``; the seed of
    a system is :func:`system_seed`).

    Returns:
        Arrays: ``numbers`` (N,), ``positions`` (F, N, 3) Å, ``energy`` (F,) eV, ``forces``
        (F, N, 3) eV/Å, ``time_fs`` (F,), and ``wall_s``.
    """
    start = time.perf_counter()
    seed = system_seed(name, sampling["seed"])
    atoms = systems.relax_xtb(systems.build_system(name, seed=0), method=sampling["method"])
    frames = qc.sample_xtb_md(
        atoms,
        temperature_K=temperature_K,
        timestep_fs=sampling["timestep_fs"],
        n_equil=sampling["n_equil"],
        n_frames=n_frames,
        stride=sampling["stride"],
        seed=seed,
        method=sampling["method"],
    )
    return {
        "numbers": atoms.numbers.astype(np.int32),
        "positions": np.stack([f.positions for f in frames]),
        "energy": np.array([f.info["xtb_energy_eV"] for f in frames]),
        "forces": np.stack([f.arrays["xtb_forces"] for f in frames]),
        "time_fs": np.array([f.info["time_fs"] for f in frames]),
        "seed": np.array(seed),
        "wall_s": np.array(time.perf_counter() - start),
    }


def accurate_systems(config: Mapping) -> list[str]:
    """The train systems that get accurate labels: those with at most
    ``accurate.max_atoms`` atoms and those of ``accurate.extra_systems``."""
    limit = int(config["accurate"]["max_atoms"])
    extra = set(extra_accurate_systems(config))
    names = [n for n, s in catalogue(config).items() if s["role"] == "train"]
    return [n for n in names if n in extra or len(systems.build_system(n)) <= limit]


def accurate_frames(n_frames: int, n_accurate: int) -> np.ndarray:
    """Evenly spaced frame indices (``floor((k + 1/2) n_frames / n_accurate)``)."""
    if not 0 < n_accurate <= n_frames:
        raise ValueError(f"cannot pick {n_accurate} accurate frames of {n_frames}")
    return np.floor((np.arange(n_accurate) + 0.5) * n_frames / n_accurate).astype(np.int64)


def label_accurate(
    name: str, sample: Mapping, config: Mapping, n_threads: int | None = None
) -> dict:
    """Accurate-level energies (no forces) of the :func:`accurate_frames` of the sample of
    system ``name``; none (empty arrays) for a system with more than
    ``accurate.max_atoms`` atoms that is not in ``accurate.extra_systems``. The number of
    frames is ``accurate.frames``, or the system's own in ``accurate.extra_systems``."""
    level = config["accurate"]
    extra = extra_accurate_systems(config)
    if len(sample["numbers"]) > int(level["max_atoms"]) and name not in extra:
        info = {"skipped": f"more than accurate.max_atoms = {level['max_atoms']} atoms"}
        info.update(wall_s=[], failures=[], code_versions=qc.provenance())
        return {"frames": np.zeros(0, np.int64), "energy": np.zeros(0), "info": info}
    frames = accurate_frames(len(sample["energy"]), extra.get(name, int(level["frames"])))
    atoms_list = []
    for f in frames:
        atoms = ase.Atoms(sample["numbers"], sample["positions"][f])
        atoms.info["frame"] = int(f)
        atoms_list.append(atoms)
    energies, _, info = qc.label_pyscf(
        atoms_list,
        level["method"],
        level["basis"],
        grid_level=int(level.get("grid_level", 3)),
        n_threads=n_threads,
        on_failure="drop",
        forces=False,
        cartesian=bool(level.get("cartesian", True)),
        density_fit=bool(level.get("density_fit", True)),
    )
    info["code_versions"] = qc.provenance()
    return {"frames": frames, "energy": energies, "info": info}


def _flat(samples: Sequence[Mapping], frames: Sequence[np.ndarray | None]):
    numbers, positions, forces, n_atoms = [], [], [], []
    for sample, keep in zip(samples, frames, strict=True):
        pos = sample["positions"] if keep is None else sample["positions"][keep]
        n_atoms.append(np.full(len(pos), len(sample["numbers"]), np.int64))
        numbers.append(np.tile(sample["numbers"], len(pos)))
        positions.append(pos.reshape(-1, 3))
        f = sample["forces"] if keep is None else sample["forces"][keep]
        forces.append(f.reshape(-1, 3))
    cat = np.concatenate
    return cat(numbers), cat(positions), cat(n_atoms), cat(forces)


def merge(
    config: Mapping,
    samples: Mapping[str, Mapping],
    labels: Mapping[str, Mapping],
    code_versions: Mapping,
) -> dict[str, Any]:
    """The final data sets from the per-system samples and accurate labels.

    Returns:
        ``{"train": Structures, "accurate": Structures, "heldout": {subset: Structures}}``
        in eV, Å and eV/Å, each with ``groups`` naming its systems and a ``meta`` that
        records the levels, the sampling, code versions and wall times.
    """
    cat = catalogue(config)
    sampling = dict(config["sampling"])
    missing = sorted(set(cat) - set(samples))
    if missing:
        raise ValueError(f"embedded_ani: no sample of system(s) {missing}")
    common = {
        "format": "gmnn-embedded-ani",
        "sampling": {**sampling, "thermostat": "Langevin (ase.md.langevin), centre of mass fixed"},
        "sampling_code_versions": dict(code_versions),
        "units": {"energy": "eV", "forces": "eV/Angstrom", "positions": "Angstrom"},
    }
    cheap = f"{sampling['method']} (tblite)"

    def build(names, frames, energy, forces, meta, ids=None):
        numbers, positions, n_atoms, f = _flat([samples[n] for n in names], frames)
        groups = np.repeat(np.arange(len(names)), [len(x) for x in energy])
        return Structures(
            numbers=numbers,
            positions=positions,
            n_atoms=n_atoms,
            energy=np.concatenate(energy),
            forces=f if forces else None,
            ids=ids,
            groups=groups,
            group_names=list(names),
            meta={**common, **meta},
        )

    train = [n for n, s in cat.items() if s["role"] == "train"]
    train_set = build(
        train,
        [None] * len(train),
        [samples[n]["energy"] for n in train],
        True,
        {
            "role": "ANI-1x",
            "level_of_theory": cheap,
            "systems": {n: cat[n] for n in train},
            "wall_time_s": {n: round(float(samples[n]["wall_s"]), 1) for n in train},
            "ids": "running frame index over the systems in order",
        },
    )
    first_id = np.concatenate([[0], np.cumsum([len(samples[n]["energy"]) for n in train])])
    accurate = [n for n in train if n in labels and len(labels[n]["frames"])]
    level = config["accurate"]
    keep = {n: np.isfinite(labels[n]["energy"]) for n in accurate}
    frames = [np.asarray(labels[n]["frames"])[keep[n]] for n in accurate]
    ids = np.concatenate(
        [first_id[train.index(n)] + f for n, f in zip(accurate, frames, strict=True)]
    )
    infos = {n: labels[n]["info"] for n in accurate}
    walls = [t for info in infos.values() for t in info["wall_s"]]
    accurate_set = build(
        accurate,
        frames,
        [np.asarray(labels[n]["energy"])[keep[n]] for n in accurate],
        False,
        {
            "role": "ANI-1ccx",
            "level_of_theory": f"{level['method']}/{level['basis']}",
            "accurate_level": dict(level),
            "code_versions": next(iter(infos.values()))["code_versions"] if infos else {},
            "dropped": {n: info["failures"] for n, info in infos.items() if info["failures"]},
            "ids": "the id of the same geometry in the ANI-1x-role set",
            "wall_time_s": {
                "labelling_sum": round(float(np.sum(walls)), 1),
                "labelling_mean_per_structure": round(float(np.mean(walls)), 2),
                "labelling_max_per_structure": round(float(np.max(walls)), 2),
            },
        },
        ids=ids,
    )
    heldout = {}
    for subset in config["heldout"]:
        names = [n for n, s in cat.items() if s["role"] == "heldout" and s["group"] == subset]
        heldout[subset] = build(
            names,
            [None] * len(names),
            [samples[n]["energy"] for n in names],
            True,
            {
                "role": f"COMP6/{subset}",
                "level_of_theory": cheap,
                "systems": {n: cat[n] for n in names},
            },
        )
    return {"train": train_set, "accurate": accurate_set, "heldout": heldout}
