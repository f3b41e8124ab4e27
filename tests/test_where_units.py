"""benchmarks/where_units.py: replaying a saved state while counting the WhereNet's firing fc3 units."""

import csv
import math

import pytest
import torch
import torch.nn.functional as F
import where_units  # benchmarks/where_units.py (conftest puts benchmarks/ on sys.path)
from conftest import TINY

from trainables import MosaicSpec, StageSchedule, StageWiseTrainer, TrainConfig, load_cifar


def tiny_trainer(images, **options) -> StageWiseTrainer:
    """What first, k = 1: epoch 1 what, 2 where, 3 what, 4 where; 4 batches an epoch."""
    config = TrainConfig(
        mosaic=MosaicSpec(n_train=TINY["n_train"], n_test=TINY["n_test"]),
        schedule=StageSchedule("what_first", 1, 4),
        batch_size=TINY["batch_size"],
        **options,
    )
    return StageWiseTrainer(config, images, "cpu")


def firing_by_hand(trainer: StageWiseTrainer) -> int:
    """fc3 units with a positive pre-activation on some tile of the whole test set, layer by layer."""
    where, test = trainer.nets["where"], trainer.sets["test"]
    with torch.no_grad():
        x = test.patches(torch.arange(len(test))).flatten(0, 1)
        x = where.pool(F.relu(where.conv2(where.pool(F.relu(where.conv1(x)))))).flatten(1)
        hidden = where.fc3(F.relu(where.fc2(F.relu(where.fc1(x)))))
    return int((hidden > 0).sum(0).gt(0).sum())


def test_replay_trains_as_the_run_would_and_counts_every_where_step(synthetic_cifar_dir, tmp_path, capsys):
    images = load_cifar(synthetic_cifar_dir, verify=False)
    trainer = tiny_trainer(images)
    trainer.run_epoch()
    state = tmp_path / "state.pt"
    torch.save(trainer.state_dict(), state)
    straight = [trainer.run_epoch() for _ in range(3)]  # the run going on, not watched

    out = tmp_path / "replay.csv"
    argv = [str(state), "--epochs", "3", "--data-dir", str(synthetic_cifar_dir), "--no-verify", "--out", str(out)]
    assert where_units.main(argv) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("epoch 1: ") and len(printed) == 4
    steps = list(csv.DictReader(open(out)))
    # a where step after every batch of the two where epochs (40 mosaics in batches of 10), none in the what epoch
    assert [(int(s["epoch"]), int(s["step"])) for s in steps] == [(2, i) for i in range(1, 5)] + [
        (4, i) for i in range(5, 9)
    ]
    assert all(0 < int(s["live_units"]) <= 10 and float(s["grad_norm"]) > 0 for s in steps)
    # the first where step starts the momentum buffer from its gradient; later ones carry it on
    assert float(steps[0]["momentum_norm"]) == pytest.approx(float(steps[0]["grad_norm"]), rel=1e-12)
    assert float(steps[1]["momentum_norm"]) != pytest.approx(float(steps[1]["grad_norm"]), rel=1e-3)

    # watching changes nothing: the replay's epochs are those of the run going on by itself
    again = tiny_trainer(images)
    again.load(state)
    steps, rows = where_units.replay(again, 3, probe=TINY["n_test"])
    # the probe is the whole test set here: after an epoch's last step it is what the epoch's evaluation saw
    assert steps[-1]["probe_fg_alpha"] == pytest.approx(rows[-1]["test_fg_alpha"], rel=1e-6)
    assert steps[-1]["live_units"] == firing_by_hand(again)
    for mine, theirs in zip(rows, straight, strict=True):
        assert {k: v for k, v in mine.items() if k not in ("epoch_s", "mosaics_per_s")} == {
            k: v for k, v in theirs.items() if k not in ("epoch_s", "mosaics_per_s")
        }
    assert "momentum_buffer" in again.optimizers["where"].state_dict()["state"][0]
    assert "step" not in vars(again.optimizers["where"])  # the optimiser's own step again


def test_with_no_fc3_unit_firing_attention_is_uniform_and_gets_no_gradient(synthetic_cifar_dir):
    """The dead where network of Table 1 row 6: once no fc3 unit fires, nothing brings one back."""
    trainer = tiny_trainer(load_cifar(synthetic_cifar_dir, verify=False))
    trainer.run_epoch()  # the what epoch
    where = trainer.nets["where"]
    with torch.no_grad():
        where.fc3.weight.zero_()
        where.fc3.bias.fill_(-1.0)
    steps, rows = where_units.replay(trainer, 1, probe=TINY["n_test"])
    assert rows[0]["phase"] == "where" and len(steps) == 4
    # nothing reaches fc1-fc3 (their ReLU passes no gradient); fc4 moves all scores alike, which changes no alpha
    assert all(s["live_units"] == 0 and s["grad_norm"] < 1e-6 for s in steps)
    assert all(s["probe_fg_alpha"] == pytest.approx(1 / 9, abs=1e-7) for s in steps)
    assert rows[0]["test_fg_alpha"] == pytest.approx(1 / 9, abs=1e-7)
    assert where.fc3.bias.eq(-1.0).all()  # no step moved it


def test_an_optimiser_without_momentum_replays_with_no_momentum_norm(synthetic_cifar_dir):
    """RMSprop (the alternation space's optimiser) keeps no momentum buffer."""
    trainer = tiny_trainer(load_cifar(synthetic_cifar_dir, verify=False), optimizer="rmsprop", what_lr=1e-3)
    trainer.run_epoch()
    steps, rows = where_units.replay(trainer, 1, probe=TINY["n_test"])
    assert len(steps) == 4 and all(math.isnan(s["momentum_norm"]) and s["grad_norm"] > 0 for s in steps)
    assert "momentum_buffer" not in str(trainer.optimizers["where"].state_dict())


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--epochs", "0"], "--epochs: must be a positive integer, got 0"),
        (["--probe", "0"], "--probe: must be a positive integer, got 0"),
        ([], "has no optimiser state (a published slim state?)"),
        (["--missing"], "cannot read training state"),
    ],
)
def test_bad_input_is_refused_in_one_line(tmp_path, capsys, argv, message):
    state = tmp_path / "slim.pt"
    torch.save({"config": {}, "nets": {}}, state)  # a published slim state: no optimiser
    if argv == ["--missing"]:
        state, argv = tmp_path / "no-such-state.pt", []
    with pytest.raises(SystemExit) as exc:
        where_units.main([str(state), *argv])
    last = capsys.readouterr().err.strip().splitlines()[-1]  # argparse: its usage, then one line
    assert exc.value.code == 2 and "error:" in last and message in last, last
