"""Registry of the public data sets used in the paper, and how to find their files.

Each entry pins a download URL and, where one is published anywhere we could check, a
checksum. Where no checksum is published the entry says ``None``: the pipeline then
records the sha256 it sees on first download in the provenance file next to the data
(``data/raw/<source>/.../PROVENANCE.json``) so that it can be pinned afterwards.
Never put a checksum here that was not read from a primary or independent public source
or measured on a byte-identical copy; say where it came from in ``origin``.

The same URLs and checksums appear in the pipeline's ``config.yaml`` (``sources:``), where
users can override them or point ``local:`` at a pre-staged copy;
``tests/test_pipeline_config.py`` checks that the two agree.

The second half of the module finds a data set's files in the layouts they come in: the
official archives as extracted, the per-split rMD17 files, a single sGDML training file,
flat directories of COMP6 files.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gmnn.data.download import sgdml_fingerprint
from gmnn.data.errors import DataError
from gmnn.data.readers import read_ani_h5, read_rmd17_npz, read_sgdml_npz
from gmnn.data.splits import Split, make_split
from gmnn.data.structures import Structures

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RemoteFile:
    """One downloadable file."""

    url: str
    filename: str
    sha256: str | None = None
    md5: str | None = None
    size: int | None = None
    mirrors: tuple[str, ...] = ()
    origin: str = ""  # where the URL and checksum were found


@dataclass(frozen=True)
class Source:
    """A data set: one or more files, and what to take out of archives."""

    name: str
    title: str
    doi: str
    files: tuple[RemoteFile, ...]
    license: str = ""
    # Fingerprints stored inside the data files (sGDML npz key ``md5``), by member name.
    fingerprints: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# rMD17 (Christensen & von Lilienfeld, Mach. Learn.: Sci. Technol. 1, 045018 (2020)).
RMD17 = Source(
    name="rmd17",
    title="Revised MD17 (rMD17): 100,000 PBE/def2-SVP structures per molecule",
    doi="10.6084/m9.figshare.12672038",
    license="CC0",
    files=(
        RemoteFile(
            url="https://figshare.com/ndownloader/files/23950376",
            filename="rmd17.tar.bz2",
            sha256="cddeea2ec2c4b22a9de16a9a65a3eeedac5b29da9c99c20bbff0153912bf922b",
            md5="cb1a927628d96f2e966025da4fb63d18",
            size=1_066_301_513,
            mirrors=(
                "https://archive.materialscloud.org/record/file?filename=rmd17.tar.bz2&record_id=466",
            ),
            origin=(
                "URL: figshare file 23950376 of article 12672038 v3, used by schnetpack "
                "rmd17.py, load-atoms importers/rmd17.py and others; mirror: Materials Cloud "
                "record 466 (DOI 10.24435/materialscloud:wy-kn), used by PyTorch Geometric MD17. "
                "sha256/md5/size: a public dataset note recording the figshare v3 metadata "
                "and a full download (sha256 cddeea2e...922b, md5 cb1a9276...3d18, "
                "1,066,301,513 bytes); the sha256 prefix cddeea2ec2c4 is independently pinned "
                "by jla-gardner/load-atoms (src/load_atoms/database/importers/rmd17.py, "
                "FileDownload.expected_hash = first 12 hex of sha256)."
            ),
        ),
    ),
)

# --------------------------------------------------------------------------------------------
# sGDML coupled-cluster data sets (Chmiela et al., Nat. Commun. 9, 3887 (2018)).
SGDML_NAMES = {
    "ethanol": "ethanol_ccsd_t",
    "malonaldehyde": "malonaldehyde_ccsd_t",
    "benzene": "benzene_ccsd_t",
    "toluene": "toluene_ccsd_t",
    "aspirin": "aspirin_ccsd",
}
SGDML_BASE_URL = "http://www.quantum-machine.org/gdml/data/npz"
SGDML_PROXY_URL = "https://sgdml.org/secure_proxy.php?file=data/npz"


def _sgdml(molecule: str) -> Source:
    name = SGDML_NAMES[molecule]
    return Source(
        name=f"md17_ccsd/{molecule}",
        title=f"sGDML {name}: coupled-cluster energies and forces (train and test files)",
        doi="10.1038/s41467-018-06169-2",
        files=(
            RemoteFile(
                url=f"{SGDML_BASE_URL}/{name}.zip",
                filename=f"{name}.zip",
                mirrors=(f"{SGDML_PROXY_URL}/{name}.zip",),
                origin=(
                    "URL: mir-group/nequip sGDML_CCSD_DataModule.URL_DICT and other loaders "
                    "(quantum-machine.org/gdml/data/npz/<name>.zip; sgdml's own `sgdml-get` "
                    "uses the same base URL); mirror: sgdml.org secure_proxy.php, seen in a "
                    "public loader. No checksum of the zip is published anywhere we found: "
                    "sha256 is recorded on first download."
                ),
            ),
        ),
        fingerprints=(
            # npz key 'md5' of the official ethanol_ccsd_t-train.npz, read from
            # shared/data/md17_ccsd (a 700-row subset that kept the original key).
            {"ethanol_ccsd_t-train.npz": "cdad377f9048f070ba9071b647d19397"}
            if molecule == "ethanol"
            else {}
        ),
    )


MD17_CCSD = {molecule: _sgdml(molecule) for molecule in SGDML_NAMES}

# --------------------------------------------------------------------------------------------
# ANI-1x and ANI-1ccx (Smith et al., Sci. Data 7, 134 (2020)): one HDF5 file holds both;
# ANI-1ccx is the subset with non-NaN 'ccsd(t)_cbs.energy'.
ANI1X = Source(
    name="ani1x",
    title="ANI-1x / ANI-1ccx release (ani1x-release.h5)",
    doi="10.6084/m9.figshare.c.4712477",
    license="CC BY 4.0",
    files=(
        RemoteFile(
            url="https://springernature.figshare.com/ndownloader/files/18112775",
            filename="ani1x-release.h5",
            sha256="fe0ba06198ee72cf1003deebab2652097f6ab518337784dc811fa7da0c3bf5ac",
            md5="98090dd6679106da861f52bed825ffb7",
            origin=(
                "URL: figshare file 18112775 (article 10.6084/m9.figshare.10047041.v1 in "
                "collection c.4712477), used by jla-gardner/load-atoms importers/ani_1x.py "
                "and ani_1ccx.py. sha256: pinned in a public ANI-1x curation script and its "
                "spec (both 'fe0ba061...f5ac', measured on a download), whose first 12 hex "
                "equal load-atoms' expected_hash 'fe0ba06198ee'; md5 is the figshare-"
                "published value quoted there."
            ),
        ),
    ),
)

# --------------------------------------------------------------------------------------------
# COMP6 v1 benchmark (Smith et al., J. Chem. Phys. 148, 241733 (2018)); files in git.
COMP6_BASE_URL = "https://raw.githubusercontent.com/isayev/COMP6/master/COMP6v1"
COMP6_SUBSETS: dict[str, tuple[str, ...]] = {
    "ani_md": ("ANI-MD/ani_md_bench.h5",),
    "drugbank": ("DrugBank/drugbank_testset.h5",),
    "gdb07to09": (
        "GDB07to09/gdb11_07_test500.h5",
        "GDB07to09/gdb11_08_test500.h5",
        "GDB07to09/gdb11_09_test500.h5",
    ),
    "gdb10to13": (
        "GDB10to13/gdb11_10_test500.h5",
        "GDB10to13/gdb11_11_test500.h5",
        "GDB10to13/gdb13_12_test1000.h5",
        "GDB10to13/gdb13_13_test1000.h5",
    ),
    "tripeptides": ("Tripeptides/tripeptide_full.h5",),
    "s66x8": ("s66x8/s66x8_wb97x6-31gd.h5",),
}
COMP6_SHA256 = {
    # Measured on shared/data/comp6, a byte-for-byte copy of the git blob at
    # isayev/COMP6 HEAD 79f41c156f8e19506fe951b5513b98e7c534a503.
    "s66x8/s66x8_wb97x6-31gd.h5": "c4708b2659cc3608e231ce8d1810f8407011f94bf98739a5e427c8723b19c778",
}
COMP6 = {
    subset: Source(
        name=f"comp6/{subset}",
        title=f"COMP6 v1 benchmark, {subset}",
        doi="10.1063/1.5023802",
        license="MIT",
        files=tuple(
            RemoteFile(
                url=f"{COMP6_BASE_URL}/{path}",
                filename=path,
                sha256=COMP6_SHA256.get(path),
                origin=(
                    "URL: github isayev/COMP6 (COMP6v1/<subset>/<file>), as used by "
                    "torchmd-net datasets/comp6.py. "
                    + (
                        "sha256: measured on a byte-identical copy of the git blob."
                        if path in COMP6_SHA256
                        else "No checksum published: sha256 is recorded on first download."
                    )
                ),
            )
            for path in paths
        ),
    )
    for subset, paths in COMP6_SUBSETS.items()
}


def registry() -> dict[str, object]:
    """The default ``sources:`` section of the pipeline config, built from this module."""

    def entry(f: RemoteFile) -> dict:
        return {
            "url": f.url,
            "mirrors": list(f.mirrors),
            "filename": f.filename,
            "sha256": f.sha256,
            "md5": f.md5,
            "local": None,
        }

    return {
        "rmd17": entry(RMD17.files[0]),
        "md17_ccsd": {m: entry(s.files[0]) for m, s in MD17_CCSD.items()},
        "ani1x": entry(ANI1X.files[0]),
        "ani1ccx": {"same_as": "ani1x", "local": None},
        "comp6": {
            "base_url": COMP6_BASE_URL,
            "local": None,
            "subsets": {
                subset: [{"path": f.filename, "sha256": f.sha256} for f in src.files]
                for subset, src in COMP6.items()
            },
        },
    }


# --------------------------------------------------------------------------------------------
# Finding files in the layouts data sets come in


def _existing(paths) -> list[Path]:
    return [p for p in paths if p.is_file()]


def rmd17_files(root: str | os.PathLike, molecule: str) -> list[Path]:
    """The rMD17 npz file(s) holding ``molecule`` under ``root``.

    Accepts, in this order: ``root`` itself being an npz file; the extracted official
    archive (``rmd17/npz_data/rmd17_<molecule>.npz`` or ``npz_data/...``); a flat
    directory with ``rmd17_<molecule>.npz``; a flat directory of per-split files
    ``rmd17_<molecule>_{train,test}_NN.npz`` (all of them, sorted; they overlap and must be
    merged by ``old_indices``). Symbolic links are followed.
    """
    root = Path(root)
    if root.is_file():
        return [root]
    name = f"rmd17_{molecule}.npz"
    for candidate in (root / "rmd17" / "npz_data" / name, root / "npz_data" / name, root / name):
        if candidate.is_file():
            return [candidate]
    split_files = sorted(
        p
        for p in root.glob(f"rmd17_{molecule}_*.npz")
        if p.stem.rsplit("_", 2)[-2] in {"train", "test"}
    )
    if split_files:
        return split_files
    raise DataError(
        root,
        f"no rMD17 file for molecule {molecule!r}: looked for {name} (optionally under "
        f"rmd17/npz_data/) and per-split files rmd17_{molecule}_{{train,test}}_NN.npz",
    )


def sgdml_files(root: str | os.PathLike, molecule: str) -> dict[str, Path | None]:
    """The sGDML ``train`` and ``test`` npz files of ``molecule`` under ``root``.

    ``root`` may be a single npz file (taken as the training file; ``test`` is then
    ``None``), or a directory holding ``<name>-train.npz`` and ``<name>-test.npz`` (as in
    the official zip; ``<name>`` e.g. ``ethanol_ccsd_t``), possibly under ``<name>/``,
    or any single ``*train*.npz`` / ``*test*.npz`` pair for that name.
    """
    root = Path(root)
    if root.is_file():
        return {"train": root, "test": None}
    name = SGDML_NAMES.get(molecule, molecule)
    found: dict[str, Path | None] = {}
    for part in ("train", "test"):
        exact = _existing(d / f"{name}-{part}.npz" for d in (root, root / name))
        loose = sorted(root.glob(f"{name}*{part}*.npz")) + sorted(root.glob(f"{name}/*{part}*.npz"))
        matches = exact or loose
        if len(matches) > 1 and not exact:
            raise DataError(root, f"several {part} files for {name}: {[str(m) for m in matches]}")
        found[part] = matches[0] if matches else None
    if found["train"] is None:
        if found["test"] is not None:
            raise DataError(root, f"found a test file but no training file for {name}")
        raise DataError(
            root, f"no sGDML file for {name}: expected {name}-train.npz (and -test.npz)"
        )
    return found


def comp6_files(root: str | os.PathLike, subset: str) -> list[Path]:
    """The COMP6 files of ``subset`` under ``root`` (the COMP6v1 tree, or flat)."""
    root = Path(root)
    if subset not in COMP6_SUBSETS:
        raise KeyError(f"unknown COMP6 subset {subset!r}; known: {sorted(COMP6_SUBSETS)}")
    out, missing = [], []
    for rel in COMP6_SUBSETS[subset]:
        candidates = _existing(
            (
                root / rel,
                root / "COMP6v1" / rel,
                root / Path(rel).name,
                root / subset / Path(rel).name,
            )
        )
        if candidates:
            out.append(candidates[0])
        else:
            missing.append(rel)
    if missing:
        raise DataError(root, f"COMP6 subset {subset!r} is missing {missing}")
    return out


def find_files(kind: str, root: str | os.PathLike, items: list[str]) -> list[Path]:
    """The files of data set ``kind`` (rmd17, sgdml, comp6, file) for ``items`` under ``root``.

    ``items`` are molecules (rmd17, sgdml) or COMP6 subsets; ``file`` means ``root`` itself.
    """
    root = Path(root)
    if kind == "file":
        if root.is_dir():  # a staged directory: its one data file
            inside = [
                p for p in sorted(root.iterdir()) if not p.name.startswith((".", "PROVENANCE"))
            ]
            if len(inside) != 1:
                raise DataError(root, f"expected one data file, found {[p.name for p in inside]}")
            return inside
        if not root.is_file():
            raise DataError(root, "no such file or directory")
        return [root]
    found: list[Path] = []
    for item in items:
        if kind == "rmd17":
            found += rmd17_files(root, item)
        elif kind == "sgdml":
            found += [p for p in sgdml_files(root, item).values() if p is not None]
        elif kind == "comp6":
            found += comp6_files(root, item)
        else:
            raise ValueError(f"unknown kind {kind!r}")
    return list(dict.fromkeys(found))


# --------------------------------------------------------------------------------------------
# Assembling one data set from its files


def _with_meta(s: Structures, meta: dict) -> Structures:
    return Structures(
        numbers=s.numbers,
        positions=s.positions,
        n_atoms=s.n_atoms,
        energy=s.energy,
        forces=s.forces,
        cell=s.cell,
        pbc=s.pbc,
        ids=s.ids,
        meta=meta,
        groups=s.groups,
        group_names=s.group_names if s.groups is not None else None,
    )


def load_rmd17(root: str | os.PathLike, molecule: str) -> Structures:
    """All distinct rMD17 structures of ``molecule`` under ``root`` (see :func:`rmd17_files`).

    Files that overlap (the published train/test splits) are merged keeping each original
    MD17 index (``old_indices``, the ``ids``) once, sorted by it; identical indices must
    carry identical data. ``meta["files"]`` lists the files read.
    """
    files = rmd17_files(root, molecule)
    parts = [read_rmd17_npz(f) for f in files]
    merged = Structures.concatenate(parts)
    ids, first = np.unique(merged.ids, return_index=True)
    unique = merged.subset(first)
    if len(files) > 1:
        # the same MD17 frame must have the same geometry and labels in every file
        for part in parts:
            rows = np.searchsorted(ids, part.ids)
            if not (
                np.array_equal(unique.energy[rows], part.energy)
                and np.array_equal(unique.positions[unique.atom_indices(rows)], part.positions)
            ):
                raise DataError(
                    part.meta["source"], "disagrees with another file for the same old_indices"
                )
    meta = dict(parts[0].meta)
    meta.update(
        source=str(root),
        molecule=molecule,
        files=[str(f) for f in files],
        merged_unique_by="old_indices" if len(files) > 1 else None,
    )
    return _with_meta(unique, meta)


def load_sgdml(
    root: str | os.PathLike, molecule: str, expected: dict[str, str] | None = None
) -> Structures:
    """The sGDML coupled-cluster data of ``molecule`` under ``root`` (see :func:`sgdml_files`).

    The training file comes first, then the test file if there is one; ``meta
    ["official_test"]`` holds ``[start, stop)`` of the test file's structures (absent
    without a test file; see :func:`official_test`). The sGDML fingerprint (npz key
    ``md5``) of each file is recomputed and recorded in ``meta["fingerprints"]`` together
    with the stored and the expected value (``expected`` or the registry); a mismatch is
    logged, not raised, since subsets and re-packed files legitimately differ.
    """
    files = sgdml_files(root, molecule)
    expected = dict(
        MD17_CCSD[molecule].fingerprints if molecule in MD17_CCSD else {}, **(expected or {})
    )
    parts, fingerprints = [], {}
    for part in ("train", "test"):
        path = files[part]
        if path is None:
            continue
        parts.append(read_sgdml_npz(path))
        with np.load(path) as arrays:
            stored = str(arrays["md5"].astype(str)) if "md5" in arrays else None
            computed = sgdml_fingerprint(arrays)
        official = expected.get(f"{SGDML_NAMES.get(molecule, molecule)}-{part}.npz")
        fingerprints[part] = {
            "file": str(path),
            "stored": stored,
            "computed": computed,
            "expected": official,
            "matches_stored": stored == computed if stored else None,
            "matches_expected": official == computed if official else None,
        }
        if (stored and stored != computed) or (official and official != computed):
            log.warning(
                "%s: sGDML fingerprint %s differs from the stored %s / official %s "
                "(a subset or modified copy of the official file)",
                path,
                computed,
                stored,
                official,
            )
    merged = Structures.concatenate(parts)
    meta = dict(parts[0].meta)
    meta.update(source=str(root), molecule=molecule, fingerprints=fingerprints)
    meta["files"] = {k: (str(v) if v else None) for k, v in files.items()}
    if files["test"] is not None:
        meta["official_test"] = [len(parts[0]), len(merged)]
    return _with_meta(merged, meta)


def official_test(structures: Structures) -> np.ndarray | None:
    """Indices of the official test structures (see :func:`load_sgdml`), or None."""
    bounds = structures.meta.get("official_test")
    return None if bounds is None else np.arange(bounds[0], bounds[1], dtype=np.int64)


def load_comp6(root: str | os.PathLike, subset: str) -> Structures:
    """The COMP6 v1 ``subset`` under ``root`` (see :func:`comp6_files`), forces fixed.

    COMP6 v1 stores the energy *gradient* under ``forces``: along the 66 S66x8 dissociation
    curves, dE agrees in sign with -F.dR for only 16 of 462 steps, and with +F.dR for the
    rest (checked on s66x8_wb97x6-31gd.h5; torchmd-net's COMP6 loader negates them too).
    The forces are therefore negated here, and ``meta["forces_negated"]`` says so.
    """
    files = comp6_files(root, subset)
    merged = Structures.concatenate([read_ani_h5(f) for f in files])
    if merged.forces is not None:
        merged = merged.with_labels(forces=-merged.forces)
    meta = {
        "source": str(root),
        "format": "ani",
        "dataset": f"COMP6v1/{subset}",
        "files": [str(f) for f in files],
        "level_of_theory": "wB97x/6-31G(d)",
        "forces_negated": True,
        "parts": merged.meta.get("parts", [merged.meta]),
    }
    return _with_meta(merged, meta)


def load_ani1x(path: str | os.PathLike, level: str = "dft") -> Structures:
    """ANI-1x (``level="dft"``: wB97x/6-31G(d) energies and forces) or ANI-1ccx
    (``level="cc"``: CCSD(T)*/CBS energies, no forces) from ``ani1x-release.h5``."""
    keys = {"dft": ("wb97x_dz.energy", True), "cc": ("ccsd(t)_cbs.energy", False)}
    if level not in keys:
        raise ValueError(f"level must be one of {sorted(keys)}, got {level!r}")
    energy_key, forces = keys[level]
    s = read_ani_h5(path, energy_key=energy_key, require_forces=forces)
    if not forces and s.forces is not None:
        s = s.without_labels(forces=True)
    return s


# --------------------------------------------------------------------------------------------
# Splits that respect an official test set


def md17_split(
    structures: Structures,
    train_sizes: list[int] | int,
    n_valid: int,
    n_test: int | None = None,
    seed: int = 0,
) -> Split:
    """A seeded split of ``structures`` whose ``train[:n]`` serves every size in ``train_sizes``.

    If the data carry an official test set (:func:`official_test`, e.g. the sGDML test
    file), training and validation structures are drawn from the rest and ``test`` is the
    official set (or a seeded subset of ``n_test`` of it). Otherwise the test set is
    carved from what is left after training and validation (``n_test`` of it, or all with
    ``None``). A training size that does not fit raises DataError naming it.
    """
    sizes = sorted({int(n) for n in np.atleast_1d(train_sizes)})
    n_total = len(structures)
    test = official_test(structures)
    n_pool = n_total - (0 if test is None else len(test))
    n_carve = 0 if test is not None else (n_test or 0)
    room = n_pool - n_valid - n_carve
    too_big = [n for n in sizes if n > room]
    if too_big:
        where = "" if test is None else f" outside the {len(test)} official test structures"
        raise DataError(
            structures.meta.get("source"),
            f"training set size(s) {too_big} do not fit: {n_pool} structures{where}, minus "
            f"n_valid={n_valid}"
            + (f" and n_test={n_carve}" if n_carve else "")
            + f", leave room for at most {max(room, 0)} training structures",
        )
    if test is None:
        return make_split(n_total, sizes[-1], n_valid, n_test, seed)
    split = make_split(n_total, sizes[-1], n_valid, 0, seed, exclude=test)
    if n_test is not None:
        if n_test > len(test):
            raise DataError(
                structures.meta.get("source"),
                f"n_test={n_test} is larger than the official test set ({len(test)} structures)",
            )
        rng = np.random.default_rng([seed, 1])
        test = np.sort(rng.choice(test, size=n_test, replace=False))
    return Split(train=split.train, valid=split.valid, test=test, seed=split.seed, n_total=n_total)
