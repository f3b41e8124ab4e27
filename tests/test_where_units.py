"""benchmarks/where_units.py: replaying a saved state while counting the WhereNet's firing fc3 units."""

import csv

import pytest
import torch
import where_units  # benchmarks/where_units.py (conftest puts benchmarks/ on sys.path)
from conftest import TINY

from trainables import MosaicSpec, StageSchedule, StageWiseTrainer, TrainConfig, load_cifar


def tiny_trainer(images) -> StageWiseTrainer:
    """What first, k = 1: epoch 1 what, 2 where, 3 what, 4 where."""
    config = TrainConfig(
        mosaic=MosaicSpec(n_train=TINY["n_train"], n_test=TINY["n_test"]),
        schedule=StageSchedule("what_first", 1, 4),
        batch_size=10,
    )
    return StageWiseTrainer(config, images, "cpu")


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
    assert all(0 <= int(s["live_units"]) <= 10 and float(s["grad_norm"]) > 0 for s in steps)
    assert all(0 < float(s["probe_fg_alpha"]) < 1 for s in steps)

    # watching changes nothing: the replay's epochs are those of the run going on by itself
    again = tiny_trainer(images)
    again.load(state)
    _, rows = where_units.replay(again, 3, probe=TINY["n_test"])
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


def test_a_slim_state_is_refused_in_one_line(tmp_path):
    state = tmp_path / "slim.pt"
    torch.save({"config": {}, "nets": {}}, state)
    with pytest.raises(SystemExit) as exc:
        where_units.main([str(state)])
    assert exc.value.code == 2
