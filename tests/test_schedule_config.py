import math

import numpy as np
import pytest

from trainables import MosaicSpec, StageSchedule, TrainConfig


def test_what_first_alternates_in_phases_of_k():
    s = StageSchedule("what_first", k=2, epochs=8)
    assert [s.phase(e) for e in range(8)] == ["what", "what", "where", "where"] * 2


def test_where_first_starts_with_where():
    s = StageSchedule("where_first", k=1, epochs=4)
    assert [s.phase(e) for e in range(4)] == ["where", "what", "where", "what"]


def test_simultaneous_trains_both_and_accepts_any_total():
    s = StageSchedule("simultaneous", k=1, epochs=7)
    assert {s.phase(e) for e in range(7)} == {"both"}


@pytest.mark.parametrize("order, k, epochs", [("what_first", 2, 8), ("where_first", 100, 800), ("simultaneous", 3, 7)])
def test_phase_ends_are_the_epochs_after_which_the_phase_changes_and_the_last(order, k, epochs):
    s = StageSchedule(order, k, epochs)
    changes = [e + 1 for e in range(epochs - 1) if s.phase(e) != s.phase(e + 1)]
    assert s.phase_ends() == (*changes, epochs)


def test_table1_row7_is_valid_and_row_with_500_epochs_and_k50_is_valid():
    StageSchedule("what_first", 50, 600)
    StageSchedule("what_first", 50, 500)  # 500 = 5 * 2 * 50


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(k=5, epochs=15), "multiple of 2k = 10"),
        (dict(k=0, epochs=10), "k (epochs per phase)"),
        (dict(k=2, epochs=0), "positive integer"),
        (dict(k=2.5, epochs=10), "k (epochs per phase)"),
        (dict(order="what", k=1, epochs=2), "order must be one of"),
    ],
)
def test_schedule_rejects_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        StageSchedule(**kwargs)


def test_phase_outside_the_run_is_an_error():
    with pytest.raises(IndexError):
        StageSchedule("what_first", 1, 2).phase(2)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(what_lr=0.0), "what_lr must be a positive number"),
        (dict(where_lr=-1e-3), "where_lr must be a positive number"),
        (dict(where_lr=math.nan), "where_lr must be a positive number"),
        (dict(optimizer="adamw"), "optimizer must be one of"),
        (dict(batch_size=0), "batch_size"),
        (dict(dtype="float16"), "dtype"),
        (dict(plateau=True), "n_val > 0"),
        (dict(stop_train_loss=0.0), "stop_train_loss"),
        (dict(momentum=1.0), "momentum"),
    ],
)
def test_config_rejects_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(foreground=("horse", "horse")), "distinct"),
        (dict(foreground=("unicorn", "ship")), "unknown CIFAR-10 class"),
        (dict(grid=1), "grid"),
        (dict(n_train=0), "n_train"),
        (dict(n_val=-1), "n_val"),
        (dict(protocol="clean"), "protocol"),
    ],
)
def test_mosaic_spec_rejects_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MosaicSpec(**kwargs)


def test_foreground_accepts_names_aliases_and_labels():
    assert MosaicSpec(foreground=("plane", "car", "bird")).foreground == (0, 1, 2)
    assert MosaicSpec(foreground="horse,ship,truck").foreground == (7, 8, 9)
    assert MosaicSpec(foreground=(7, 8, 9)).foreground_names == ("horse", "ship", "truck")


def test_flat_config_round_trips_and_accepts_numpy_scalars():
    config = TrainConfig(
        mosaic=MosaicSpec(grid=2, n_train=100, n_test=50, n_val=10, protocol="heldout", seed=3),
        schedule=StageSchedule("where_first", 3, 12),
        what_lr=0.001,
        plateau=True,
        optimizer="rmsprop",
        seed=4,
    )
    flat = config.to_flat()
    assert TrainConfig.from_flat(flat) == config
    flat_np = {k: (np.int64(v) if isinstance(v, int) and not isinstance(v, bool) else v) for k, v in flat.items()}
    assert TrainConfig.from_flat({**flat_np, "unrelated": 1}) == config
