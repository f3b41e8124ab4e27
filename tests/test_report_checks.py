"""What a report says before its numbers (orchestrator/report_checks.py), on hand-made rows: chance, identical
results, the paper's settings, sampled settings, Table 1 / Table 2 pairs, precision. Fast: no Ray, no files."""

import math
from types import SimpleNamespace

import pandas as pd
import pytest
from test_report import chance_rows, epoch_rows, frames, trial_config, trial_row

from orchestrator import aggregate, report_checks, report_text


def results_of(trials: list[tuple[dict, str, list[dict]]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(annotated trial results, epochs) of hand-made trials: (config, trial_id, epoch rows)."""
    epochs, rows = frames(
        [r for _, _, rs in trials for r in rs], [trial_row(c, t, "TERMINATED", "completed") for c, t, _ in trials]
    )
    return report_checks.annotate(aggregate.trial_results(rows, epochs), epochs), epochs


def test_chance_band_is_binomial():
    p, half = report_checks.chance_band(3, 200)
    assert p == pytest.approx(1 / 3) and half == pytest.approx(3 * math.sqrt(1 / 3 * 2 / 3 / 200))
    assert report_checks.chance_band(3, 10_000)[1] == pytest.approx(0.01414, abs=1e-4)
    assert report_checks.classes("horse,ship,truck") == 3 and report_checks.classes("plane,car") == 2


def test_a_trial_that_never_left_chance_is_flagged_and_one_that_learned_is_not():
    at_chance = trial_config("table1/1", 0)
    learned = trial_config("table1/3", 0)
    late = trial_config("table1/7", 0)  # at chance, then left it in the last epoch
    results, _ = results_of(
        [
            (at_chance, "c", chance_rows(epoch_rows(at_chance, "c", [0.3, 0.3], final_train=0.3))),
            (learned, "l", epoch_rows(learned, "l", [0.4, 0.7], final_train=0.9)),
            (
                late,
                "x",
                chance_rows(epoch_rows(late, "x", [0.3, 0.3], final_train=0.3))[:1]
                + epoch_rows(late, "x", [0.3, 0.6], final_train=0.8)[1:],
            ),
        ]
    )
    flags = results.set_index("trial_id")
    assert flags.loc["c", "never_left_chance"] and not flags.loc["l", "never_left_chance"]
    assert not flags.loc["x", "never_left_chance"]
    assert flags.loc["c", "chance_acc"] == pytest.approx(1 / 3)
    evidence = flags.loc["c", "chance_evidence"]
    assert "within 1/3 ± 0.100 (3 binomial sd, n=200) at every epoch" in evidence
    assert "≈ ln 3 = 1.099" in evidence and "alphas uniform" in evidence


def test_accuracy_at_chance_with_a_low_loss_is_not_called_chance():
    config = trial_config("table1/1", 0)
    rows = chance_rows(epoch_rows(config, "o", [0.3, 0.3], final_train=0.9))
    rows[-1]["test_loss"] = 0.6  # fits something: not the loss of a uniform guess
    results, _ = results_of([(config, "o", rows)])
    assert not results.iloc[0]["never_left_chance"]


def test_identical_results_are_found_and_told_apart_from_equal_settings():
    one, two = trial_config("table1/1", 0), trial_config("table1/2", 0)  # the same settings at smoke scale
    three, other = trial_config("table1/3", 0), trial_config("table1/7", 0)
    results, epochs = results_of(
        [
            (one, "a", epoch_rows(one, "a", [0.3, 0.4], final_train=0.5)),
            (two, "b", epoch_rows(two, "b", [0.3, 0.4], final_train=0.5)),
            (three, "c", epoch_rows(three, "c", [0.3, 0.4], final_train=0.5)),
            (other, "d", epoch_rows(other, "d", [0.3, 0.41], final_train=0.5)),
        ]
    )
    assert list(results.identical_to.fillna("-")) == ["table1/1 seed 0"] * 3 + ["-"]
    summary = aggregate.experiment_summary(results)
    groups = report_checks.identical_experiments(summary, report_checks.experiment_fingerprints(results, epochs))
    assert [g.experiments for g in groups] == [("table1/1", "table1/2", "table1/3")]
    assert groups[0].differing == ("where_lr",)  # table1/3's where lr made no difference
    assert report_checks.same_results_as(groups) == {"table1/2": "table1/1", "table1/3": "table1/1"}


def test_settings_a_scale_changed_are_listed_with_the_papers():
    config = trial_config("table1/3", 0)  # smoke: k 20 -> 1, 280 -> 8 epochs, smaller sets and batches
    results, _ = results_of([(config, "a", epoch_rows(config, "a", [0.3], final_train=0.5))])
    summary = aggregate.experiment_summary(results)
    changes = report_checks.settings_changes(summary, {}).iloc[0]
    assert (changes.paper_epochs, changes.paper_k, changes.paper_where_lr) == (280, 20, 0.001)
    assert {c[0]: (c[1], c[2]) for c in changes.changed} == {
        "k": (20, 1),
        "epochs": (280, 8),
        "batch_size": (250, 100),
        "n_train": (30_000, 400),
        "n_test": (10_000, 200),
    }
    assert report_checks.change_text(changes.changed[2:3]) == "batch_size 100 (paper 250)"
    paper = trial_config("table1/3", 0, scale="paper")
    results, _ = results_of([(paper, "p", epoch_rows(paper, "p", [0.3], final_train=0.5))])
    assert report_checks.settings_changes(aggregate.experiment_summary(results), {}).iloc[0].changed == []


def test_a_paper_labelled_row_with_other_settings_is_not_compared_with_the_published_numbers():
    # a space file written at smoke scale and run as it is: labelled paper, with smoke's sizes and epochs
    relabelled = {**trial_config("table1/3", 0), "scale": "paper"}
    bf16 = {**trial_config("table1/1", 0, scale="paper"), "precision": "bf16"}  # only the arithmetic differs
    results, epochs = results_of(
        [(c, t, epoch_rows(c, t, [0.3], final_train=0.5)) for c, t in ((relabelled, "a"), (bf16, "b"))]
    )
    published = pd.DataFrame({"experiment": ["table1/1", "table1/3"], "ref_test_acc": [0.81, 0.43]})
    summary = aggregate.experiment_summary(results, published)
    assert summary.test_acc_diff.notna().all()  # by scale alone, both would compare
    findings = report_checks.findings(results, epochs, summary, [{"name": "r", "scale": "paper"}])
    diffs = summary.set_index("experiment").test_acc_diff
    assert math.isnan(diffs["table1/3"]) and diffs["table1/1"] == pytest.approx(0.3 - 0.81)
    assert findings.banner[0].startswith("Not the paper's settings: `table1/3` ran at scale paper with k 1 (paper 20)")
    assert "orientation only" in findings.banner[-1] and len(findings.banner) == 2


def test_a_cpu_seed_from_before_the_precision_field_groups_with_later_seeds():
    """Runs older than `precision` left it null: on CPU (which ignores it) that is fp32, and the seeds are one
    experiment; on a GPU it stays unknown (PyTorch let convolutions use TF32), a setting of its own."""
    old, new = (trial_config("table1/1", seed) for seed in (0, 1))
    old_rows, new_rows = epoch_rows(old, "o", [0.4, 0.8]), epoch_rows(new, "n", [0.4, 0.7])
    for row in [*old_rows, old]:
        row["precision"] = None
    results, _ = results_of([(old, "o", old_rows), (new, "n", new_rows)])
    assert results["precision"].tolist() == ["fp32", "fp32"]
    assert aggregate.experiment_summary(results)["seeds"].tolist() == [2]
    for row in old_rows:
        row["device"] = "cuda (NVIDIA H200)"
    epochs, trials = frames([*old_rows, *new_rows], [trial_row(old, "o", "TERMINATED", "completed")])
    trials["device"] = "cuda (NVIDIA H200)"
    on_gpu = aggregate.trial_results(trials, epochs).set_index("trial_id")
    assert pd.isna(on_gpu.loc["o", "precision"]) and on_gpu.loc["n", "precision"] == "fp32"


def test_banner_only_below_paper_scale():
    summary = pd.DataFrame(
        {"scale": ["smoke"], "space": ["tables"], "n_train": [400], "n_test": [200], "batch_size": [100]}
    )
    banner = report_checks.scale_banner(summary, [{"name": "tables-smoke", "scale": "smoke"}])
    assert banner[0].startswith("Not paper scale: run `tables-smoke` ran with 400 train / 200 test mosaics, batch 100")
    assert "orientation only" in banner[1]
    assert report_checks.scale_banner(summary.assign(scale="paper"), []) == []


def test_a_search_is_recognised_with_log_axes_for_learning_rates():
    base = {**trial_config("table1/1", 0), "experiment": "search/random", "space": "search"}
    samples = [{**base, "what_lr": lr, "where_lr": lr / 2, "k": k} for lr, k in ((1e-3, 1), (2e-2, 2), (5e-4, 1))]
    results, _ = results_of(
        [(s, f"s{i}", epoch_rows(s, f"s{i}", [0.3], final_train=0.5)) for i, s in enumerate(samples)]
    )
    (group,) = report_checks.sampled_groups(aggregate.experiment_summary(results))
    assert group.keys == ("k", "what_lr", "where_lr") and group.log_keys == ("what_lr", "where_lr")
    assert len(group.experiments) == 3
    # the rows of a table are not samples, even when they differ
    table = [trial_config(label, 0) for label in ("table1/1", "table1/3")]
    results, _ = results_of([(c, f"t{i}", epoch_rows(c, f"t{i}", [0.3], final_train=0.5)) for i, c in enumerate(table)])
    assert report_checks.sampled_groups(aggregate.experiment_summary(results)) == []


def test_table1_and_table2_rows_are_paired_by_setting():
    summary = pd.DataFrame(
        {
            "experiment_id": ["table1/1", "table1/2", "table2/1", "heldout-table1/1", "heldout-table2/1", "table2/9"],
            "order": ["what_first", "what_first", "where_first", "what_first", "where_first", "where_first"],
            "scale": ["smoke"] * 6,
        }
    )
    pairs = report_checks.order_pairs(summary)
    assert list(pairs) == ["table", "heldout-table"]
    assert [(p.row, p.what_first, p.where_first) for p in pairs["table"]] == [("1", "table1/1", "table2/1")]
    assert pairs["heldout-table"][0].where_first == "heldout-table2/1"


def test_precision_says_dtype_and_recorded_precision_and_handles_its_absence():
    cpu = pd.DataFrame({"dtype": ["float32", "float32"], "device": ["cpu", "cpu"]})
    assert report_checks.precision_text(cpu) == "float32 (strict fp32) on cpu (2 trials)"
    gpu = pd.DataFrame({"dtype": ["float32"], "device": ["cuda:0"]})
    assert "TF32 use not recorded" in report_checks.precision_text(gpu)
    recorded = gpu.assign(precision=["tf32"])
    assert report_checks.precision_text(recorded) == "float32 (TF32 matmuls and convolutions) on cuda:0 (1 trial)"
    # worded as on CPU, so that a table of CPU and GPU trials says "strict fp32" for both
    assert report_checks.precision_text(gpu.assign(precision=["fp32"])) == "float32 (strict fp32) on cuda:0 (1 trial)"
    assert "(bf16 autocast forward" in report_checks.precision_text(gpu.assign(precision=["bf16"]))
    assert report_checks.precision_text(cpu.assign(precision="fp32")) == "float32 (strict fp32) on cpu (2 trials)"
    assert "precision tf32 applies on CUDA only" in report_checks.precision_text(cpu.assign(precision="tf32"))
    assert report_checks.precision_text(pd.DataFrame({"dtype": ["float64"], "device": ["cpu"]})) == (
        "float64 on cpu (1 trial)"
    )
    # runs combined: one made before the precision column existed, one after; the same arithmetic, said once
    mixed = pd.DataFrame({"dtype": ["float32", "float32"], "device": ["cpu", "cpu"], "precision": [None, "fp32"]})
    assert report_checks.precision_text(mixed) == "float32 (strict fp32) on cpu (2 trials)"


def test_a_seed_run_twice_is_flagged_and_not_taken_for_a_seed_without_effect():
    first, again = trial_config("table1/1", 0, run="gpu"), trial_config("table1/1", 0, run="cpu")
    other = trial_config("table1/1", 1, run="gpu")
    results, _ = results_of(
        [
            (first, "a", epoch_rows(first, "a", [0.3, 0.4], final_train=0.5)),
            (again, "b", epoch_rows(again, "b", [0.3, 0.4], final_train=0.5)),  # the same seed, the same numbers
            (other, "c", epoch_rows(other, "c", [0.3, 0.5], final_train=0.6)),
        ]
    )
    assert report_checks.repeated_seeds(results) == {results.experiment_id[0]: ["seed 0 (runs cpu, gpu)"]}
    assert report_checks.identical_seeds(results) == {}  # one seed repeating itself says nothing about seeds
    assert aggregate.experiment_summary(results).seeds.tolist() == [3]  # counted as it is, and flagged


def _findings(results: pd.DataFrame, epochs: pd.DataFrame) -> tuple[report_checks.Findings, pd.DataFrame]:
    """The report's findings over `results`, and its experiment summary by experiment_id (flag counts included)."""
    summary = aggregate.experiment_summary(results)
    return report_checks.findings(results, epochs, summary, []), summary.set_index("experiment_id")


def _flag_paragraph(found: report_checks.Findings, results: pd.DataFrame) -> list[str]:
    """The report's flag lines (report_text.flag_lines) of these findings, no trial unfinished."""
    return report_text.flag_lines(SimpleNamespace(findings=found, problems=pd.DataFrame(), results=results))


def test_each_dated_flag_check_adds_the_columns_its_entry_names():
    config = trial_config("table1/5", 0)
    results, epochs = results_of([(config, "a", epoch_rows(config, "a", [0.4, 0.8, 0.85]))])
    for flag in report_checks.DATED_FLAGS:
        assert list(flag.check(results, epochs)) == [f"{flag.prefix}_at", f"{flag.prefix}_after", flag.evidence]
        assert flag.column in _findings(results, epochs)[1].columns


def _attention(rows: list[dict], alphas: list[float], phases: str | None = None) -> list[dict]:
    """Set each epoch's test attention: mean foreground alpha a, and mosaics with a largest alpha >= 0.5 only when
    a is off uniform; `phases`: one letter per epoch (w: what, W: where), else the schedule's."""
    for i, (row, a) in enumerate(zip(rows, alphas)):
        row.update({"test_fg_alpha": a, "test_alpha_ge_half": 0.0 if not abs(a - 1 / 9) >= 1e-3 else 0.4})
        if phases:
            row["phase"] = {"w": "what", "W": "where"}[phases[i]]
    return rows


def test_attention_that_became_uniform_for_good_is_flagged_with_its_epoch():
    dead, learning, recovered, frozen, at_start = (trial_config(f"table1/{n}", 0) for n in (5, 4, 6, 1, 2))
    init = 1 / 9 + 2e-5  # a fresh WhereNet: near uniform, not exactly
    uniform = 1 / 9 + 1e-9
    results, epochs = results_of(
        [
            (dead, "d", _attention(epoch_rows(dead, "d", [0.4, 0.8, 0.45, 0.46]), [init, 0.6, 1 / 9, uniform], "wWWw")),
            (
                learning,
                "l",
                _attention(epoch_rows(learning, "l", [0.4, 0.5, 0.7, 0.8]), [init, init, 0.3, 0.6], "wWWw"),
            ),
            (recovered, "r", _attention(epoch_rows(recovered, "r", [0.4, 0.8, 0.4, 0.8]), [init, 0.6, 1 / 9, 0.5])),
            # exactly uniform only while the where network was frozen: nothing shows it died
            (frozen, "f", _attention(epoch_rows(frozen, "f", [0.4, 0.5, 0.4, 0.4]), [init, 0.3, 1 / 9, 1 / 9], "wWww")),
            # dead from its first where epoch on, never having looked anywhere (no alpha before: NaN)
            (at_start, "s", _attention(epoch_rows(at_start, "s", [0.4, 0.4, 0.4]), [math.nan, 1 / 9, 1 / 9], "wWW")),
        ]
    )
    flags = results.set_index("trial_id")
    assert flags.loc["d", "collapsed_at"] == 3 and flags.loc["d", "collapsed_after"] == 2
    assert flags.loc["s", "collapsed_at"] == 2
    assert flags.loc[["l", "r", "f"], "collapsed_at"].isna().all()
    evidence = flags.loc["d", "collapse_evidence"]
    assert "= 1/9 to within 1e-06, no mosaic with an alpha >= 0.5) from epoch 3 to 4" in evidence
    assert "after a foreground alpha of 0.600 at epoch 2; test acc 0.800 at epoch 2, 0.460 at the end" in evidence
    assert "after a foreground alpha" not in flags.loc["s", "collapse_evidence"]  # its only alpha before is NaN
    findings, by_id = _findings(results, epochs)
    assert sorted(findings.dated["collapsed"]["trial_id"]) == ["d", "s"]
    assert by_id.loc["table1/5", "collapsed"] == 1 and by_id.loc["table1/4", "collapsed"] == 0
    assert report_text.flags_cell(by_id.loc["table1/5"]) == "attention collapsed"
    assert report_text.trial_flags(flags.loc["d"]) == "attention collapsed at epoch 3"
    (paragraph,) = _flag_paragraph(findings, results)
    assert paragraph.startswith(
        "Attention collapsed: 2 of 5 finished trials (table1/2 seed 0, table1/5 seed 0) ended with a where network "
        "that scores every tile (almost) alike; their final numbers are a what network's on averages of the tiles, "
        "not the method's. E.g. table1/2 seed 0: "
    )
    assert report_text.trial_flags(flags.loc["l"]) == "-"


def test_attention_left_near_uniform_after_attending_is_flagged_and_never_attending_is_not():
    """A where network with a few live units left (Table 1 row 6, seed 4: alpha 0.111556, 0.0005 of the mosaics at an
    alpha >= 0.5) collapsed as surely as a dead one; one that never attended ends as near uniform without collapsing
    (Table 1 row 3), and attention 0.002 off uniform, or on one tile in 0.002 of the mosaics, is no collapse."""
    near = 1 / 9 + 4.45e-4
    cases = {  # trial id: (alphas, shares of mosaics with a largest alpha >= 0.5), phases wWwW
        "a": ([0.3, 0.6, near, near], [0.2, 0.6, 0.0005, 0.0005]),  # attended, then near uniform: collapsed at 3
        "n": ([1 / 9 + 2e-5, 0.115, near, near], [0.0, 0.0, 0.0005, 0.0005]),  # never attended: not flagged
        "o": ([0.3, 0.6, 1 / 9 + 2e-3, 1 / 9 + 2e-3], [0.2, 0.6, 0.0, 0.0]),  # too far off uniform
        "h": ([0.3, 0.6, near, near], [0.2, 0.6, 0.002, 0.002]),  # too many mosaics on one tile
    }
    configs = [trial_config(f"table1/{n}", 0) for n in range(1, len(cases) + 1)]
    trials = []
    for config, (trial_id, (alphas, shares)) in zip(configs, cases.items()):
        rows = epoch_rows(config, trial_id, [0.5, 0.8, 0.42, 0.41])
        for row, alpha, share, phase in zip(rows, alphas, shares, ("what", "where", "what", "where")):
            row.update({"test_fg_alpha": alpha, "test_alpha_ge_half": share, "phase": phase})
        trials.append((config, trial_id, rows))
    flags = results_of(trials)[0].set_index("trial_id")
    assert flags.loc["a", "collapsed_at"] == 3 and flags.loc["a", "collapsed_after"] == 2
    assert flags.loc[["n", "o", "h"], "collapsed_at"].isna().all()
    assert (
        "test attention uniform to within 0.001 (mean foreground alpha 0.111556, 1/9 = 0.111111; a largest alpha "
        ">= 0.5 in 0.0005 of the mosaics) from epoch 3 to 4, after a foreground alpha of 0.600 at epoch 2"
        in flags.loc["a", "collapse_evidence"]
    )


def test_a_collapse_seen_only_at_phase_ends_is_dated_between_the_kept_epochs():
    config = trial_config("table1/5", 0)
    rows = _attention(epoch_rows(config, "d", [0.5, 0.8, 0.45]), [0.3, 0.6, 1 / 9], "wWW")
    for row, epoch in zip(rows, (10, 20, 30)):
        row["epoch"] = epoch
    results, _ = results_of([(config, "d", rows)])
    trial = results.iloc[0]
    assert (trial["collapsed_at"], trial["collapsed_after"]) == (30, 20)
    assert "from between epochs 21 and 30 to 30" in trial["collapse_evidence"]
    assert report_text.trial_flags(trial) == "attention collapsed by epoch 30"


def test_no_collapse_check_without_the_attention_columns():
    config = trial_config("table1/5", 0)
    rows = epoch_rows(config, "d", [0.4, 0.8])
    results, epochs = results_of([(config, "d", rows)])
    checks = report_checks.collapse_checks(results, epochs.drop(columns=["test_fg_alpha"]))
    assert checks["collapsed_at"].isna().all() and (checks["collapse_evidence"] == "").all()


def _focus(rows: list[dict], attention: list[tuple[float, float]], phases: str) -> list[dict]:
    """Set each epoch's (mean foreground alpha, share of mosaics with a largest alpha >= 0.5) and phase (w/W)."""
    for row, (alpha, sharp), phase in zip(rows, attention, phases):
        row.update({"test_fg_alpha": alpha, "test_alpha_ge_half": sharp, "phase": {"w": "what", "W": "where"}[phase]})
    return rows


def test_attention_saturated_away_from_the_foreground_for_good_is_flagged_with_its_epoch():
    stuck, right, passing, nearly, frozen = (trial_config(f"table1/{n}", 0) for n in (5, 4, 6, 1, 2))
    learned = [(0.3, 0.4), (0.6, 0.8)]
    results, epochs = results_of(
        [
            (
                stuck,
                "s",
                _focus(epoch_rows(stuck, "s", [0.4, 0.8, 0.44, 0.4]), [*learned, (0.19, 1), (0.106, 1)], "wWWw"),
            ),
            # sharp on the foreground tile: what training is for
            (right, "r", _focus(epoch_rows(right, "r", [0.4, 0.8, 0.85]), [*learned, (0.78, 1.0)], "wWW")),
            # saturated for an epoch, then back: nothing stuck for good
            (
                passing,
                "p",
                _focus(epoch_rows(passing, "p", [0.4, 0.5, 0.8]), [(0.3, 0.4), (0.1, 1), (0.6, 0.8)], "wWW"),
            ),
            (nearly, "n", _focus(epoch_rows(nearly, "n", [0.4, 0.8, 0.5]), [*learned, (0.1, 0.98)], "wWW")),
            (frozen, "f", _focus(epoch_rows(frozen, "f", [0.4, 0.8, 0.5]), [*learned, (0.1, 1.0)], "wWw")),
        ]
    )
    flags = results.set_index("trial_id")
    assert (flags.loc["s", "saturated_at"], flags.loc["s", "saturated_after"]) == (3, 2)
    assert flags.loc[["r", "p", "n", "f"], "saturated_at"].isna().all()
    assert flags["collapsed_at"].isna().all() and flags["fell_at"].isna().all()
    assert flags.loc["s", "saturation_evidence"] == (
        "test attention on one tile away from the foreground (a largest alpha >= 0.5 in 1.000 of the mosaics, mean "
        "foreground alpha 0.106; uniform: 1/9 = 0.111) from epoch 3 to 4, after a foreground alpha of 0.600 at epoch "
        "2; test acc 0.800 at epoch 2, 0.400 at the end"
    )
    found, by_id = _findings(results, epochs)
    assert found.dated["saturated"]["trial_id"].tolist() == ["s"]
    assert by_id.loc["table1/5", "saturated"] == 1 and by_id.loc["table1/4", "saturated"] == 0
    assert report_text.flags_cell(by_id.loc["table1/5"]) == "attention saturated"
    assert report_text.trial_flags(flags.loc["s"]) == "attention saturated at epoch 3"
    assert _flag_paragraph(found, results) == [
        "Attention saturated: 1 of 5 finished trials (table1/5 seed 0) ended with a where network that puts most of "
        "its attention on one tile of every mosaic, seldom the foreground tile; their final numbers are a what "
        "network's on mostly wrong tiles, not the method's. E.g. table1/5 seed 0: "
        f"{flags.loc['s', 'saturation_evidence']}."
    ]
    assert report_text.trial_flags(flags.loc["r"]) == "-"


def test_saturation_on_a_2x2_grid_needs_the_foreground_below_its_uniform_share():
    """On 2x2 mosaics 2/tiles is 0.5, what working attention reaches: the bound there is 0.25, uniform's share."""
    working, stuck = ({**trial_config(f"table1/{n}", 0), "grid": 2} for n in (4, 5))
    learned = [(0.3, 0.4), (0.6, 0.8)]
    results, _ = results_of(
        [
            (working, "w", _focus(epoch_rows(working, "w", [0.4, 0.8, 0.8]), [*learned, (0.48, 1.0)], "wWW")),
            (stuck, "s", _focus(epoch_rows(stuck, "s", [0.4, 0.8, 0.5]), [*learned, (0.24, 1.0)], "wWW")),
        ]
    )
    flags = results.set_index("trial_id")
    assert pd.isna(flags.loc["w", "saturated_at"]) and flags.loc["s", "saturated_at"] == 3
    assert "uniform: 1/4 = 0.250" in flags.loc["s", "saturation_evidence"]


def _at_chance_from(rows: list[dict], first: int, loss: float = math.log(3)) -> list[dict]:
    """From epoch `first` on: test accuracy 1/3 and test loss `loss` (ln 3: a what network answering one class)."""
    for row in rows[first - 1 :]:
        row.update({"test_acc": 1 / 3, "test_loss": loss})
    return rows


def test_a_trial_that_learned_then_fell_back_to_chance_for_good_is_flagged_with_its_epoch():
    fell, wrong, dipped, never = (trial_config(f"table1/{n}", 0) for n in (5, 4, 6, 1))
    dip = epoch_rows(dipped, "d", [0.4, 0.8, 0.3, 0.8])
    dip[2].update({"test_acc": 1 / 3, "test_loss": math.log(3)})
    results, epochs = results_of(
        [
            (fell, "f", _at_chance_from(epoch_rows(fell, "f", [0.4, 0.8, 0.7, 0.3, 0.3]), 4)),
            # at chance's accuracy but confidently wrong (loss far from ln 3): not a network answering one class
            (wrong, "w", _at_chance_from(epoch_rows(wrong, "w", [0.4, 0.8, 0.3, 0.3]), 3, loss=14.8)),
            # at chance for an epoch, then learning again: nothing stopped for good
            (dipped, "d", dip),
            (never, "n", chance_rows(epoch_rows(never, "n", [0.3, 0.3, 0.3], final_train=0.3))),  # chance_checks' case
        ]
    )
    flags = results.set_index("trial_id")
    assert (flags.loc["f", "fell_at"], flags.loc["f", "fell_after"]) == (4, 3)
    assert flags.loc[["w", "d", "n"], "fell_at"].isna().all() and flags.loc["n", "never_left_chance"]
    evidence = flags.loc["f", "fall_evidence"]
    assert evidence.startswith("test acc 0.333 within 1/3 ± ") and "of ln 3 = 1.099 from epoch 4 to 5" in evidence
    assert evidence.endswith("after a test acc of 0.800 at epoch 2")
    found, by_id = _findings(results, epochs)
    assert found.dated["fell"]["trial_id"].tolist() == ["f"]
    assert by_id.loc["table1/5", "fell_to_chance"] == 1 and by_id.loc["table1/4", "fell_to_chance"] == 0
    assert report_text.flags_cell(by_id.loc["table1/5"]) == "fell back to chance"
    assert report_text.trial_flags(flags.loc["f"]) == "fell back to chance at epoch 4"
    assert any(
        line.startswith(
            "Fell back to chance: 1 of 4 finished trials (table1/5 seed 0) learned, then ended at chance; their final "
            "numbers say the networks stopped working, not what the method reaches. E.g. table1/5 seed 0: test acc"
        )
        for line in _flag_paragraph(found, results)
    )
    assert report_text.trial_flags(flags.loc["w"]) == "-"

    # kept at phase ends only (epochs 10, 20, ...): it fell somewhere after the last kept epoch above chance
    kept = _at_chance_from(epoch_rows(fell, "p", [0.4, 0.8, 0.3]), 3)
    for row, epoch in zip(kept, (10, 20, 30)):
        row["epoch"] = epoch
    trial = results_of([(fell, "p", kept)])[0].iloc[0]
    assert (trial["fell_at"], trial["fell_after"]) == (30, 20)
    assert "from between epochs 21 and 30 to 30" in trial["fall_evidence"]
    assert report_text.trial_flags(trial) == "fell back to chance by epoch 30"
