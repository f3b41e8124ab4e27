"""benchmarks/replay_run.py: a recorded trial's first epochs, trained again by the code as it is now."""

import pandas as pd
import replay_run  # benchmarks/replay_run.py (conftest puts benchmarks/ on sys.path)
from conftest import TINY

from trainables import MosaicSpec, StageSchedule, StageWiseTrainer, TrainConfig, load_cifar


def recorded_run(folder, images, epochs: int = 4):
    """A run folder as a sweep writes it, of one trial (where first, k = 1) trained `epochs` of its 6 epochs."""
    config = TrainConfig(
        mosaic=MosaicSpec(n_train=TINY["n_train"], n_test=TINY["n_test"]),
        schedule=StageSchedule("where_first", 1, 6),
        batch_size=TINY["batch_size"],
        seed=2,
    )
    trainer = StageWiseTrainer(config, images, "cpu")
    rows = [trainer.run_epoch() for _ in range(epochs)]
    labels = {"trial_id": "t_00001", "experiment": "x/2"}
    (folder / "epochs").mkdir(parents=True)
    other = {**config.to_flat(), "seed": 5, "trial_id": "t_00000", "experiment": "x/1"}
    pd.DataFrame([other, {**config.to_flat(), **labels}]).to_parquet(folder / "trials.parquet")
    pd.DataFrame([{**row, **labels} for row in rows]).to_parquet(folder / "epochs" / "t_00001.parquet")
    return folder


def test_a_replay_reproduces_every_recorded_value_and_names_one_that_differs(synthetic_cifar_dir, tmp_path, capsys):
    images = load_cifar(synthetic_cifar_dir, verify=False)
    run = recorded_run(tmp_path / "run", images)
    argv = [str(run), "--experiment", "x/2", "--epochs", "5", "--data-dir", str(synthetic_cifar_dir), "--no-verify"]
    assert replay_run.main(argv) == 0
    out = capsys.readouterr().out
    assert "4 of 4 recorded epochs equal" in out and out.count("  equal") == 4
    assert "    5 where" in out and "not recorded" in out  # the replay's fifth epoch has nothing to compare
    assert "median where epoch: recorded" in out and "median what epoch: recorded" in out

    path = run / "epochs" / "t_00001.parquet"
    epochs = pd.read_parquet(path)
    epochs.loc[epochs["epoch"] == 3, "test_acc"] += 0.05
    epochs.to_parquet(path)
    assert replay_run.main(argv) == 1
    out = capsys.readouterr().out
    assert "3 of 4 recorded epochs equal" in out
    assert [line.split()[0] for line in out.splitlines() if "DIFFER: test_acc" in line] == ["3"]

    # without --experiment: the first trial, which recorded no epoch
    assert replay_run.main(argv[:1] + argv[3:]) == 2
    assert capsys.readouterr().err == f"replay_run: {run}: trial t_00000 has no recorded epochs\n"


def test_an_unreadable_run_folder_is_refused_in_one_line(tmp_path, capsys):
    assert replay_run.main([str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("replay_run: ") and "trials.parquet" in err and "\n" not in err
