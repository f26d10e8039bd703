"""Table 1 as Markdown/LaTeX and the Fig. 5 / Fig. 6 plots (gmnn.plots.ani), and the
aggregation and drawing scripts of the ANI rules run on small tables; the embedded
stand-ins named as stand-ins (gmnn.analysis.names) in titles, captions and CSV headers."""

from __future__ import annotations

import json
import math
import runpy
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from _records import error_record

from gmnn.analysis.ani import FIG5, FIG6, TABLE1, ani_tables, fig5_table, fig6_table, table1
from gmnn.analysis.names import ANI_NAMES, AniNames, ani_names
from gmnn.plots import save_figure
from gmnn.plots.ani import plot_fig5, plot_fig6, table1_latex, table1_markdown

REPO = Path(__file__).resolve().parents[2]


def comp6_record(n_train, seed, energy_mae, force_mae=1.0):
    def entry(k):
        return {
            "energy_mae": energy_mae * k,
            "energy_rmse": 1.5 * energy_mae * k,
            "force_mae": force_mae * k,
            "force_rmse": 2 * force_mae * k,
        }

    return {
        "n_train": n_train,
        "seed": seed,
        "subsets": {"s66x8": entry(1.0), "drugbank": entry(2.0)},
        "comp6": entry(1.2),
    }


def records_table1():
    return [
        comp6_record(524288, 0, 1.0),
        comp6_record(524288, 1, 3.0),
        comp6_record(4194304, 0, 0.5),
        comp6_record(4194304, 1, 1.5),
    ]


def test_table1_markdown_numbers_and_note():
    text = table1_markdown(table1(records_table1(), paper=True))
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("| Subset"))
    assert header.split(" | ")[2:4] == ["MAE, 524,288", "MAE, 524,288 (paper)"]
    rows = [line for line in lines if line.startswith("| ") and line != header]
    assert [r.split(" | ")[0] for r in rows] == ["| DrugBank"] * 2 + ["| S66x8"] * 2 + [
        "| COMP6"
    ] * 2
    # COMP6 energy at 524,288: 1.2 x (1, 3): MAE 2.40 ± 1.20 (SEM = std/sqrt 2 = 1.2), paper 2.03
    comp6_energy = rows[4].split(" | ")
    assert comp6_energy[2:6] == ["2.40 ± 1.20", "2.03", "3.60 ± 1.80", "3.02"]
    assert comp6_energy[6:10] == ["1.20 ± 0.60", "1.83", "1.80 ± 0.90", "2.79 |"]
    drug_force = rows[1].split(" | ")
    assert drug_force[1] == "force" and drug_force[7] == "2.61†" and drug_force[9] == "1.55† |"
    assert "† DrugBank force, 4,194,304 training structures: as printed" in text
    assert "over 2 seeds" in text and "Paper values: Zaverkin et al. 2023, Table 1" in text
    plain = table1_markdown(table1(records_table1()))  # without the paper's values
    assert "(paper)" not in plain and "†" not in plain and "| 2.40 ± 1.20 | 3.60 ± 1.80 |" in plain


def test_table1_single_seed_cells_and_latex():
    records = records_table1()[:3]  # 4,194,304: one seed only
    table = table1(records, paper=True)
    md = table1_markdown(table)
    assert "| 0.60 (n=1) | 1.83 |" in md and "2.40 ± 1.20 (n=2)" in md
    tex = table1_latex(table)
    assert "\\multicolumn{2}{c}{524,288} & \\multicolumn{2}{c}{4,194,304}" in tex
    assert "COMP6 & energy & 2.40 $\\pm$ 1.20 (n=2) (2.03) &" in tex
    assert "(2.61$^\\dagger$)" in tex and "$^\\dagger$ DrugBank force" in tex
    assert tex.count("\\\\") == 2 + 6 and tex.endswith("\\end{table}\n")
    with pytest.raises(ValueError, match="no Table 1 rows"):
        table1_markdown(TABLE1.frame())


def fig5_records():
    out = []
    for seed in (0, 1):
        for n in (1024, 8192, 65536):
            out.append(
                {"setting": "scratch_E", "n_train": n, "seed": seed}
                | {"energy_rmse": 30 / n**0.3 + seed, "energy_mae": 1.0}
            )
            for n_pre in (8192, 4194304):
                out.append(
                    {"setting": "finetune_E", "n_train": n, "seed": seed, "n_pretrain": n_pre}
                    | {"energy_rmse": 8 / n**0.2 + 0.1 * seed, "energy_mae": 1.0}
                )
    return out


def fig6_records():
    def rec(setting, n_pre, seed, e, f):
        return error_record(
            setting,
            950,
            seed,
            e + seed,
            f + seed,
            "aspirin",
            energy_mae=e,
            force_mae=f,
            n_pretrain=n_pre,
        )

    tuned = [
        rec(s, n, seed, 4.0 / math.log(n), 9.0 / math.log(n))
        for s in ("finetune_E", "finetune_EF", "finetune_nd_E", "finetune_nd_EF")
        for n in (8192, 524288, 4194304)
        for seed in (0, 1)
    ]
    scratch = [
        rec(s, None, seed, 3.0, 19.5) for s in ("scratch_E", "scratch_EF") for seed in (0, 1)
    ]
    pre = [rec("pretrain", 4194304, seed, 2.0, 2.7) | {"n_offset": 950} for seed in (0, 1)]
    return tuned, scratch, pre


def test_fig5_and_fig6_render(tmp_path):
    FIG5.write(fig5_table(fig5_records()), tmp_path / "fig5.csv")
    fig = plot_fig5(tmp_path / "fig5.csv")
    ax = fig.axes[0]
    labels = ax.get_legend_handles_labels()[1]
    assert labels == [
        "from scratch",
        "fine-tuning (N_pre = 8,192)",
        "fine-tuning (N_pre = 4,194,304)",
    ]
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert ax.lines[0].get_ydata()[0] == pytest.approx(30 / 1024**0.3 + 0.5)
    paths = save_figure(fig, [tmp_path / "fig5.pdf", tmp_path / "fig5.png"])
    assert all(p.stat().st_size > 1000 for p in paths)

    FIG6.write(fig6_table(*fig6_records()), tmp_path / "fig6.csv")
    fig = plot_fig6(tmp_path / "fig6.csv")
    energy, force = fig.axes[:2]
    assert "Energy RMSE" in energy.get_ylabel() and "Force RMSE" in force.get_ylabel()
    colours = [line.get_color() for line in force.lines]
    assert colours.count("red") == 1 and colours.count("black") == 2 and len(force.lines) == 7
    red = next(line for line in force.lines if line.get_color() == "red")
    assert red.get_ydata()[0] == pytest.approx(3.2)  # mean of 2.7 and 3.7
    assert red.get_label() == "pre-trained (N_pre = 4,194,304)"
    paths = save_figure(fig, [tmp_path / "fig6.pdf", tmp_path / "fig6.png"])
    assert all(p.stat().st_size > 1000 for p in paths)
    tuned, scratch, pre = fig6_records()
    with pytest.raises(ValueError, match="no fine-tuned rows"):
        plot_fig6(fig6_table([], scratch, pre))
    with pytest.raises(ValueError, match=r"molecule\(s\) \['ethanol'\]"):
        plot_fig6(tmp_path / "fig6.csv", molecules=["ethanol"])
    with pytest.raises(ValueError, match="metric must be"):
        plot_fig5(tmp_path / "fig5.csv", metric="max")


class Files(list):
    """Snakemake's input/output: a list whose items may also have names."""

    def __init__(self, items=(), **named):
        super().__init__([*items, *named.values()])
        self.__dict__.update(named)


def run_script(name, tmp_path, inputs, outputs, params=None):
    log = tmp_path / "logs" / f"{name}.log"
    log.parent.mkdir(exist_ok=True)
    inp = Files(inputs) if isinstance(inputs, list) else Files(**inputs)
    out = Files(outputs) if isinstance(outputs, list) else Files(**outputs)
    params = {"names": ANI_NAMES["ani"]._asdict(), **(params or {})}  # as rules/ani.smk
    snakemake = SimpleNamespace(
        input=inp, output=out, params=SimpleNamespace(**params), log=[str(log)]
    )
    runpy.run_path(str(REPO / "workflow_scripts" / name), init_globals={"snakemake": snakemake})
    for path in out:
        assert Path(path).stat().st_size > 0, path


def write_records(tmp_path, name, records):
    paths = []
    for i, record in enumerate(records):
        path = tmp_path / f"{name}_{i}.json"
        path.write_text(json.dumps(record))
        paths.append(str(path))
    return paths


def test_aggregate_and_plot_scripts(tmp_path):
    t1 = str(tmp_path / "table1.csv")
    run_script(
        "aggregate_table1.py",
        tmp_path,
        {"metrics": write_records(tmp_path, "comp6", records_table1()), "data": []},
        {"csv": t1},
        {"paper": True, "subsets": []},
    )
    assert TABLE1.read(t1)["paper"].notna().all()
    md, tex = str(tmp_path / "table1.md"), str(tmp_path / "table1.tex")
    run_script("plot_table1.py", tmp_path, {"csv": t1}, {"md": md, "tex": tex})
    assert "| COMP6 | energy | 2.40 ± 1.20 | 2.03 |" in Path(md).read_text()
    assert "2.40 $\\pm$ 1.20 (2.03)" in Path(tex).read_text()

    f5 = str(tmp_path / "fig5.csv")
    embedded = {"names": ani_names("embedded")._asdict()}
    run_script(
        "aggregate_fig5.py",
        tmp_path,
        {"metrics": write_records(tmp_path, "f5", fig5_records())},
        [f5],
        embedded,
    )
    assert len(FIG5.read(f5)) == 9
    header = FIG5.read(f5).attrs["comments"][0]  # the stand-in's level, not CCSD(T)*/CBS
    assert "ωB97X/6-31G* (ANI-1ccx role)" in header and "CCSD" not in header
    run_script(
        "plot_fig5.py",
        tmp_path,
        [f5],
        {"pdf": str(tmp_path / "fig5.pdf"), "png": str(tmp_path / "fig5.png")},
    )

    tuned, scratch, pre = fig6_records()
    f6 = str(tmp_path / "fig6.csv")
    run_script(
        "aggregate_fig6.py",
        tmp_path,
        {
            "finetuned": write_records(tmp_path, "tuned", tuned),
            "scratch": write_records(tmp_path, "scratch", scratch),
            "pretrained": write_records(tmp_path, "pre", pre),
        },
        [f6],
    )
    table = FIG6.read(f6)
    assert sorted(set(table["role"])) == ["finetuned", "pretrained", "scratch"]
    assert np.isnan(table.loc[table["role"] == "scratch", "n_pretrain"]).all()
    run_script(
        "plot_fig6.py",
        tmp_path,
        [f6],
        {"pdf": str(tmp_path / "fig6.pdf"), "png": str(tmp_path / "fig6.png")},
    )


def test_the_embedded_stand_ins_are_named_as_stand_ins():
    """At the embedded scale the titles, captions and CSV headers name the stand-ins by
    level of theory and role; at paper scale the real names stay; one place for both."""
    paper, embedded = ani_names("ani"), ani_names("embedded")
    assert (paper.pretraining, paper.finetuning, paper.benchmark) == (
        "ANI-1x",
        "ANI-1ccx",
        "COMP6 v1",
    )
    assert embedded.pretraining == "GFN2-xTB (ANI-1x role)"
    assert embedded.finetuning == "ωB97X/6-31G* (ANI-1ccx role)"
    assert embedded.benchmark == "held-out GFN2-xTB sets (COMP6 role)"
    assert AniNames.of(embedded._asdict()) == embedded == AniNames.of("embedded")
    assert AniNames.of(None) == paper
    with pytest.raises(ValueError, match="unknown source 'ani2x'"):
        ani_names("ani2x")

    rows = table1(records_table1())
    md = table1_markdown(rows, embedded)
    assert md.startswith(
        "Table 1: errors on held-out GFN2-xTB sets (COMP6 role) of models pre-trained on "
        "GFN2-xTB (ANI-1x role)"
    )
    assert "| all held-out sets (COMP6 role) | energy |" in md
    assert "ANI-1x" not in md.replace("(ANI-1x role)", "")
    assert "COMP6 v1" not in md and "| COMP6 |" not in md
    assert "| COMP6 | energy |" in table1_markdown(rows)  # the paper's names by default
    tex = table1_latex(rows, embedded)
    assert "\\caption{Errors on held-out GFN2-xTB sets (COMP6 role)" in tex
    assert "ω" not in table1_latex(rows, ani_names("ani"))

    fig = plot_fig5(fig5_table(fig5_records()), names=embedded)
    assert fig.axes[0].get_title() == "ωB97X/6-31G* (ANI-1ccx role)"
    assert plot_fig5(fig5_table(fig5_records())).axes[0].get_title() == "ANI-1ccx"
    tuned, scratch, pre = fig6_records()
    fig = plot_fig6(fig6_table(tuned, scratch, pre), names=embedded)
    assert fig.axes[-1].get_xlabel() == "GFN2-xTB (ANI-1x role)\npre-training set size"

    tables = ani_tables(embedded)
    for table, paper_table in zip(tables, (TABLE1, FIG5, FIG6), strict=True):
        assert table.columns == paper_table.columns
        text = " ".join(table.comments)
        assert "ANI-1x role" in text and "CCSD" not in text
        assert "ANI-1x" in " ".join(paper_table.comments)
    assert "CCSD(T)*/CBS" in " ".join(ani_tables("ani").fig5.comments)
