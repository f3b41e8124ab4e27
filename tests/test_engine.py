import math

import pytest
import torch

from trainables import MosaicSpec, StageSchedule, StageWiseTrainer, StateMismatch, TrainConfig

TIMING = {"mosaics_per_s", "epoch_s"}


def small_config(**overrides):
    base = dict(
        mosaic=MosaicSpec(n_train=120, n_test=40, seed=1),
        schedule=StageSchedule("what_first", 2, 8),
        batch_size=50,
        seed=3,
    )
    base.update(overrides)
    return TrainConfig(**base)


def without_timing(history):
    return [{k: v for k, v in row.items() if k not in TIMING} for row in history]


def snapshot(module_or_opt):
    """Every tensor of a module's or optimiser's state (momentum buffers, step counts), plus hyper-parameters."""
    state = module_or_opt.state_dict()
    if "state" in state:
        flat = {f"{i}.{n}": torch.as_tensor(t).clone() for i, v in state["state"].items() for n, t in v.items()}
        flat["param_groups"] = torch.tensor([g["lr"] for g in state["param_groups"]])
        return flat
    return {k: v.clone() for k, v in state.items()}


def same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("order, frozen", [("what_first", "where"), ("where_first", "what")])
def test_frozen_network_and_its_optimiser_do_not_change(fake_images, order, frozen):
    trainer = StageWiseTrainer(small_config(schedule=StageSchedule(order, 1, 4)), fake_images, "cpu")
    active = "what" if frozen == "where" else "where"
    # a first full round so that both optimisers have momentum state
    trainer.run_epoch(), trainer.run_epoch()
    before_net, before_opt = snapshot(trainer.nets[frozen]), snapshot(trainer.optimizers[frozen])
    active_before = snapshot(trainer.nets[active])
    row = trainer.run_epoch()
    assert row["phase"] == active
    assert same(snapshot(trainer.nets[frozen]), before_net)
    assert len(before_opt) > 1 and same(snapshot(trainer.optimizers[frozen]), before_opt)
    assert not same(snapshot(trainer.nets[active]), active_before)
    # no gradient was computed for the frozen network's weights
    assert all(p.grad is None for p in trainer.nets[frozen].parameters())
    assert all(p.grad is not None for p in trainer.nets[active].parameters())


def test_simultaneous_trains_both(fake_images):
    trainer = StageWiseTrainer(small_config(schedule=StageSchedule("simultaneous", 1, 1)), fake_images, "cpu")
    before = {n: snapshot(net) for n, net in trainer.nets.items()}
    assert trainer.run_epoch()["phase"] == "both"
    assert all(not same(snapshot(net), before[n]) for n, net in trainer.nets.items())


def test_metrics_rows_have_every_field_and_the_last_has_a_clean_training_pass(fake_images):
    history = list(StageWiseTrainer(small_config(), fake_images, "cpu").epochs())
    assert [r["epoch"] for r in history] == list(range(1, 9))
    assert [r["phase"] for r in history] == ["what", "what", "where", "where"] * 2
    for row in history:
        for prefix in ("train_", "test_"):
            for m in ("loss", "acc", "ftpt", "ffpt", "ftpf", "ffpf", "alpha_ge_half", "fg_alpha"):
                assert math.isfinite(row[prefix + m])
            parts = sum(row[prefix + f] for f in ("ftpt", "ffpt", "ftpf", "ffpf"))
            assert abs(parts - 1) < 1e-9
            assert abs(row[prefix + "acc"] - row[prefix + "ftpt"] - row[prefix + "ffpt"]) < 1e-9
        assert row["lr_what"] == 0.01 and row["lr_where"] == 0.01 and row["mosaics_per_s"] > 0
    assert all("final_train_acc" not in r for r in history[:-1])
    assert history[-1]["outcome"] == "completed" and "final_train_acc" in history[-1]
    assert [r["outcome"] for r in history[:-1]] == ["running"] * 7


def test_same_seeds_give_identical_metrics(fake_images):
    a = list(StageWiseTrainer(small_config(), fake_images, "cpu").epochs())
    b = list(StageWiseTrainer(small_config(), fake_images, "cpu").epochs())
    c = list(StageWiseTrainer(small_config(seed=4), fake_images, "cpu").epochs())
    assert without_timing(a) == without_timing(b)
    assert without_timing(a) != without_timing(c)


@pytest.mark.parametrize("stop_after", [1, 3, 4])  # inside a phase, at a phase boundary, mid-run
def test_resume_from_saved_state_is_exact(fake_images, tmp_path, stop_after):
    config = small_config()
    uninterrupted = list(StageWiseTrainer(config, fake_images, "cpu").epochs())

    first = StageWiseTrainer(config, fake_images, "cpu")
    for _ in range(stop_after):
        first.run_epoch()
    first.save(tmp_path / "state.pt")
    del first
    resumed = StageWiseTrainer(config, fake_images, "cpu")
    resumed.load(tmp_path / "state.pt")  # torch.load(weights_only=True) inside
    assert resumed.epoch == stop_after
    rest = list(resumed.epochs())
    assert len(rest) == 8 - stop_after
    assert without_timing(resumed.history) == without_timing(uninterrupted)


def test_a_what_phase_runs_the_frozen_where_network_once_per_mosaic_set(fake_images):
    """Its outputs on the training and test mosaics are computed once per what phase, not once per epoch."""
    trainer = StageWiseTrainer(small_config(schedule=StageSchedule("what_first", 2, 8)), fake_images, "cpu")
    mosaics = []  # mosaics the where network saw, per forward call
    trainer.nets["where"].register_forward_hook(lambda module, args, out: mosaics.append(len(args[0])))
    per_epoch = []
    for row in trainer.epochs():
        per_epoch.append((row["phase"], sum(mosaics)))
        mosaics.clear()
    # 120 training mosaics in batches of 50 and 40 test mosaics in one: a what phase's first epoch reads the
    # training mosaics once (the test outputs of the where epoch before it still hold), its second nothing
    assert per_epoch[:4] == [("what", 160), ("what", 0), ("where", 160), ("where", 160)]
    assert per_epoch[4:] == [("what", 120), ("what", 0), ("where", 160), ("where", 160 + 120)]  # + the clean pass


def test_the_kept_where_outputs_equal_the_networks_on_any_batch(fake_images):
    """Kept outputs, computed in set order, equal bit for bit what the where network gives a shuffled batch (as
    the training pass ran it before they were kept): reusing them changes no value of a run."""
    trainer = StageWiseTrainer(small_config(), fake_images, "cpu")
    trainer.run_epoch()
    data, where = trainer.sets["train"], trainer.nets["where"]
    weighted, alphas = trainer.frozen_where("train", 50)
    for idx in torch.randperm(len(data), generator=torch.Generator().manual_seed(0)).split(50):
        with torch.no_grad():
            fresh_weighted, fresh_alphas = where(data.patches(idx))
        assert torch.equal(weighted[idx], fresh_weighted) and torch.equal(alphas[idx], fresh_alphas)


def test_kept_where_outputs_follow_every_change_of_its_weights(fake_images, tmp_path):
    """An optimiser step, a loaded state or any in-place change of the where network's weights makes the next pass
    compute its outputs afresh: a stale copy is never read."""
    config = small_config(schedule=StageSchedule("where_first", 1, 8))
    trainer = StageWiseTrainer(config, fake_images, "cpu")
    trainer.save(tmp_path / "start.pt")
    before = trainer.evaluate("test")
    trainer.run_epoch()  # a where epoch: its optimiser stepped
    assert trainer.evaluate("test") != before
    trainer.load(tmp_path / "start.pt")
    assert trainer.evaluate("test") == before
    with torch.no_grad():
        trainer.nets["where"].fc4.bias.add_(5.0)  # every slot's score alike: the same alphas
        trainer.nets["where"].fc4.weight.mul_(3.0)
    changed = trainer.evaluate("test")
    fresh = StageWiseTrainer(config, fake_images, "cpu")
    fresh.load_state_dict(trainer.state_dict())
    assert changed != before and changed == fresh.evaluate("test")
    where = trainer.nets["where"]
    where.fc4.weight.data = where.fc4.weight.data * 0  # new storage, no version bump: every slot alike, 1/9 each
    assert trainer.evaluate("test")["test_fg_alpha"] == pytest.approx(1 / 9)


def test_state_loads_with_weights_only_and_rejects_another_config(fake_images, tmp_path):
    trainer = StageWiseTrainer(small_config(), fake_images, "cpu")
    trainer.run_epoch()
    trainer.save(tmp_path / "s.pt")
    state = torch.load(tmp_path / "s.pt", weights_only=True)
    assert state["epoch"] == 1 and set(state["nets"]) == {"where", "what"}
    other = StageWiseTrainer(small_config(what_lr=0.02), fake_images, "cpu")
    with pytest.raises(StateMismatch, match="what_lr"):
        other.load(tmp_path / "s.pt")


def test_non_finite_loss_stops_with_diverged_outcome(fake_images):
    trainer = StageWiseTrainer(small_config(), fake_images, "cpu")
    trainer.run_epoch()
    with torch.no_grad():
        trainer.nets["what"].fc4.weight.fill_(math.nan)
    row = trainer.run_epoch()
    assert row["outcome"] == "diverged" and trainer.done
    assert "test_acc" not in row  # no evaluation of meaningless weights
    assert list(trainer.epochs()) == []
    with pytest.raises(RuntimeError, match="diverged"):
        trainer.run_epoch()


def test_huge_learning_rate_diverges_cleanly(fake_images):
    config = small_config(what_lr=1e12, where_lr=1e12, schedule=StageSchedule("simultaneous", 1, 6))
    history = list(StageWiseTrainer(config, fake_images, "cpu").epochs())
    assert history[-1]["outcome"] == "diverged" and len(history) < 6


def test_early_stop_on_training_loss(fake_images):
    history = list(StageWiseTrainer(small_config(stop_train_loss=50.0), fake_images, "cpu").epochs())
    assert len(history) == 1 and history[0]["outcome"] == "early_stopped" and "final_train_acc" in history[0]


def test_plateau_scheduler_steps_only_for_the_active_network(fake_images):
    config = small_config(
        mosaic=MosaicSpec(n_train=120, n_test=40, n_val=40),
        optimizer="rmsprop",
        plateau=True,
        what_lr=1e-3,
        where_lr=1e-3,
        schedule=StageSchedule("what_first", 1, 2),
    )
    trainer = StageWiseTrainer(config, fake_images, "cpu")
    row = trainer.run_epoch()
    assert "val_loss" in row and row["phase"] == "what"
    assert trainer.schedulers["what"].last_epoch == 1 and trainer.schedulers["where"].last_epoch == 0
    trainer.run_epoch()
    assert trainer.schedulers["where"].last_epoch == 1


def test_other_grid_and_heldout_protocol_train(fake_images):
    config = small_config(
        mosaic=MosaicSpec(grid=2, n_train=60, n_test=20, protocol="heldout"),
        schedule=StageSchedule("where_first", 1, 2),
        dtype="float64",
    )
    history = list(StageWiseTrainer(config, fake_images, "cpu").epochs())
    assert history[-1]["outcome"] == "completed"
    assert StageWiseTrainer(config, fake_images, "cpu").sets["test"].images.shape[0] == len(fake_images.test_labels)
