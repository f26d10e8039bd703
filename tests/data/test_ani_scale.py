"""ANI data at paper scale: streaming conversion (gmnn.data.ani), float32 storage,
malformed files, the ANI split convention, vectorised batching and the split_ani job."""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import h5py
import numpy as np
import pytest

from gmnn import units
from gmnn.data import DataError, Structures, load_split, make_split, read_ani_h5, read_h5, write_h5
from gmnn.data.ani import convert_ani, convert_ani_h5, scan_ani
from gmnn.data.h5 import H5Writer, read_h5_ids
from gmnn.data.sources import convert_comp6, load_ani1x, load_comp6
from gmnn.data.splits import make_ani_split
from gmnn.model import batch as batch_module
from gmnn.model.batch import GraphData, molecule_pairs
from gmnn.model.neighbors import neighbor_pairs

REPO = Path(__file__).resolve().parents[2]
ANI1X = "ani1x/ani1x_subset_n5_modelforge.hdf5"
COMP6_DIR = "comp6"


def need(root: Path, relative: str) -> Path:
    path = root / relative
    if not path.exists():
        pytest.skip(f"{path} not found in the shared data directory")
    return path


def assert_same(converted: Structures, reference: Structures, forces_sign: float = 1.0) -> None:
    """``converted`` (float32 storage) holds the structures of ``reference`` (float64)."""
    assert converted.positions.dtype == np.float32
    np.testing.assert_array_equal(converted.numbers, reference.numbers)
    np.testing.assert_array_equal(converted.n_atoms, reference.n_atoms)
    np.testing.assert_array_equal(converted.ids, reference.ids)
    np.testing.assert_array_equal(converted.groups, reference.groups)
    assert converted.group_names == reference.group_names
    assert converted.meta == reference.meta
    # the source is float32: positions are the same numbers, energies bit-identical
    np.testing.assert_array_equal(converted.positions.astype(np.float64), reference.positions)
    np.testing.assert_array_equal(converted.energy, reference.energy)
    if reference.forces is None:
        assert converted.forces is None
    else:
        assert converted.forces.dtype == np.float32
        np.testing.assert_allclose(
            converted.forces, forces_sign * reference.forces, rtol=1e-7, atol=1e-30
        )


# ---------------------------------------------------------------------- synthetic files


def write_ani1x(path: Path, groups=None, **overrides) -> Path:
    """A small file in the ANI-1x release layout; ``overrides`` maps "group/key" to a
    replacement array (None: delete the dataset)."""
    rng = np.random.default_rng(0)
    groups = groups or {"C1H4": (np.array([6, 1, 1, 1, 1]), 11), "H2O1": (np.array([8, 1, 1]), 4)}
    with h5py.File(path, "w") as f:
        for name, (numbers, k) in groups.items():
            n = len(numbers)
            base = np.arange(n)[:, None] * np.array([1.2, 0.3, 0.1])  # 1.2+ Å apart
            g = f.create_group(name)
            g["atomic_numbers"] = numbers
            g["coordinates"] = (base + rng.normal(scale=0.01, size=(k, n, 3))).astype(np.float32)
            g["wb97x_dz.energy"] = -40.0 - rng.random(k)
            g["wb97x_dz.forces"] = rng.normal(scale=0.02, size=(k, n, 3)).astype(np.float32)
            cc = -40.1 - rng.random(k)
            cc[::3] = np.nan  # ANI-1ccx convention: most conformers lack the CC energy
            g["ccsd(t)_cbs.energy"] = cc
        for key, value in overrides.items():
            del f[key]
            if value is not None:
                f[key] = value
    return path


def test_streaming_conversion_matches_the_in_memory_reader(tmp_path):
    raw = write_ani1x(tmp_path / "raw.h5")
    for level, energy_key in (("dft", "wb97x_dz.energy"), ("cc", "ccsd(t)_cbs.energy")):
        reference = read_ani_h5(raw, energy_key=energy_key)
        for chunk in (1, 3, 1000):  # groups sliced in 1, 4 or 11 pieces, or whole
            out = tmp_path / f"{level}_{chunk}.h5"
            summary = convert_ani(raw, out, level=level, chunk_conformers=chunk)
            converted = read_h5(out)
            assert converted.keep_float32 and summary.n_structures == len(reference)
            assert_same(converted, reference)
    dft, cc = read_h5(tmp_path / "dft_3.h5"), read_h5(tmp_path / "cc_3.h5")
    assert len(dft) == 15 and dft.has_forces
    # ANI-1ccx: NaN energies dropped and counted; ids are ANI-1x ids of the same geometry
    assert len(cc) == 7 + 2 and cc.meta["n_dropped_nan_energy"] == 4 + 2
    assert not cc.has_forces
    np.testing.assert_array_equal(cc.ids, [1, 2, 4, 5, 7, 8, 10, 12, 13])
    rows = np.searchsorted(dft.ids, cc.ids)
    np.testing.assert_array_equal(dft.ids[rows], cc.ids)
    np.testing.assert_array_equal(dft[rows].positions, cc.positions)
    with h5py.File(raw) as f:
        assert cc.energy[0] == f["C1H4/ccsd(t)_cbs.energy"][1] * units.HARTREE
        with h5py.File(tmp_path / "dft_3.h5") as g:
            assert g["positions"].dtype == np.float32 and g["energy"].dtype == np.float64
            assert g["positions"].maxshape == (None, 3)  # resizable, written chunk by chunk


def test_multi_file_conversion_concatenates_and_negates(tmp_path):
    a = write_ani1x(tmp_path / "a.h5")
    b = write_ani1x(tmp_path / "b.h5", groups={"H2O1": (np.array([8, 1, 1]), 5)})
    out = tmp_path / "ab.h5"
    convert_ani_h5([a, b], out, negate_forces=True, chunk_conformers=4)
    reference = Structures.concatenate([read_ani_h5(a), read_ani_h5(b)])
    converted = read_h5(out)
    assert converted.group_names == ("C1H4", "H2O1")  # same name, one entry
    assert_same(converted, reference, forces_sign=-1.0)


def test_ani1x_fixture_converts_like_load_ani1x(shared_data, tmp_path):
    raw = need(shared_data, ANI1X)
    for level in ("dft", "cc"):
        convert_ani(raw, tmp_path / f"{level}.h5", level=level, chunk_conformers=1)
        assert_same(read_h5(tmp_path / f"{level}.h5"), load_ani1x(raw, level))
    assert read_h5_ids(tmp_path / "cc.h5").tolist() == [0, 1, 2, 3, 6, 7]


def test_comp6_converts_like_load_comp6_forces_negated(shared_data, tmp_path):
    root = need(shared_data, COMP6_DIR)
    out = tmp_path / "s66x8.h5"
    convert_comp6(root, "s66x8", out, chunk_conformers=5)
    reference = load_comp6(root, "s66x8")
    converted = read_h5(out)
    assert converted.meta["forces_negated"] and len(converted) == 528
    assert_same(converted, reference)
    raw = read_ani_h5(converted.meta["files"][0])  # the file's "forces" are gradients
    np.testing.assert_allclose(converted.forces, -raw.forces, rtol=1e-7)


# ---------------------------------------------------------------------- malformed files


@pytest.mark.parametrize(
    ("overrides", "level", "match"),
    [
        ({"H2O1/coordinates": None}, "dft", r"group /H2O1: missing dataset 'coordinates'"),
        (
            {"H2O1/wb97x_dz.forces": None},
            "dft",
            r"group /H2O1: missing dataset 'wb97x_dz.forces'|group /H2O1 has no 'wb97x_dz.forces'",
        ),
        (
            {"C1H4/ccsd(t)_cbs.energy": None},
            "cc",
            r"group /C1H4: missing dataset 'ccsd\(t\)_cbs.energy'",
        ),
        (
            {"H2O1/coordinates": np.zeros((4, 3, 2), np.float32)},
            "dft",
            r"group /H2O1: 'coordinates' has shape \(4, 3, 2\); expected \(K, N, 3\)",
        ),
        (
            {"H2O1/wb97x_dz.forces": np.zeros((4, 2, 3), np.float32)},
            "dft",
            r"group /H2O1: 'wb97x_dz.forces' has shape \(4, 2, 3\); expected \(4, 3, 3\)",
        ),
        (
            {"C1H4/wb97x_dz.energy": np.zeros(10)},
            "dft",
            r"group /C1H4: 'wb97x_dz.energy' has shape \(10,\); expected \(11,\)",
        ),
        (
            {"H2O1/atomic_numbers": np.array([8, 1])},
            "dft",
            r"group /H2O1: 2 elements but 'coordinates' has 3 atoms",
        ),
        (
            {"H2O1/atomic_numbers": np.array([8, 0, 1])},
            "dft",
            r"group /H2O1: unknown element\(s\) Z=\[0\] in 'atomic_numbers'",
        ),
        (
            {"H2O1/atomic_numbers": np.array([200, 1, 1])},
            "cc",
            r"group /H2O1: unknown element\(s\) Z=\[200\] in 'atomic_numbers'",
        ),
    ],
)
def test_malformed_files_name_file_group_and_key(tmp_path, raises_naming, overrides, level, match):
    raw = write_ani1x(tmp_path / "bad.h5", **overrides)
    out = tmp_path / "out.h5"
    with raises_naming(raw, match):
        convert_ani(raw, out, level=level)
    assert not out.exists() and not list(tmp_path.glob(".out.h5*"))  # nothing left behind
    with pytest.raises(DataError, match=match):  # the in-memory readers say the same
        load_ani1x(raw, level)


@pytest.mark.parametrize(
    ("key", "where", "level"),
    [
        ("coordinates", (5, 2, 1), "dft"),
        ("wb97x_dz.forces", (7, 0, 2), "dft"),
        ("coordinates", (7, 1, 0), "cc"),
    ],
)
def test_nan_coordinates_or_forces_name_the_conformer(tmp_path, key, where, level):
    raw = write_ani1x(tmp_path / "nan.h5")
    with h5py.File(raw, "r+") as f:
        f[f"C1H4/{key}"][where] = np.nan
    with pytest.raises(
        DataError, match=rf"nan.h5: non-finite values in '/C1H4/{key}' of structure {where[0]}"
    ):
        convert_ani(raw, tmp_path / "out.h5", level=level, chunk_conformers=4)
    # a NaN in a conformer that ANI-1ccx drops (NaN CC energy) does not matter there
    with h5py.File(raw, "r+") as f:
        f["C1H4/coordinates"][where[0]] = f["C1H4/coordinates"][where[0] - 1]  # repaired
        f["C1H4/coordinates"][3, 0, 0] = np.nan  # conformer 3 has no CC energy
    assert convert_ani(raw, tmp_path / "cc.h5", level="cc").n_structures == 9
    with pytest.raises(DataError, match=r"'/C1H4/coordinates' of structure 3"):
        convert_ani(raw, tmp_path / "dft.h5", level="dft")


def test_unknown_symbol_coincident_atoms_and_not_ani(tmp_path):
    comp6 = tmp_path / "comp6.h5"
    with h5py.File(comp6, "w") as f:
        g = f.create_group("set/mol0")
        g["species"] = np.array([b"O", b"H", b"Q"])
        g["coordinates"] = np.eye(3, dtype=np.float32)[None]
        g["energies"] = np.array([-76.0])
    with pytest.raises(DataError, match=r"comp6.h5: group /set/mol0: unknown element symbol"):
        convert_ani_h5([comp6], tmp_path / "out.h5")
    raw = write_ani1x(tmp_path / "close.h5")
    with h5py.File(raw, "r+") as f:
        f["H2O1/coordinates"][2, 1] = f["H2O1/coordinates"][2, 0]
    with pytest.raises(DataError, match=r"close.h5: group /H2O1: atoms too close in structure 2"):
        convert_ani(raw, tmp_path / "out.h5")
    with pytest.raises(DataError, match=r"group /H2O1: atoms too close in .*\(id 2 in its source"):
        convert_ani(raw, tmp_path / "out.h5", chunk_conformers=2)  # 2nd slice, its 1st
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(DataError, match="plain.h5: no ANI groups found"):
        scan_ani(plain)


def test_h5_writer_is_atomic(tmp_path):
    out = tmp_path / "w.h5"
    with pytest.raises(RuntimeError, match="boom"), H5Writer(out, np.float32) as writer:
        writer.append(np.ones(2), np.eye(2, 3), [2], [-1.0], [0], [0], forces=np.zeros((2, 3)))
        raise RuntimeError("boom")
    with pytest.raises(RuntimeError, match="without finish"), H5Writer(out) as writer:
        pass
    assert not out.exists() and not list(tmp_path.iterdir())


# ---------------------------------------------------------------------- float32 opt-in


def test_structures_keep_float32_only_when_asked(make_structures, tmp_path):
    s = make_structures(n_atoms=(3, 5, 2, 4))
    pos32, f32 = s.positions.astype(np.float32), s.forces.astype(np.float32)
    kwargs = {"numbers": s.numbers, "n_atoms": s.n_atoms, "energy": s.energy, "meta": s.meta}
    default = Structures(positions=pos32, forces=f32, **kwargs)
    assert default.positions.dtype == default.forces.dtype == np.float64  # unchanged default
    compact = Structures(positions=pos32, forces=f32, keep_float32=True, **kwargs)
    assert compact.positions.dtype == compact.forces.dtype == np.float32
    assert compact.energy.dtype == np.float64
    mixed = Structures(positions=s.positions, forces=f32, keep_float32=True, **kwargs)
    assert mixed.positions.dtype == np.float64 and mixed.forces.dtype == np.float32
    for derived in (
        compact[[2, 0]],
        compact[1:3],
        compact.with_labels(energy=compact.energy + 1.0),
        compact.without_labels(energy=True),
        Structures.concatenate([compact, compact]),
    ):
        assert derived.keep_float32 and derived.positions.dtype == np.float32
    assert Structures.concatenate([compact, default]).positions.dtype == np.float64
    write_h5(compact, tmp_path / "c.h5")
    back = read_h5(tmp_path / "c.h5")
    assert back.positions.dtype == np.float32 and back.fingerprint() == compact.fingerprint()
    write_h5(s, tmp_path / "s.h5")
    assert read_h5(tmp_path / "s.h5").positions.dtype == np.float64
    assert not read_h5(tmp_path / "s.h5").keep_float32


# ---------------------------------------------------------------------- splits


def test_ani_split_nested_disjoint_seeded():
    ids = np.arange(1000, dtype=np.int64) * 3 + 7  # ids are not row numbers
    sizes = [16, 64, 256]
    split = make_ani_split(ids, sizes, n_valid=100, n_test=0, seed=4)
    assert len(split.train) == 256 and len(split.valid) == 100 and len(split.test) == 0
    # without exclusion it is make_split with the largest size
    assert split == make_split(1000, 256, 100, 0, seed=4)
    for n in sizes:
        assert np.array_equal(split.with_train_size(n).train, split.train[:n])
        assert np.array_equal(make_ani_split(ids, [n], 100, 0, seed=4).train, split.train[:n])
    assert np.array_equal(make_ani_split(ids, sizes, 100, 0, seed=4).train, split.train)
    assert not np.array_equal(make_ani_split(ids, sizes, 100, 0, seed=5).train, split.train)
    rest = make_ani_split(ids, sizes, 100, None, seed=4)
    assert len(rest.test) == 1000 - 356 and np.array_equal(rest.valid, split.valid)
    assert np.intersect1d(rest.test, np.concatenate([rest.train, rest.valid])).size == 0
    some = make_ani_split(ids, sizes, 100, 50, seed=4)
    assert len(some.test) == 50 and np.isin(some.test, rest.test).all()
    with pytest.raises(ValueError, match=r"n_train=256 \+ n_valid=800"):
        make_ani_split(ids, sizes, 800, 0)


def test_ani_split_excludes_by_source_ids():
    ids = np.arange(500, dtype=np.int64) * 2  # every other id of a larger file
    exclude = ids[::5]
    split = make_ani_split(ids, [64, 200], n_valid=50, n_test=None, seed=1, exclude_ids=exclude)
    used = ids[np.concatenate([split.train, split.valid, split.test])]
    assert np.intersect1d(used, exclude).size == 0
    assert len(used) == 500 - len(exclude)
    # the order of the others is that of the one permutation of all conformers
    full = make_ani_split(ids, [500], n_valid=0, n_test=0, seed=1).train
    kept = full[~np.isin(ids[full], exclude)]
    assert np.array_equal(
        np.concatenate([np.sort(kept[:50]), kept[50:250]]),
        np.concatenate([split.valid, split.train]),
    )
    with pytest.raises(ValueError, match=r"1 of 2 exclude_ids are not among the ids"):
        make_ani_split(ids, [10], 10, 0, exclude_ids=[0, 3])


def test_split_ani_job_keeps_ani1ccx_test_out_of_ani1x(tmp_path):
    raw = write_ani1x(tmp_path / "raw.h5", groups={"C1H4": (np.array([6, 1, 1, 1, 1]), 60)})
    convert_ani(raw, tmp_path / "ani1x.h5", level="dft")
    convert_ani(raw, tmp_path / "ani1ccx.h5", level="cc")

    def run(out, params, seed, **inputs):
        snakemake = SimpleNamespace(
            input=SimpleNamespace(**{k: str(v) for k, v in inputs.items()}),
            output=[str(out)],
            params=SimpleNamespace(**params),
            wildcards=SimpleNamespace(seed=str(seed)),
            log=[str(tmp_path / "split.log")],
        )
        runpy.run_path(
            str(REPO / "workflow_scripts/split_ani.py"), init_globals={"snakemake": snakemake}
        )
        return load_split(out)

    cc = run(
        tmp_path / "cc.json",
        {"train_sizes": [4, 8], "n_valid": 5, "n_test": None},
        0,
        data=tmp_path / "ani1ccx.h5",
    )
    assert (len(cc.train), len(cc.valid), len(cc.test)) == (8, 5, 40 - 13)
    params = {"train_sizes": [2, 16], "n_valid": 4, "n_test": 0}
    dft = run(
        tmp_path / "dft.json",
        params,
        0,
        data=tmp_path / "ani1x.h5",
        exclude_split=tmp_path / "cc.json",
        exclude_data=tmp_path / "ani1ccx.h5",
    )
    cc_test_ids = read_h5_ids(tmp_path / "ani1ccx.h5")[cc.test]
    dft_ids = read_h5_ids(tmp_path / "ani1x.h5")
    assert np.intersect1d(dft_ids[np.concatenate([dft.train, dft.valid])], cc_test_ids).size == 0
    assert (len(dft.train), len(dft.valid), len(dft.test)) == (16, 4, 0)
    assert json.loads((tmp_path / "dft.json").read_text())["source_sha256"] is not None
    plain = run(tmp_path / "plain.json", params, 0, data=tmp_path / "ani1x.h5")
    expected = make_ani_split(dft_ids, [2, 16], 4, 0, seed=0)
    assert np.array_equal(plain.train, expected.train) and plain != dft
    assert np.array_equal(plain.valid, expected.valid)
    other_seed = run(tmp_path / "seed1.json", params, 1, data=tmp_path / "ani1x.h5")
    assert not np.array_equal(other_seed.train, plain.train)


# ---------------------------------------------------------------------- batching


def reference_batch_pairs(structures: Structures, idx, cutoff):
    """Pairs of ``idx`` the old way: neighbor_pairs one structure at a time."""
    s, out_i, out_j, shifts, offset = structures, [], [], [], 0
    for k in idx:
        a, b = s.offsets[k], s.offsets[k + 1]
        p = neighbor_pairs(s.positions[a:b], cutoff, s.cell[k], s.pbc[k])
        out_i.append(p.i + offset)
        out_j.append(p.j + offset)
        shifts.append(p.shift)
        offset += b - a
    return np.concatenate(out_i), np.concatenate(out_j), np.concatenate(shifts)


def random_molecules(rng, sizes, scale=1.3):
    n = np.asarray(sizes)
    pos = rng.normal(size=(n.sum(), 3)) * np.repeat(np.cbrt(n) * scale, n)[:, None]
    return Structures(
        numbers=rng.choice([1, 6, 7, 8], size=n.sum()),
        positions=pos.astype(np.float32),
        n_atoms=n,
        check_geometry=False,
        keep_float32=True,
    )


@pytest.mark.parametrize("chunk", [1 << 20, 50])
def test_vectorised_pairs_equal_the_per_structure_ones(monkeypatch, chunk):
    monkeypatch.setattr(batch_module, "_DENSE_CHUNK_PAIRS", chunk)
    rng = np.random.default_rng(3)
    s = random_molecules(rng, rng.integers(1, 64, size=300))
    idx = rng.permutation(len(s))[:200]
    i, j, counts = molecule_pairs(s.positions, s.offsets, idx, 5.0)
    ref_i, ref_j, _ = reference_batch_pairs(s, idx, 5.0)
    starts = np.repeat(np.cumsum(s.n_atoms[idx]) - s.n_atoms[idx], counts)
    np.testing.assert_array_equal(i + starts, ref_i)  # same pairs, same order
    np.testing.assert_array_equal(j + starts, ref_j)
    assert len(ref_i) > 10_000
    for cache in (False, True):
        b = GraphData(s, 5.0, [1, 6, 7, 8], cache=cache).batch(idx)
        np.testing.assert_array_equal(b["pair_i"], ref_i)
        np.testing.assert_array_equal(b["pair_j"], ref_j)
        assert not b["shift"].any() and b["shift"].shape == (len(ref_i), 3)


def test_batches_mixing_periodic_and_large_structures_keep_the_old_pairs():
    rng = np.random.default_rng(5)
    molecules = random_molecules(rng, [3, 1, 20, 600, 7], scale=2.0)
    cell = np.diag([6.0, 7.0, 8.0])
    crystal = Structures(
        numbers=[1] * 6,
        positions=rng.random((6, 3)) * 6.0,
        n_atoms=[6],
        cell=cell[None],
        pbc=[[True, True, False]],
        check_geometry=False,
    )
    s = Structures.concatenate([molecules.without_labels(), crystal])
    idx = np.array([5, 0, 3, 2, 1, 4])
    ref_i, ref_j, ref_shift = reference_batch_pairs(s, idx, 4.0)
    for cache in (False, True):
        b = GraphData(s, 4.0, [1, 6, 7, 8], cache=cache).batch(idx, dtype=np.float64)
        np.testing.assert_array_equal(b["pair_i"], ref_i)
        np.testing.assert_array_equal(b["pair_j"], ref_j)
        np.testing.assert_array_equal(b["shift"], ref_shift)
    assert ref_shift.any()


# ---------------------------------------------------------------------- benchmark


def test_memory_benchmark_runs_small(tmp_path):
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks/ani_memory.py"), "--n", "3000", "--batch", "256"]
        + ["--chunk-conformers", "512", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    write, convert, split, batch = result["phases"]
    assert write["n_conformers"] == convert["dft_structures"] == batch["n_structures"] == 3000
    assert convert["cc_structures"] + convert["cc_dropped"] == 3000
    assert split["n_valid"] == 3000 // 16 and split["n_train"] == 3000 - 3000 // 16
    assert batch["positions_dtype"] == "float32" and batch["n_batches"] == -(
        -split["n_train"] // 256
    )
    assert result["projected_gb"] > 0 and "projected for 4,194,304" in done.stdout


def test_convert_jobs_stream(tmp_path, shared_data):
    raw = write_ani1x(tmp_path / "raw.h5")

    def run(script, out, raw, **fields):
        log = [str(tmp_path / "job.log")]
        inputs = SimpleNamespace(raw=str(raw))
        snakemake = SimpleNamespace(input=inputs, output=[str(out)], log=log, **fields)
        runpy.run_path(
            str(REPO / "workflow_scripts" / script), init_globals={"snakemake": snakemake}
        )
        return read_h5(out)

    cc = run("convert_ani.py", tmp_path / "ani1ccx.h5", raw, params=SimpleNamespace(level="cc"))
    assert_same(cc, load_ani1x(raw, "cc"))
    root = need(shared_data, COMP6_DIR)
    subset = SimpleNamespace(subset="s66x8")
    s66x8 = run("convert_comp6.py", tmp_path / "comp6_s66x8.h5", root, wildcards=subset)
    assert_same(s66x8, load_comp6(root, "s66x8"))
