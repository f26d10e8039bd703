"""The CLI as a hostile user meets it (reliability issue, classes 1-3), in-process:

1. a resume only ever continues its own run: ``gmnn train``/``finetune``/``md`` in the
   folder of another run (other data, settings, model, start structure) exit 2 saying
   what differs; ``--restart`` starts over and ends as a fresh run would;
2. a damaged checkpoint or trajectory to resume from is one error naming the file and
   what to delete (``--restart`` starts over);
3. every file that cannot be read (model, weights, data, split, structure) is one line
   ``gmnn <command>: error: <path>: <what is wrong>`` with exit code 2 and no
   traceback; ``gmnn --debug`` shows the traceback.
"""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
from _damage import cut, json_edit, zip_of
from _synthetic import emt_structures
from ase.io import write

from gmnn.cli import main
from gmnn.data import make_split, save_split, write_h5

TRAIN = ["--n-train", "8", "--n-valid", "4", "--epochs", "1", "--batch-size", "4"]
TRAIN += ["--no-progress"]
SMALL = ["--hidden", "8", "--n-radial", "2"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Two small data sets, two tiny models, start structures and a split."""
    from gmnn.io import save_model
    from gmnn.model import GMNN
    from gmnn.model.config import ModelConfig

    d = tmp_path_factory.mktemp("cli")
    a = emt_structures("CH3OH", n=12, seed=0)
    write_h5(a, d / "a.h5")
    write_h5(emt_structures("CH3OH", n=12, seed=1), d / "b.h5")
    for seed in (0, 1):
        model = GMNN([1, 6, 8], ModelConfig(hidden=(8,), n_radial=2), seed=seed)
        model.energy_scale.assign(0.02)
        save_model(model, d / f"m{seed}")
    write(d / "start.xyz", a.atoms(0))
    write(d / "start2.xyz", a.atoms(1))
    save_split(make_split(12, 8, 4, n_test=0), d / "split.json")
    save_split(make_split(30, 8, 4, n_test=0), d / "split30.json")
    return d


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def refused(capsys, *argv, names=(), code=2):
    """Run a command that must fail: the exit code, no traceback, the message naming
    everything in ``names``; returns the message."""
    rc, _, err = run(capsys, *argv)
    command = argv[1] if argv[0] == "--debug" else argv[0]
    assert rc == code, err
    assert "Traceback" not in err, err
    assert err.startswith(f"gmnn {command}: error: "), err
    for name in names:
        assert str(name) in err, (name, err)
    return err


def weights(path):
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


# ---------------------------------------------------------------- class 1: whose run


@pytest.fixture(scope="module")
def first_run(files, tmp_path_factory):
    out = tmp_path_factory.mktemp("first") / "out"
    assert main(["train", "--data", str(files / "a.h5"), "--out", str(out), *TRAIN, *SMALL]) == 0
    return out


@pytest.mark.parametrize(
    ("change", "differs"),
    [
        (["--data", "b.h5", "--cutoff", "5.0"], ["data.train:", "model.config.cutoff: 4.0"]),
        (["--data", "b.h5"], ["data.train:", "data.valid:"]),
        (["--cutoff", "5.0"], ["model.config.cutoff: 4.0 before, now 5.0"]),
        (["--seed", "3"], ["training.seed: 0 before, now 3", "model.initial_weights"]),
        (["--epochs", "2"], ["training.epochs: 1 before, now 2"]),
        (["--loss", "E"], ["training.loss: 'EF' before, now 'E'"]),
        (["--lr", "nn=0.5"], ["training.learning_rates"]),
        (["--hidden", "16"], ["model.config.hidden"]),
    ],
    ids=["data+cutoff", "data", "cutoff", "seed", "epochs", "loss", "lr", "hidden"],
)
def test_train_refuses_the_checkpoint_of_another_run(
    files, first_run, tmp_path, capsys, change, differs
):
    out = shutil.copytree(first_run, tmp_path / "out")
    args = {"--data": str(files / "a.h5"), "--hidden": "8", "--n-radial": "2"}
    args.update(dict(zip(change[::2], change[1::2], strict=True)))
    args["--data"] = str(files / args["--data"]) if "/" not in args["--data"] else args["--data"]
    argv = ["train", "--out", out, *TRAIN, *[x for kv in args.items() for x in kv]]
    err = refused(capsys, *argv, names=[out / "checkpoint.npz", "--restart", *differs])
    assert "checkpoint of a different run" in err


def test_train_restart_ends_with_the_new_runs_weights(files, first_run, tmp_path, capsys):
    out = shutil.copytree(first_run, tmp_path / "out")
    new = ["--data", files / "b.h5", *TRAIN, *SMALL, "--cutoff", "5.0"]
    refused(capsys, "train", "--out", out, *new, names=["model.config.cutoff"])
    assert run(capsys, "train", "--out", out, *new, "--restart")[0] == 0
    assert run(capsys, "train", "--out", tmp_path / "fresh", *new)[0] == 0
    restarted, fresh = (
        weights(out / "model/weights.npz"),
        weights(tmp_path / "fresh/model/weights.npz"),
    )
    assert sorted(restarted) == sorted(fresh)
    for k in fresh:
        np.testing.assert_array_equal(restarted[k], fresh[k], err_msg=k)
    meta = json.loads((out / "model/model.json").read_text())
    assert meta["config"]["cutoff"] == 5.0 and meta["provenance"]["data"] == str(files / "b.h5")
    # the same command again resumes its own (finished) run: same weights
    assert run(capsys, "train", "--out", out, *new)[0] == 0
    again = weights(out / "model/weights.npz")
    for k in fresh:
        np.testing.assert_array_equal(again[k], fresh[k], err_msg=k)


def test_finetune_refuses_another_run_and_restarts(files, tmp_path, capsys):
    out = tmp_path / "ft"
    base = ["finetune", "--out", out, *TRAIN]
    assert run(capsys, *base, "--pretrained", files / "m0", "--data", files / "a.h5")[0] == 0
    refused(
        capsys,
        *base,
        "--pretrained",
        files / "m0",
        "--data",
        files / "b.h5",
        names=[out / "checkpoint.npz", "data.train"],
    )
    refused(
        capsys,
        *base,
        "--pretrained",
        files / "m1",
        "--data",
        files / "a.h5",
        names=[out / "checkpoint.npz", "model.initial_weights"],
    )
    refused(
        capsys,
        *base,
        "--pretrained",
        files / "m0",
        "--data",
        files / "a.h5",
        "--mode",
        "linear_probe",
        names=["training.learning_rates"],
    )
    rc, _, _ = run(
        capsys, *base, "--pretrained", files / "m1", "--data", files / "b.h5", "--restart"
    )
    assert rc == 0
    meta = json.loads((out / "model/model.json").read_text())
    assert meta["provenance"]["finetune"]["pretrained"] == str(files / "m1")


def md_args(files, tmp_path, *extra):
    return [
        "--structure",
        files / "start.xyz",
        "--steps",
        "20",
        "--write-interval",
        "2",
        "--checkpoint-interval",
        "10",
        "--temperature-K",
        "100",
        "--trajectory",
        tmp_path / "md.traj",
        "--checkpoint",
        tmp_path / "md.ckpt.npz",
        *extra,
    ]


@pytest.fixture
def md_run(files, tmp_path, capsys):
    """A finished 20-step run whose checkpoint (step 10, 6 frames) is still there."""
    rc, out, _ = run(capsys, "md", "--model", files / "m0", *md_args(files, tmp_path))
    assert rc == 0 and json.loads(out)["frames"] == 11
    assert (tmp_path / "md.ckpt.npz").exists()
    return tmp_path


@pytest.mark.parametrize(
    ("models", "change", "differs"),
    [
        (["m1"], [], ["model.weights:"]),
        (["m0", "m1"], [], ["model."]),
        (["m0"], ["--structure", "start2.xyz"], ["start.sha256"]),
        (["m0"], ["--temperature-K", "300"], ["dynamics.temperature_K: 100.0 before, now 300.0"]),
        (["m0"], ["--seed", "7"], ["dynamics.seed"]),
        (["m0"], ["--timestep-fs", "0.25"], ["dynamics.timestep_fs"]),
    ],
    ids=["other model", "ensemble", "structure", "temperature", "seed", "timestep"],
)
def test_md_refuses_the_checkpoint_of_another_run(files, md_run, capsys, models, change, differs):
    extra = [files / v if v.endswith(".xyz") else v for v in change]
    argv = ["md", "--model", *[files / m for m in models], *md_args(files, md_run), *extra]
    # argparse keeps the last of a repeated option: the change wins
    refused(capsys, *argv, names=[md_run / "md.ckpt.npz", "--restart", *differs])
    rc, out, _ = run(capsys, *argv, "--restart")
    assert rc == 0 and json.loads(out)["resumed_from_step"] == 0
    # the restarted run is now the one in the folder: the same command resumes it
    rc, out, _ = run(capsys, *argv)
    assert rc == 0 and json.loads(out)["resumed_from_step"] == 10


# ---------------------------------------------------------------- class 2: damaged resume


def _rewrite_npz(change):
    def rewrite(path):
        arrays = weights(path)
        change(arrays)
        np.savez(path, **arrays)

    return rewrite


CHECKPOINT_DAMAGES = {
    "truncated": (cut(), "(truncated or damaged?)"),
    "empty": (lambda p: p.write_bytes(b""), "empty or truncated"),
    "garbage": (lambda p: p.write_bytes(os.urandom(2000)), "damaged checkpoint"),
    "no state": (_rewrite_npz(lambda a: a.pop("state")), "no member 'state'"),
    "state not JSON": (
        _rewrite_npz(lambda a: a.update(state=np.array("{"))),
        "member 'state' is not valid JSON",
    ),
    "state incomplete": (
        _rewrite_npz(lambda a: a.update(state=np.array('{"step": 1}'))),
        "'state' lacks",
    ),
    "weight reshaped": (
        _rewrite_npz(lambda a: a.update({"model/shift": np.zeros(9)})),
        "weight shift: shape (9,)",
    ),
    "weight dropped": (_rewrite_npz(lambda a: a.pop("model/scale")), "weights lack ['scale']"),
    "no adam step": (_rewrite_npz(lambda a: a.pop("adam/t")), "no member 'adam/t'"),
}


@pytest.mark.parametrize("damage", CHECKPOINT_DAMAGES, ids=list(CHECKPOINT_DAMAGES))
def test_train_names_a_damaged_checkpoint_and_restarts(files, first_run, tmp_path, capsys, damage):
    out = shutil.copytree(first_run, tmp_path / "out")
    ck = out / "checkpoint.npz"
    damage_it, problem = CHECKPOINT_DAMAGES[damage]
    damage_it(ck)
    argv = ["train", "--data", files / "a.h5", "--out", out, *TRAIN, *SMALL]
    err = refused(capsys, *argv, names=[f"{ck}: damaged checkpoint", f"Delete {ck}", problem])
    assert "BadZipFile" not in err
    assert run(capsys, *argv, "--restart")[0] == 0
    fresh = weights(first_run / "model/weights.npz")
    for k, v in weights(out / "model/weights.npz").items():
        np.testing.assert_array_equal(v, fresh[k], err_msg=k)


def _mid_frame(fraction):
    """Cut the trajectory inside a frame (``fraction`` of its length, not a boundary)."""

    def damage(path):
        data = path.read_bytes()
        per_frame = len(data) / 11
        path.write_bytes(data[: int(per_frame * fraction)])

    return damage


MD_DAMAGES = {  # name -> (file, damage, what the message says)
    "checkpoint truncated": ("md.ckpt.npz", cut(), "(truncated or damaged?)"),
    "checkpoint empty": ("md.ckpt.npz", lambda p: p.write_bytes(b""), "empty or truncated"),
    "checkpoint no momenta": (
        "md.ckpt.npz",
        _rewrite_npz(lambda a: a.pop("momenta")),
        "no member 'momenta'",
    ),
    "checkpoint positions 2-D": (
        "md.ckpt.npz",
        _rewrite_npz(lambda a: a.update(positions=np.zeros((6, 2)))),
        "member 'positions' is float64 (6, 2), expected shape (6, 3)",
    ),
    "checkpoint rng garbage": (
        "md.ckpt.npz",
        _rewrite_npz(lambda a: a.update(rng=np.array('{"bit_generator": "nope"}'))),
        "member 'rng' is not a random-generator state",
    ),
    "checkpoint step text": (
        "md.ckpt.npz",
        _rewrite_npz(lambda a: a.update(step=np.array("ten"))),
        "member 'step'",
    ),
    "trajectory cut inside frame 4": ("md.traj", _mid_frame(3.5), "md.traj is unreadable"),
    "trajectory cut inside frame 1": ("md.traj", _mid_frame(0.5), "md.traj"),
    "trajectory missing": ("md.traj", lambda p: p.unlink(), "md.traj is missing"),
}


@pytest.mark.parametrize("damage", MD_DAMAGES, ids=list(MD_DAMAGES))
def test_md_names_a_damaged_resume_point_and_restarts(files, md_run, capsys, damage):
    name, damage_it, problem = MD_DAMAGES[damage]
    damage_it(md_run / name)
    argv = ["md", "--model", files / "m0", *md_args(files, md_run)]
    err = refused(capsys, *argv, names=[problem, f"Delete {md_run / 'md.ckpt.npz'}"])
    assert "BadZipFile" not in err
    rc, out, _ = run(capsys, *argv, "--restart")
    assert rc == 0 and json.loads(out)["resumed_from_step"] == 0
    assert json.loads(out)["frames"] == 11


def test_md_resumes_past_a_frame_cut_beyond_its_checkpoint(files, md_run, capsys):
    """Frames after the checkpoint's are cut away anyway: a kill in the middle of
    writing frame 10 (the checkpoint has 6) resumes, and the trajectory is whole."""
    from ase.io import Trajectory

    _mid_frame(9.5)(md_run / "md.traj")
    rc, out, _ = run(capsys, "md", "--model", files / "m0", *md_args(files, md_run))
    summary = json.loads(out)
    assert rc == 0 and summary["resumed_from_step"] == 10 and summary["frames"] == 11
    with Trajectory(str(md_run / "md.traj")) as traj:
        assert len(traj) == 11 and traj[10].get_positions().shape == (6, 3)


# ---------------------------------------------------------------- class 3: bad files


EVAL = ["evaluate", "--model", "{d}/m0", "--data", "{d}/a.h5"]
INFO = ["info", "{d}/m0"]
MD = ["md", "--model", "{d}/m0", "--structure", "{d}/start.xyz", "--steps", "4"]
MD += ["--write-interval", "2"]
FT = ["finetune", "--pretrained", "{d}/m0", "--data", "{d}/a.h5", "--out", "{d}/ft", *TRAIN]
TR = ["train", "--data", "{d}/a.h5", "--out", "{d}/tr", *TRAIN, *SMALL]
TR_SPLIT = ["train", "--data", "{d}/a.h5", "--split", "{d}/split.json", "--out", "{d}/tr"]
TR_SPLIT += ["--epochs", "1", "--no-progress", *SMALL]
EV_SPLIT = [*EVAL, "--split", "{d}/split.json", "--subset", "valid"]

# name -> (argv, the file damaged, damage, what the message names after the path)
BAD_FILES = {
    "weights truncated (evaluate)": (EVAL, "m0/weights.npz", cut(), "truncated or damaged"),
    "weights truncated (md)": (MD, "m0/weights.npz", cut(), "truncated or damaged"),
    "weights truncated (finetune)": (FT, "m0/weights.npz", cut(), "truncated or damaged"),
    "weights empty": (EVAL, "m0/weights.npz", lambda p: p.write_bytes(b""), "empty or truncated"),
    "weights junk members": (
        EVAL,
        "m0/weights.npz",
        zip_of({"scale.npy": b"\x93NUMPY\x01\x00junk", "notes.txt": "x"}),
        "member 'scale'",
    ),
    "weights text member": (
        EVAL,
        "m0/weights.npz",
        zip_of({"notes.txt": "x"}),
        "member 'notes.txt' is not a numpy array",
    ),
    "weights lack one": (
        EVAL,
        "m0/weights.npz",
        _rewrite_npz(lambda a: a.pop("shift")),
        "lacks the weights ['shift']",
    ),
    "weights reshaped": (
        MD,
        "m0/weights.npz",
        _rewrite_npz(lambda a: a.update(shift=np.zeros(2))),
        "weight shift: shape (2,)",
    ),
    "weights missing": (EVAL, "m0/weights.npz", lambda p: p.unlink(), "no such file"),
    "model.json truncated (info)": (INFO, "m0/model.json", cut(), "not valid JSON"),
    "model.json truncated (evaluate)": (EVAL, "m0/model.json", cut(), "not valid JSON"),
    "model.json truncated (md)": (MD, "m0/model.json", cut(), "not valid JSON"),
    "model.json garbage": (
        INFO,
        "m0/model.json",
        lambda p: p.write_bytes(os.urandom(64) + b"\xff"),
        "not",
    ),
    "model.json a string": (INFO, "m0/model.json", lambda p: p.write_text('"x"'), "JSON object"),
    "model.json other format": (
        INFO,
        "m0/model.json",
        json_edit(lambda m: m.update(format="schnet")),
        "format 'schnet' is not 'gmnn-model'",
    ),
    "model.json no config": (
        EVAL,
        "m0/model.json",
        json_edit(lambda m: m.pop("config")),
        "key 'config'",
    ),
    "model.json bad cutoff": (
        EVAL,
        "m0/model.json",
        json_edit(lambda m: m["config"].update(cutoff="far")),
        "config: model.cutoff",
    ),
    "model.json unknown setting": (
        MD,
        "m0/model.json",
        json_edit(lambda m: m["config"].update(width=3)),
        "config: model.width: unknown setting",
    ),
    "model dir missing": (INFO, "m0", shutil.rmtree, "no such model directory"),
    "model dir without model.json": (
        EVAL,
        "m0",
        lambda p: (p / "model.json").unlink(),
        "not a gmnn model directory (no model.json)",
    ),
    "data truncated (train)": (TR, "a.h5", cut(), "truncated file"),
    "data truncated (evaluate)": (EVAL, "a.h5", cut(), "truncated file"),
    "data truncated (finetune)": (FT, "a.h5", cut(), "truncated file"),
    "data garbage after HDF5 signature": (
        TR,
        "a.h5",
        lambda p: p.write_bytes(b"\x89HDF\r\n\x1a\n" + os.urandom(3000)),
        "cannot read this HDF5 file",
    ),
    "data empty": (TR, "a.h5", lambda p: p.write_bytes(b""), "empty file"),
    "data missing": (EVAL, "a.h5", lambda p: p.unlink(), "no such file"),
    "data a directory": (TR, "a.h5", lambda p: (p.unlink(), p.mkdir()), "is a directory"),
    "data a damaged zip": (
        TR,
        "a.h5",
        lambda p: p.write_bytes(b"PK\x03\x04" + bytes(64)),
        "truncated or damaged .npz",
    ),
    "data npz junk members": (
        TR,
        "a.h5",
        zip_of({"R.npy": b"\x93NUMPY\x01\x00xx", "z.npy": b"yy"}),
        "member 'R'",
    ),
    "split garbage (train)": (
        TR_SPLIT,
        "split.json",
        lambda p: p.write_text("train: 1, 2"),
        "not valid JSON",
    ),
    "split truncated (evaluate)": (EV_SPLIT, "split.json", cut(), "not valid JSON"),
    "split binary": (TR_SPLIT, "split.json", lambda p: p.write_bytes(b"\x00\xff" * 9), "not"),
    "split text indices": (
        TR_SPLIT,
        "split.json",
        json_edit(lambda s: s.update(train=["a"])),
        "field 'train'",
    ),
    "split missing field": (
        EV_SPLIT,
        "split.json",
        json_edit(lambda s: s.pop("valid")),
        "missing field(s) ['valid']",
    ),
    "split missing": (TR_SPLIT, "split.json", lambda p: p.unlink(), "no such file"),
    "split of another file": (
        TR_SPLIT,
        "split.json",
        lambda p: shutil.copy(p.with_name("split30.json"), p),
        "a split of 30 structures, but",
    ),
    "structure missing": (MD, "start.xyz", lambda p: p.unlink(), "no such file"),
    "structure garbage": (
        MD,
        "start.xyz",
        lambda p: p.write_text("3\nnot a comment line\nH x y z\n"),
        "invalid structure file",
    ),
    "structure empty": (MD, "start.xyz", lambda p: p.write_text(""), "start.xyz: "),
    "structure binary": (MD, "start.xyz", lambda p: p.write_bytes(os.urandom(200)), "start.xyz"),
}


@pytest.mark.parametrize("case", BAD_FILES, ids=list(BAD_FILES))
def test_a_bad_file_is_one_line_naming_it(files, tmp_path, capsys, case):
    template, target, damage, problem = BAD_FILES[case]
    d = shutil.copytree(files, tmp_path / "d")
    damage(d / target)
    argv = [arg.replace("{d}", str(d)) for arg in template]
    err = refused(capsys, *argv, names=[problem])
    first = err.splitlines()[0]
    assert first.startswith(f"gmnn {argv[0]}: error: {d / target}"), first
    assert len(err.strip().splitlines()) == 1, err


def test_debug_shows_the_traceback(files, tmp_path, capsys):
    from gmnn.io import FileError

    d = shutil.copytree(files, tmp_path / "d")
    cut()(d / "m0/weights.npz")
    with pytest.raises(FileError, match="weights.npz: not a valid") as err:
        main(["--debug", "evaluate", "--model", str(d / "m0"), "--data", str(d / "a.h5")])
    assert err.value.__cause__ is not None  # the parser's own error, for the traceback
    assert run(capsys, "evaluate", "--model", d / "m0", "--data", d / "a.h5")[0] == 2


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (
            ["train", "--data", "{d}/a.h5", *TRAIN, "--lr", "nn:1"],
            ["--lr expects GROUP=VALUE, got 'nn:1'"],
        ),
        (["train", "--data", "{d}/a.h5", "--out", "{d}/o"], ["give --split"]),
        (
            ["train", "--data", "{d}/a.h5", "--split", "{d}/split.json", "--n-train", "50"],
            ["--n-train 50 exceeds the 8", "split.json"],
        ),
        (["evaluate", "--model", "{d}/m0", "--data", "{d}/a.h5", "--out", "{d}/a.h5/x"], ["a.h5"]),
    ],
    ids=["lr", "no split", "n-train", "output under a file"],
)
def test_bad_arguments_are_one_line(files, capsys, argv, names):
    argv = [a.replace("{d}", str(files)) for a in argv]
    if argv[0] == "train" and "--out" not in argv:
        argv += ["--out", str(files / "o")]
    refused(capsys, *argv, names=names)


def test_an_unexpected_error_is_one_line_with_exit_1(files, capsys, monkeypatch):
    import gmnn.cli

    def broken(args):
        raise RuntimeError("something no one foresaw")

    monkeypatch.setattr(gmnn.cli, "cmd_info", broken)
    err = refused(capsys, "info", files / "m0", names=["RuntimeError", "--debug"], code=1)
    assert "something no one foresaw" in err


def test_an_interrupted_run_exits_3_and_ctrl_c_130(files, capsys, monkeypatch):
    import gmnn.cli
    from gmnn.train.trainer import TrainingInterrupted

    def interrupted(args):
        raise TrainingInterrupted("training stopped (signal 15) at step 3; rerun to resume")

    def ctrl_c(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(gmnn.cli, "cmd_info", interrupted)
    assert run(capsys, "info", files / "m0")[0] == 3
    monkeypatch.setattr(gmnn.cli, "cmd_info", ctrl_c)
    rc, _, err = run(capsys, "info", files / "m0")
    assert rc == 130 and err == "gmnn info: interrupted\n"
