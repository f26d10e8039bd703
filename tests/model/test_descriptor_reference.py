"""Value-level check of :class:`gmnn.model.descriptor.GaussianMoments` against a plain reference.

The reference below is written from the equations (Zaverkin & Kästner, JCTC 16, 5410 (2020);
Zaverkin et al., JCTC 17, 6658 (2021); Eq. (2) of the transfer-learning paper) with explicit
Python loops over atoms, radial channels and Cartesian indices.  It uses none of the
descriptor's index tables, monomial storage, Gram matrices or pair layouts; from the code it
takes only the conventions the papers leave open:

* the radial basis constants: K Gaussian primitives with centres s_k = r_min + k (r_c - r_min)/K
  (k = 0..K-1), one width w = K^2 / r_c^2, prefactor (2w/π)^(1/4) (L2-normalised primitives)
  and an overall 1/√K;
* the storage of β as a (n_species^2, n_radial, n_basis) variable whose row is
  Z_centre * n_species + Z_neighbour (first species index: the central atom);
* the feature order: families 0..7 concatenated; inside a family the kept radial-index
  tuples in lexicographic order (n <= n' for the symmetric pairs, n <= n' <= n'' for the
  fully symmetric family 4, (n <= n') slow and n'' fast for families 5 and 6, all (n, n', n'')
  for family 7).

The tests compare every feature of every atom in float64 and name the family, the feature
and its radial indices on failure; further tests check that the reference itself is
rotation/translation/permutation invariant, that its moments are rotation equivariant, that
the dropped index tuples really are duplicates, and that the primitives are normalised.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import tensorflow as tf

from gmnn.model.descriptor import GaussianMoments

C3 = range(3)

FAMILY_NAMES = (
    "0: Psi0_n",
    "1: Psi1_{n,a} Psi1_{n',a}",
    "2: Psi2_{n,ab} Psi2_{n',ab}",
    "3: Psi3_{n,abc} Psi3_{n',abc}",
    "4: Psi2_{n,ab} Psi2_{n',ac} Psi2_{n'',bc}",
    "5: Psi1_{n,a} Psi1_{n',b} Psi2_{n'',ab}",
    "6: Psi3_{n,abc} Psi3_{n',abd} Psi2_{n'',cd}",
    "7: Psi3_{n,abc} Psi2_{n',ab} Psi1_{n'',c}",
)


# ----------------------------------------------------------------------------- reference
def reference_radial(r, z_i, z_j, beta, cutoff, n_basis, r_min):
    """R_n(r) for n = 0..N_r-1 of one pair (centre species z_i, neighbour species z_j).

    φ_k(r) = (2w/π)^(1/4) exp(-w (r - s_k)^2),  s_k = r_min + k (r_c - r_min)/K,  w = K²/r_c²
    f_c(r) = (cos(π r / r_c) + 1) / 2 for r < r_c, else 0
    R_n(r) = f_c(r) K^(-1/2) Σ_k β[z_i][z_j][n][k] φ_k(r)
    """
    K = n_basis
    width = K**2 / cutoff**2
    centres = [r_min + k * (cutoff - r_min) / K for k in range(K)]
    phi = [(2.0 * width / math.pi) ** 0.25 * math.exp(-width * (r - s) ** 2) for s in centres]
    fc = 0.5 * (math.cos(math.pi * r / cutoff) + 1.0) if r < cutoff else 0.0
    coeff = beta[z_i][z_j]
    return [
        fc / math.sqrt(K) * sum(coeff[n][k] * phi[k] for k in range(K)) for n in range(len(coeff))
    ]


def reference_moments(positions, species, beta, cutoff, n_basis, r_min):
    """Cartesian moments Ψ^L_{i,n} = Σ_{j≠i, r_ij<r_c} R_n(r_ij) û_ij^{⊗L}, L = 0..3.

    r_ij = r_i - r_j (Eq. (2) of the paper), û = r_ij / |r_ij|, so û^{⊗L} = r_ij^{⊗L} / r^L.
    ``beta`` is nested lists [z_centre][z_neighbour][n][k].  Returns, per atom, the tuple
    (Ψ⁰[n], Ψ¹[n][a], Ψ²[n][a][b], Ψ³[n][a][b][c]) as nested lists.
    """
    pos = [list(map(float, p)) for p in positions]
    n_radial = len(beta[0][0])
    out = []
    for i in range(len(pos)):
        p0 = [0.0] * n_radial
        p1 = [[0.0] * 3 for _ in range(n_radial)]
        p2 = [[[0.0] * 3 for _ in C3] for _ in range(n_radial)]
        p3 = [[[[0.0] * 3 for _ in C3] for _ in C3] for _ in range(n_radial)]
        for j in range(len(pos)):
            if j == i:
                continue
            d = [pos[i][a] - pos[j][a] for a in C3]
            r = math.sqrt(sum(x * x for x in d))
            if r >= cutoff:
                continue
            u = [x / r for x in d]
            R = reference_radial(r, int(species[i]), int(species[j]), beta, cutoff, n_basis, r_min)
            for n in range(n_radial):
                p0[n] += R[n]
                for a in C3:
                    p1[n][a] += R[n] * u[a]
                    for b in C3:
                        p2[n][a][b] += R[n] * u[a] * u[b]
                        for c in C3:
                            p3[n][a][b][c] += R[n] * u[a] * u[b] * u[c]
        out.append((p0, p1, p2, p3))
    return out


def contraction(family, idx, psi):
    """One full contraction (family, radial indices idx) of one atom's moments ``psi``."""
    p0, p1, p2, p3 = psi
    if family == 0:
        (n,) = idx
        return p0[n]
    if family == 1:
        n, m = idx
        return sum(p1[n][a] * p1[m][a] for a in C3)
    if family == 2:
        n, m = idx
        return sum(p2[n][a][b] * p2[m][a][b] for a in C3 for b in C3)
    if family == 3:
        n, m = idx
        return sum(p3[n][a][b][c] * p3[m][a][b][c] for a in C3 for b in C3 for c in C3)
    if family == 4:
        n, m, t = idx
        return sum(p2[n][a][b] * p2[m][a][c] * p2[t][b][c] for a in C3 for b in C3 for c in C3)
    if family == 5:
        n, m, t = idx
        return sum(p1[n][a] * p1[m][b] * p2[t][a][b] for a in C3 for b in C3)
    if family == 6:
        n, m, t = idx
        return sum(
            p3[n][a][b][c] * p3[m][a][b][d] * p2[t][c][d]
            for a in C3
            for b in C3
            for c in C3
            for d in C3
        )
    if family == 7:
        n, m, t = idx
        return sum(p3[n][a][b][c] * p2[m][a][b] * p1[t][c] for a in C3 for b in C3 for c in C3)
    raise ValueError(family)


def kept_indices(n_radial):
    """Per family, the radial-index tuples kept (symmetry-unique), in feature order."""
    N = range(n_radial)
    pairs = [(n, m) for n in N for m in N if n <= m]
    return [
        [(n,) for n in N],
        pairs,
        pairs,
        pairs,
        [(n, m, t) for n in N for m in N for t in N if n <= m <= t],
        [(n, m, t) for (n, m) in pairs for t in N],
        [(n, m, t) for (n, m) in pairs for t in N],
        [(n, m, t) for n in N for m in N for t in N],
    ]


def feature_labels(n_radial):
    """(family, index within family, radial indices) of every feature, in order."""
    return [
        (f, k, idx)
        for f, tuples in enumerate(kept_indices(n_radial))
        for k, idx in enumerate(tuples)
    ]


def reference_descriptor(positions, species, beta, cutoff, n_basis, r_min):
    """Reference features (n_atoms, n_features) from positions and species indices."""
    moments = reference_moments(positions, species, beta, cutoff, n_basis, r_min)
    labels = feature_labels(len(beta[0][0]))
    return np.array([[contraction(f, idx, psi) for f, _, idx in labels] for psi in moments])


# ----------------------------------------------------------------------------- helpers
SETTINGS = {
    # n_species, cutoff, n_basis, n_radial, r_min
    "paper": (3, 4.0, 7, 5, 0.5),
    "small": (3, 3.0, 4, 3, 0.8),
}


def beta_as_nested(descriptor):
    """β variable (Z_c * n_species + Z_nb, n, k) as nested lists [Z_c][Z_nb][n][k]."""
    s = descriptor.n_species
    b = descriptor.beta.numpy()
    return b.reshape(s, s, descriptor.n_radial, descriptor.n_basis).tolist()


def make_descriptor(setting, beta_kind, seed=0):
    n_species, cutoff, n_basis, n_radial, r_min = SETTINGS[setting]
    desc = GaussianMoments(n_species, cutoff, n_basis, n_radial, r_min, dtype=tf.float64, seed=seed)
    if beta_kind == "random":  # wider than the U(-1, 1) init, and certainly not symmetric
        rng = np.random.default_rng(1000 + seed)
        desc.beta.assign(rng.normal(scale=1.5, size=desc.beta.shape))
    return desc


def code_features(desc, positions, species, all_pairs=False, shuffle=None):
    """The descriptor's features, pairs built here: r_ij = r_j - r_i as in the potential.

    ``all_pairs`` passes every i != j pair (those beyond the cutoff must contribute 0);
    ``shuffle`` (a Generator) permutes the pair list (unsorted centre indices).
    """
    pos = np.asarray(positions, dtype=np.float64)
    n = len(pos)
    i, j = np.nonzero(~np.eye(n, dtype=bool))
    if not all_pairs:
        keep = np.linalg.norm(pos[j] - pos[i], axis=1) < desc.cutoff
        i, j = i[keep], j[keep]
    if shuffle is not None:
        order = shuffle.permutation(len(i))
        i, j = i[order], j[order]
    sp = np.asarray(species, dtype=np.int32)
    r_ij = pos[j] - pos[i]
    out = desc(r_ij, i.astype(np.int32), sp[i], sp[j], n)
    return np.asarray(out)


def assert_features_match(code, ref, n_radial, rtol=1e-10, scale_tol=1e-12, context=""):
    """Every feature of every atom: |code - ref| <= rtol |ref| + scale_tol max_family |ref|.

    The second term is relative to the largest value of the same family on the same atom,
    so that an atom whose only neighbour sits near the cutoff (tiny features) is still
    compared relatively; an atom without neighbours must give exact zeros.
    """
    labels = feature_labels(n_radial)
    assert code.shape == ref.shape, f"{context}shape {code.shape} != reference {ref.shape}"
    family = np.array([f for f, _, _ in labels])
    bad = []
    for atom in range(ref.shape[0]):
        for f in range(8):
            cols = np.nonzero(family == f)[0]
            scale = np.max(np.abs(ref[atom, cols]))
            for col in cols:
                c, r = code[atom, col], ref[atom, col]
                if not abs(c - r) <= rtol * abs(r) + scale_tol * scale:
                    bad.append((atom, col, c, r))
    if bad:
        lines = []
        for atom, col, c, r in bad[:25]:
            f, k, idx = labels[col]
            lines.append(
                f"  atom {atom}, family {FAMILY_NAMES[f]}, feature {k} of the family "
                f"(global {col}), radial indices {idx}: code {c:.15g}, reference {r:.15g}"
            )
        fams = sorted({labels[col][0] for _, col, _, _ in bad})
        pytest.fail(
            f"{context}{len(bad)} of {ref.size} features disagree (families {fams}):\n"
            + "\n".join(lines)
        )


def random_molecule(rng, n_atoms, n_species_used, half_box=1.6, min_dist=0.7):
    """Random positions in a cube (some pairs beyond a 3-4 Å cutoff), no clashes."""
    while True:
        pos = rng.uniform(-half_box, half_box, size=(n_atoms, 3))
        d = np.linalg.norm(pos[:, None] - pos[None], axis=-1) + 10 * np.eye(n_atoms)
        if d.min() > min_dist:
            break
    species = rng.permutation(np.resize(np.arange(n_species_used), n_atoms))
    return pos, species


def edge_molecule(rng, cutoff):
    """Atom 0 whose only neighbour (1) sits just inside the cutoff, atom 3 just beyond the
    cutoff from atom 0 and with no neighbour at all, and a small cluster (1, 2, 4)."""
    e1 = rng.normal(size=3)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(e1, rng.normal(size=3))
    e2 /= np.linalg.norm(e2)
    pos = np.array(
        [
            np.zeros(3),
            0.995 * cutoff * e1,  # pair (0, 1) near the cutoff
            0.995 * cutoff * e1 + 1.1 * e2,
            -1.002 * cutoff * e1,  # pair (0, 3) just beyond the cutoff: atom 3 is isolated
            0.995 * cutoff * e1 + 0.9 * e1 - 0.4 * e2,
        ]
    )
    pos += rng.normal(size=3)
    return pos, np.array([1, 0, 2, 1, 0])


def molecules(cutoff):
    rng = np.random.default_rng(7)
    return {
        "3 atoms HCO": random_molecule(rng, 3, 3),
        "5 atoms CH": random_molecule(rng, 5, 2),
        "7 atoms HCO": random_molecule(rng, 7, 3),
        "edge cases": edge_molecule(rng, cutoff),
    }


# ----------------------------------------------------------------------------- tests
@pytest.mark.parametrize("setting", sorted(SETTINGS))
@pytest.mark.parametrize("beta_kind", ["init", "random"])
def test_descriptor_matches_reference_value_by_value(setting, beta_kind):
    desc = make_descriptor(setting, beta_kind, seed=3)
    beta = beta_as_nested(desc)
    n_species, cutoff, n_basis, n_radial, r_min = SETTINGS[setting]
    shuffle = np.random.default_rng(11)
    for name, (pos, species) in molecules(cutoff).items():
        ref = reference_descriptor(pos, species, beta, cutoff, n_basis, r_min)
        for all_pairs in (False, True):
            code = code_features(desc, pos, species, all_pairs=all_pairs, shuffle=shuffle)
            assert_features_match(
                code,
                ref,
                n_radial,
                context=f"[{setting}, β {beta_kind}, {name}, all_pairs={all_pairs}] ",
            )


def test_edge_cases_are_nontrivial():
    """The edge molecule really has a near-cutoff-only atom, an isolated atom, mixed species."""
    n_species, cutoff, n_basis, n_radial, r_min = SETTINGS["paper"]
    pos, species = molecules(cutoff)["edge cases"]
    d = np.linalg.norm(pos[:, None] - pos[None], axis=-1) + 1e3 * np.eye(len(pos))
    assert np.sum(d[0] < cutoff) == 1 and 0.99 * cutoff < d[0, 1] < cutoff
    assert cutoff < d[0, 3] < 1.01 * cutoff and np.all(d[3] > cutoff)
    desc = make_descriptor("paper", "random")
    ref = reference_descriptor(pos, species, beta_as_nested(desc), cutoff, n_basis, r_min)
    assert np.all(ref[3] == 0.0)
    assert 0 < np.max(np.abs(ref[0])) < 1e-3 * np.max(np.abs(ref[2]))
    assert len(set(species.tolist())) == 3


def test_batched_molecules_and_species_mapping_through_the_model():
    """All molecules in one call through the model's own pair construction (Z -> index)."""
    from ase import Atoms

    from gmnn.model import GMNN
    from gmnn.model.batch import atoms_inputs

    model = GMNN(species=[1, 6, 8], cutoff=4.0, hidden=(4,), dtype="float64", seed=5)
    rng = np.random.default_rng(2)
    model.descriptor.beta.assign(rng.uniform(-1, 1, size=model.descriptor.beta.shape))
    beta = beta_as_nested(model.descriptor)
    numbers = np.array([1, 6, 8])
    for name, (pos, species) in molecules(4.0).items():
        atoms = Atoms(numbers=numbers[species], positions=pos)
        inp = atoms_inputs(model, atoms)
        p, sp = inp["positions"], inp["species"]
        pi, pj = inp["pair_i"], inp["pair_j"]
        code = np.asarray(model.descriptor(p[pj] - p[pi], pi, sp[pi], sp[pj], len(atoms)))
        ref = reference_descriptor(pos, species, beta, 4.0, 7, 0.5)
        assert_features_match(code, ref, 5, context=f"[model inputs, {name}] ")

    # one call for all molecules together (global atom indices)
    desc = make_descriptor("paper", "random", seed=4)
    beta = beta_as_nested(desc)
    mols = list(molecules(4.0).values())
    offsets = np.cumsum([0] + [len(p) for p, _ in mols])
    pos_all = np.concatenate([p + 100.0 * k for k, (p, _) in enumerate(mols)])
    sp_all = np.concatenate([s for _, s in mols])
    code = code_features(desc, pos_all, sp_all)
    for k, (pos, species) in enumerate(mols):
        ref = reference_descriptor(pos, species, beta, 4.0, 7, 0.5)
        assert_features_match(
            code[offsets[k] : offsets[k + 1]], ref, 5, context=f"[batched, molecule {k}] "
        )


def _random_rotation(rng):
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def test_reference_is_invariant_and_its_moments_equivariant():
    n_species, cutoff, n_basis, n_radial, r_min = SETTINGS["paper"]
    rng = np.random.default_rng(5)
    beta = rng.normal(size=(n_species, n_species, n_radial, n_basis)).tolist()
    pos, species = random_molecule(rng, 6, 3)
    ref = reference_descriptor(pos, species, beta, cutoff, n_basis, r_min)
    for _ in range(2):
        Q = _random_rotation(rng)
        perm = rng.permutation(len(pos))
        moved = (pos @ Q.T + rng.normal(size=3))[perm]
        rot = reference_descriptor(moved, species[perm], beta, cutoff, n_basis, r_min)
        np.testing.assert_allclose(rot, ref[perm], rtol=1e-9, atol=1e-11 * np.abs(ref).max())
        # equivariance of the moments themselves: Ψ^L -> Q^{⊗L} Ψ^L
        m0 = reference_moments(pos, species, beta, cutoff, n_basis, r_min)
        m1 = reference_moments(pos @ Q.T, species, beta, cutoff, n_basis, r_min)
        for (a0, a1, a2, a3), (b0, b1, b2, b3) in zip(m0, m1, strict=True):
            np.testing.assert_allclose(b0, a0, atol=1e-12)
            np.testing.assert_allclose(b1, np.einsum("ia,na->ni", Q, a1), atol=1e-12)
            np.testing.assert_allclose(b2, np.einsum("ia,jb,nab->nij", Q, Q, a2), atol=1e-12)
            np.testing.assert_allclose(
                b3, np.einsum("ia,jb,kc,nabc->nijk", Q, Q, Q, a3), atol=1e-12
            )
    # not trivially invariant: a different geometry gives different features in every family
    pos2 = pos.copy()
    pos2[0] += 0.2
    other = reference_descriptor(pos2, species, beta, cutoff, n_basis, r_min)
    labels = feature_labels(n_radial)
    for f in range(8):
        cols = [c for c, (fam, _, _) in enumerate(labels) if fam == f]
        assert np.abs(other[0, cols] - ref[0, cols]).max() > 1e-6, FAMILY_NAMES[f]


def test_reference_dropped_index_tuples_are_duplicates():
    """Dedup is lossless: every dropped tuple equals a kept one; family 7 is not symmetric;
    the counts give 360 features for N_r = 5."""
    n_species, cutoff, n_basis, n_radial, r_min = SETTINGS["paper"]
    rng = np.random.default_rng(6)
    beta = rng.normal(size=(n_species, n_species, n_radial, n_basis)).tolist()
    pos, species = random_molecule(rng, 4, 3)
    psi = reference_moments(pos, species, beta, cutoff, n_basis, r_min)[0]
    kept = kept_indices(n_radial)
    N = range(n_radial)
    assert [len(k) for k in kept] == [5, 15, 15, 15, 35, 75, 75, 125]
    assert sum(len(k) for k in kept) == 360
    for f in (1, 2, 3, 4, 5, 6):
        kept_f = set(kept[f])
        for idx in itertools.product(N, repeat=2 if f <= 3 else 3):
            canon = tuple(sorted(idx)) if f == 4 else tuple(sorted(idx[:2])) + idx[2:]
            assert canon in kept_f
            v, w = contraction(f, idx, psi), contraction(f, canon, psi)
            assert v == pytest.approx(w, rel=1e-10, abs=1e-12), (FAMILY_NAMES[f], idx)
    asym = [
        abs(contraction(7, (n, m, t), psi) - contraction(7, (m, n, t), psi))
        for n in N
        for m in N
        for t in N
    ]
    assert max(asym) > 1e-6


def test_reference_primitives_are_normalised():
    """∫ φ_k(r)^2 dr = 1 for the (2w/π)^(1/4) prefactor (w = K²/r_c²)."""
    _, cutoff, n_basis, _, r_min = SETTINGS["paper"]
    w = n_basis**2 / cutoff**2
    r = np.linspace(-20, 30, 200001)
    # β = e_k picks one primitive: R_0 / (f_c K^(-1/2)) = φ_k; check φ_k via the reference
    for k in (0, n_basis - 1):
        beta = [[[[1.0 if kk == k else 0.0 for kk in range(n_basis)]]]]
        x = 0.37 * cutoff
        fc = 0.5 * (math.cos(math.pi * x / cutoff) + 1)
        phi_x = reference_radial(x, 0, 0, beta, cutoff, n_basis, r_min)[0] / fc * math.sqrt(n_basis)
        s_k = r_min + k * (cutoff - r_min) / n_basis
        phi = (2 * w / math.pi) ** 0.25 * np.exp(-w * (r - s_k) ** 2)
        assert phi_x == pytest.approx((2 * w / math.pi) ** 0.25 * math.exp(-w * (x - s_k) ** 2))
        assert np.trapezoid(phi**2, r) == pytest.approx(1.0, rel=1e-8)
