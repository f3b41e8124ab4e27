"""Packed trials through real Ray Tune: one Ray trial trains several configurations, Parquet keeps one row per
configuration and epoch, retries and --resume continue exactly."""

import math
import sys

import pandas as pd
import pytest
import ray
import ray.cloudpickle
import torch
from conftest import exit_code

from orchestrator.sweep import pack_rows, pack_size
from search_spaces import get_space
from trainables import StageWiseTrainer, TrainConfig, load_cifar
from trainables.tune_trial import PACK_KEY, train_mosaic

pytestmark = pytest.mark.ray
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
TIMING = {"mosaics_per_s", "epoch_s", "time_total_s"}
# Small float64 runs: packed and unpacked agree to 1e-9 (tests/test_packed.py proves it for the trainer itself).
# A dozen mosaics (in 3 batches): float64 convolutions on a CPU are ten times float32's, 0.1 s an epoch here.
SMALL = ["--set", "dtype=float64", "--set", "n_train=12", "--set", "n_test=6", "--set", "batch_size=4"]


def packed_run_args(data_dir, results, *extra):
    return [
        "run",
        "table1",
        "--only",
        "table1/1,table1/8",
        "--scale",
        "smoke",
        "--pack",
        "2",
        *SMALL,
        *extra,
        "--data-dir",
        str(data_dir),
        "--no-verify",
        "--results-dir",
        str(results),
        "--checkpoint-every",
        "3",
    ]


def engine_rows(data_dir, row: dict) -> pd.DataFrame:
    """The same configuration trained alone in this process."""
    row = {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}  # Parquet null
    trainer = StageWiseTrainer(TrainConfig.from_flat(row), load_cifar(data_dir, verify=False), "cpu")
    return pd.DataFrame(list(trainer.epochs()))


def assert_equal_to_engine(epochs: pd.DataFrame, data_dir) -> None:
    for _, rows in epochs.groupby("trial_id"):
        rows = rows.sort_values("epoch").reset_index(drop=True)
        alone = engine_rows(data_dir, rows.iloc[0].to_dict())
        assert list(rows.epoch) == list(alone.epoch) and list(rows.outcome) == list(alone.outcome)
        for column in alone.columns:
            if column in TIMING or column not in rows:
                continue
            if not pd.api.types.is_numeric_dtype(alone[column]):
                assert list(rows[column]) == list(alone[column]), column
            else:
                assert rows[column].to_numpy() == pytest.approx(
                    alone[column].to_numpy(), rel=1e-9, abs=1e-12, nan_ok=True
                ), column


def test_pack_sizes_and_rows():
    tables = get_space("tables")
    trials = tables.trials("paper")
    assert pack_size("auto", tables, trials, gpus_per_trial=0, gpus=0) == 1  # CPU: packing does not pay
    assert pack_size("auto", tables, trials, gpus_per_trial=1, gpus=1) == 16  # one pack per GPU
    assert pack_size("auto", tables, trials, gpus_per_trial=1, gpus=3) == 6  # 16 over 3 GPUs: packs of 6
    # fewer than MIN_AUTO_PACK (5) per GPU run unpacked: 4 in a row beat a pack of 4 on the measured H200
    assert pack_size("auto", tables, trials, gpus_per_trial=1, gpus=4) == 1
    assert pack_size("auto", tables, trials[:4], gpus_per_trial=1, gpus=1) == 1
    assert pack_size("auto", tables, trials[:5], gpus_per_trial=1, gpus=1) == 5
    assert pack_size(2, tables, trials[:4], gpus_per_trial=1, gpus=1) == 2  # asked for: as asked
    assert pack_size(8, get_space("search"), get_space("search").trials("paper"), 1, 1) == 1  # ASHA: one each
    rows = pack_rows(trials, 16)
    assert len(rows) == 1 and len(rows[0][PACK_KEY]) == 16
    alternation = get_space("alternation").trials("paper")  # RMSprop + plateau: never packed
    assert pack_rows(alternation, 8) == alternation


def test_a_packed_run_writes_one_row_per_configuration_and_epoch_equal_to_unpacked(
    ray_cluster, synthetic_cifar_dir, tmp_path, capsys
):
    assert exit_code(packed_run_args(synthetic_cifar_dir, tmp_path)) == 0, capsys.readouterr()
    out = capsys.readouterr().out
    assert "2 configurations as 1 Ray trials" in out and "trials 2/2 done" in out
    run_dir = tmp_path / "table1-smoke"
    epochs = pd.read_parquet(run_dir / "epochs")
    trials = pd.read_parquet(run_dir / "trials.parquet")
    assert sorted(trials.experiment) == ["table1/1", "table1/8"] and (trials.status == "TERMINATED").all()
    assert trials.pack_id.nunique() == 1 and set(epochs.pack_id) == set(trials.pack_id)
    assert sorted(trials.trial_id) == [f"{trials.pack_id[0]}_m00", f"{trials.pack_id[0]}_m01"]
    assert epochs.groupby("experiment").epoch.max().to_dict() == {"table1/1": 8, "table1/8": 16}  # one left early
    assert not epochs.duplicated(["trial_id", "epoch"]).any()
    assert_equal_to_engine(epochs, synthetic_cifar_dir)
    # every member's final state is a file of its own in StageWiseTrainer's format: resumable unpacked, and the
    # report finds it for the attention pictures
    from orchestrator.results import find_final_state
    from orchestrator.storage import RunStorage

    for trial_id, last_epoch in trials.set_index("trial_id").epochs_completed.items():
        state_file = find_final_state(RunStorage(str(run_dir)), trial_id)
        assert state_file.endswith(f"/members/{trial_id}.pt")
        state = torch.load(state_file, map_location="cpu", weights_only=True)
        trainer = StageWiseTrainer(
            TrainConfig.from_flat(state["config"]), load_cifar(synthetic_cifar_dir, verify=False)
        )
        trainer.load_state_dict(state)
        assert trainer.epoch == last_epoch and trainer.done
    assert exit_code(["report", str(run_dir), "--data-dir", str(synthetic_cifar_dir), "--no-verify"]) == 0
    assert list((run_dir / "report" / "attention").glob("*.png"))


def flaky_pack(marker: str, fail_at_epoch: int):
    """The real trainable, except that the first attempt dies after reporting `fail_at_epoch`."""
    import os

    from ray import tune

    def trainable(config, images, **options):
        if not os.path.exists(marker):
            real_report = tune.report

            def report(metrics, checkpoint=None):
                real_report(metrics, checkpoint=checkpoint)
                if metrics.get("epoch") == fail_at_epoch:
                    open(marker, "w").close()
                    raise RuntimeError("injected failure")

            tune.report = report
            try:
                return train_mosaic(config, images, **options)
            finally:
                tune.report = real_report
        return train_mosaic(config, images, **options)

    return trainable


def test_a_failed_pack_retries_from_its_checkpoint_and_resumes_exactly(ray_cluster, synthetic_cifar_dir, tmp_path):
    from orchestrator.cli import build_parser
    from orchestrator.run_cmd import run_space

    marker = tmp_path / "failed-once"
    args = build_parser().parse_args(packed_run_args(synthetic_cifar_dir, tmp_path / "r"))
    assert run_space(args, trainable_fn=flaky_pack(str(marker), fail_at_epoch=5)) == 0
    assert marker.exists()
    epochs = pd.read_parquet(tmp_path / "r" / "table1-smoke" / "epochs")
    assert len(epochs) == 8 + 16 and not epochs.duplicated(["trial_id", "epoch"]).any()
    # the retry started from the epoch-3 checkpoint: epochs 4-5 were re-reported by a second process
    assert epochs[epochs.epoch <= 3].pid.nunique() == 1 and epochs[epochs.epoch > 5].pid.nunique() == 1
    assert set(epochs[epochs.epoch <= 3].pid) != set(epochs[epochs.epoch > 5].pid)
    assert_equal_to_engine(epochs, synthetic_cifar_dir)
