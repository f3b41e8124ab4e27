import pytest

from search_spaces import NOT_PUBLISHED, REGISTRY, SCALES, get_space, smoke_schedule
from trainables import StageSchedule, TrainConfig


def test_table1_rows_are_the_published_ones():
    rows = get_space("table1").trials("paper")
    assert [(r["epochs"], r["k"], r["what_lr"], r["where_lr"]) for r in rows] == [
        (180, 5, 0.01, 0.01),
        (200, 10, 0.01, 0.01),
        (280, 20, 0.01, 0.001),
        (320, 20, 0.01, 0.01),
        (360, 30, 0.01, 0.01),
        (500, 50, 0.01, 0.01),
        (600, 50, 0.001, 0.01),
        (800, 100, 0.001, 0.01),
    ]
    assert {r["order"] for r in rows} == {"what_first"}
    assert all(r["n_train"] == 30000 and r["n_test"] == 10000 and r["batch_size"] == 250 for r in rows)
    space = get_space("table1")
    assert [space.reference(r["experiment"]).test_acc for r in rows] == [0.81, 0.79, 0.43, 0.79, 0.76, 0.41, 0.82, 0.83]
    assert space.reference("table1/1").train_acc == 0.96


def test_table2_is_table1_reversed_without_numbers():
    t1, t2 = get_space("table1").trials("paper"), get_space("table2").trials("paper")
    assert [(a["k"], a["epochs"], a["what_lr"], a["where_lr"]) for a in t1] == [
        (b["k"], b["epochs"], b["what_lr"], b["where_lr"]) for b in t2
    ]
    assert {r["order"] for r in t2} == {"where_first"}
    ref = get_space("table2").reference("table2/1")
    assert not ref.published and ref.source == NOT_PUBLISHED


def test_tables_and_seeds_and_heldout():
    assert get_space("tables").trial_count() == 16 and get_space("tables").total_epochs() == 6480
    assert len(get_space("seeds").trials("paper")) == 80
    assert len(get_space("tables").trials("paper", seeds=3)) == 48
    seeds = get_space("seeds").trials("paper")
    assert {(r["seed"], r["data_seed"]) for r in seeds} == {(s, s) for s in range(5)}
    later = get_space("table1").trials("paper", seeds=2, first_seed=5)  # more seeds of rows run before
    assert [(r["experiment"], r["seed"], r["data_seed"]) for r in later[:3]] == [
        ("table1/1", 5, 5),
        ("table1/1", 6, 6),
        ("table1/2", 5, 5),
    ]
    assert {r["protocol"] for r in get_space("heldout").trials("paper")} == {"heldout"}


@pytest.mark.parametrize("name", list(REGISTRY))
@pytest.mark.parametrize("scale", list(SCALES))
def test_every_trial_of_every_space_and_scale_is_a_valid_config(name, scale):
    space = get_space(name)
    trials = space.trials(scale)
    assert trials and all(t["space"] == name and t["scale"] == scale for t in trials)
    for t in trials:
        TrainConfig.from_flat(t)
    assert space.total_epochs(scale) > 0


def test_smoke_keeps_order_both_phases_and_relative_k():
    paper = get_space("tables").trials("paper")
    smoke = get_space("tables").trials("smoke")
    for p, s in zip(paper, smoke):
        assert p["order"] == s["order"] and p["what_lr"] == s["what_lr"] and p["where_lr"] == s["where_lr"]
        schedule = StageSchedule(s["order"], s["k"], s["epochs"])
        assert {schedule.phase(e) for e in range(s["epochs"])} == {"what", "where"}
        assert s["epochs"] <= 16 and s["n_train"] == 400
    assert smoke[7]["k"] > smoke[0]["k"]  # row 8 (k=100) keeps a larger k than row 1 (k=5)
    assert smoke_schedule("simultaneous", 1, 120) == {"k": 1, "epochs": 4}


def test_alternation_uses_the_rmsprop_protocol_with_published_numbers():
    trials = get_space("alternation").trials("paper")
    assert [(t["order"], t["k"]) for t in trials] == [
        ("what_first", 1),
        ("where_first", 1),
        ("what_first", 20),
        ("where_first", 20),
        ("simultaneous", 1),
    ]
    assert all(
        t["optimizer"] == "rmsprop" and t["plateau"] and t["n_val"] == 10000 and t["stop_train_loss"] == 0.05
        for t in trials
    )
    ref = get_space("alternation").reference("alternation/every20-where")
    assert ref.test_acc == pytest.approx(0.71) and ref.test_focus == pytest.approx((0.4955, 0.2126, 0.0415, 0.2504))


def test_ksweep_k_divides_the_fixed_total():
    trials = get_space("ksweep").trials("paper")
    assert sorted({t["k"] for t in trials}) == [1, 2, 5, 10, 20, 50]
    assert all(t["epochs"] == 200 and 200 % (2 * t["k"]) == 0 for t in trials)


def test_search_samples_only_ks_that_divide_the_epochs():
    space = get_space("search")
    for scale in SCALES:
        base = space.trials(scale)[0]
        k = space.searcher.ray_samplers(base)["k"]
        assert all(base["epochs"] % (2 * c) == 0 for c in k.categories)
        assert base["n_val"] > 0  # ASHA ranks on validation accuracy, never on the test set


def test_subset_and_unknown_space():
    assert [e.label for e in get_space("tables").subset(["table2/*", "table1/3"]).experiments] == ["table1/3"] + [
        f"table2/{i}" for i in range(1, 9)
    ]
    with pytest.raises(KeyError, match="valid spaces: table1, table2, tables"):
        get_space("table3")
