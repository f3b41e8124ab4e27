"""PackedTrainer against StageWiseTrainer: every member's rows equal its configuration trained alone.

float64: every numeric value to 1e-9 (relative, or absolute near 0); float32: to 1e-5 (observed ~1e-7 after a few
epochs: the packed kernels add in another order). Timings (mosaics_per_s, epoch_s) are not compared.
"""

import copy
import dataclasses
import math

import pytest
import torch

from trainables import MosaicSpec, StageSchedule, StageWiseTrainer, StateMismatch, TrainConfig
from trainables.packed import PackedTrainer, pack_key, packable, plan_packs, why_not_packable

TIMING = {"mosaics_per_s", "epoch_s"}
SPEC = MosaicSpec(grid=2, n_train=40, n_test=10, seed=1)  # 2x2: half the work of 3x3 in float64


def config(**overrides) -> TrainConfig:
    base = dict(mosaic=SPEC, schedule=StageSchedule("what_first", 1, 4), batch_size=20, dtype="float64", seed=0)
    return TrainConfig(**{**base, **overrides})


# One pack mixing everything: orders, k, epochs, learning rates, momentum, seeds, data seeds, a member that ends
# early and one that diverges. Members 0, 1, 4 and 5 share mosaics and batch order (one gather, one fused call).
MIXED = [
    config(),
    config(schedule=StageSchedule("where_first", 1, 4), what_lr=0.02, where_lr=0.005, momentum=0.5),
    config(schedule=StageSchedule("simultaneous", 1, 3), seed=1),
    config(schedule=StageSchedule("what_first", 2, 4), mosaic=dataclasses.replace(SPEC, n_val=10, seed=2)),
    config(schedule=StageSchedule("where_first", 1, 2), momentum=0.0),  # ends early
    config(schedule=StageSchedule("simultaneous", 1, 4), what_lr=1e8, where_lr=1e8),  # diverges in epoch 2
]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Batches of 20 mosaics gain nothing from a second thread, and on a busy 2-core machine OpenMP's waits made
    this file 5-10x slower with two threads."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def assert_same_rows(packed: list[dict], alone: list[dict], tol: float) -> None:
    assert len(packed) == len(alone)
    for epoch, (p, a) in enumerate(zip(packed, alone), start=1):
        assert p.keys() == a.keys(), f"epoch {epoch}: keys differ: {p.keys() ^ a.keys()}"
        for key in p.keys() - TIMING:
            if isinstance(a[key], str):
                assert p[key] == a[key], (epoch, key)
            elif not (math.isnan(a[key]) and math.isnan(p[key])):
                assert math.isclose(p[key], a[key], rel_tol=tol, abs_tol=tol), (epoch, key, p[key], a[key])


@pytest.fixture(scope="module")
def alone(fake_images):
    """Each MIXED configuration trained by itself, the reference: (histories, states after epoch 2)."""
    histories, states = [], []
    for c in MIXED:
        trainer = StageWiseTrainer(c, fake_images, "cpu")
        for _ in trainer.epochs():
            if trainer.epoch == 2:
                states.append(copy.deepcopy(trainer.state_dict()))  # its tensors are the live ones
        histories.append(trainer.history)
    return histories, states


@pytest.fixture(scope="module")
def packed(fake_images):
    trainer = PackedTrainer(MIXED, fake_images, "cpu")
    sizes = []
    for rows in trainer.epochs():
        assert all(row["epoch"] == trainer.members[i].epoch for i, row in rows.items())
        sizes.append(len(trainer.slots))
    return trainer, sizes


def test_every_member_matches_training_alone_float64(alone, packed):
    alone, trainer, sizes = alone[0], *packed
    for i, history in enumerate(alone):
        assert_same_rows(trainer.members[i].history, history, 1e-9)
    assert [h[-1]["outcome"] for h in alone] == ["completed"] * 5 + ["diverged"]
    assert len(alone[5]) == 2 and not math.isfinite(alone[5][-1]["train_loss"])
    assert "test_acc" not in alone[5][-1] and "test_acc" in alone[5][0]  # diverged after a first evaluated epoch
    assert "val_acc" in alone[3][0] and "final_train_acc" in alone[4][-1] and len(alone[4]) == 2
    assert alone[0][-1]["test_loss"] != alone[1][-1]["test_loss"]  # members really differ
    # the pack shrinks as members end: 4 and 5 (diverged) after epoch 2, 2 after epoch 3, the rest after epoch 4
    assert sizes == [6, 4, 3, 0]
    assert trainer.done and trainer.slots == []


def test_float32_members_match_within_tolerance_and_cpu_ignores_precision(fake_images):
    spec = MosaicSpec(n_train=40, n_test=20, seed=1)  # the default 3x3 grid
    configs = [
        config(mosaic=spec, dtype="float32", schedule=StageSchedule(order, 1, 2), seed=seed)
        for order, seed in (("what_first", 0), ("where_first", 0), ("simultaneous", 1))
    ]
    trainer = PackedTrainer(configs, fake_images, "cpu", precision="bf16")  # bf16 autocast is CUDA only
    list(trainer.epochs())
    for c, member in zip(configs, trainer.members):
        assert_same_rows(member.history, list(StageWiseTrainer(c, fake_images, "cpu").epochs()), 1e-5)


def snapshot(state: dict, net: str) -> dict:
    flat = {f"w.{k}": v.clone() for k, v in state["nets"][net].items()}
    flat.update({f"m.{i}": s["momentum_buffer"].clone() for i, s in state["optimizers"][net]["state"].items()})
    return flat


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_frozen_network_weights_and_momentum_stay_exactly(fake_images):
    configs = [config(dtype="float32"), config(dtype="float32", schedule=StageSchedule("where_first", 1, 4))]
    trainer = PackedTrainer(configs, fake_images, "cpu")
    trainer.run_epoch(), trainer.run_epoch()  # both networks of both members have momentum now
    before = [trainer.member_state_dict(i) for i in (0, 1)]
    rows = trainer.run_epoch()
    after = [trainer.member_state_dict(i) for i in (0, 1)]
    assert rows[0]["phase"] == "what" and rows[1]["phase"] == "where"
    for i, (active, frozen) in enumerate((("what", "where"), ("where", "what"))):
        assert len(snapshot(before[i], frozen)) == 24  # 12 weights, 12 momentum buffers
        assert same(snapshot(after[i], frozen), snapshot(before[i], frozen))
        assert not same(snapshot(after[i], active), snapshot(before[i], active))


def test_member_state_moves_between_packed_and_unpacked(fake_images, alone, tmp_path):
    histories, states = alone
    # packed -> unpacked: two epochs in a pack, the rest alone
    pack = PackedTrainer([MIXED[0], MIXED[2]], fake_images, "cpu")
    pack.run_epoch(), pack.run_epoch()
    torch.save(pack.member_state_dict(0), tmp_path / "member.pt")
    single = StageWiseTrainer(MIXED[0], fake_images, "cpu")
    single.load(tmp_path / "member.pt")  # torch.load(weights_only=True)
    assert single.epoch == 2
    list(single.epochs())
    assert_same_rows(single.history, histories[0], 1e-9)
    # the optimiser state is torch.optim.SGD's own, param_groups included
    exported = pack.member_state_dict(0)
    for net in ("where", "what"):
        ours, theirs = exported["optimizers"][net], states[0]["optimizers"][net]
        assert ours["param_groups"] == theirs["param_groups"]
        assert ours["state"].keys() == theirs["state"].keys() and len(ours["state"]) == 12
        assert all(
            torch.allclose(
                ours["state"][k]["momentum_buffer"], theirs["state"][k]["momentum_buffer"], rtol=1e-9, atol=1e-12
            )
            for k in ours["state"]
        )
    assert exported.keys() == states[0].keys()

    # unpacked -> packed: member 1 joins after two epochs alone, member 0 starts fresh (members at other epochs)
    pack = PackedTrainer([MIXED[0], MIXED[2]], fake_images, "cpu")
    pack.load_member_state_dict(1, states[2])
    assert pack.members[1].epoch == 2
    list(pack.epochs())
    assert_same_rows(pack.members[0].history, histories[0], 1e-9)
    assert_same_rows(pack.members[1].history, histories[2], 1e-9)


def test_whole_pack_save_and_load_resumes_exactly(fake_images, alone, packed, tmp_path):
    members = [0, 3, 4]  # member 4 ends at epoch 2: it is saved finished
    first = PackedTrainer([MIXED[i] for i in members], fake_images, "cpu")
    first.run_epoch(), first.run_epoch()
    assert first.members[2].outcome == "completed" and len(first.slots) == 2
    first.save(tmp_path / "pack.pt")
    assert len(torch.load(tmp_path / "pack.pt", weights_only=True)["members"]) == 3
    resumed = PackedTrainer([MIXED[i] for i in members], fake_images, "cpu")
    resumed.load(tmp_path / "pack.pt")
    assert [m.epoch for m in resumed.members] == [2, 2, 2] and sorted(resumed.slots) == [0, 1]
    for j, i in enumerate(members):  # SGD state of networks never stepped (3: where; 4: momentum 0) is empty
        for net in ("where", "what"):
            ours, theirs = first.member_state_dict(j)["optimizers"][net], alone[1][i]["optimizers"][net]
            assert ours["state"].keys() == theirs["state"].keys()
    assert alone[1][3]["optimizers"]["where"]["state"] == {} and alone[1][4]["optimizers"]["what"]["state"] == {}
    list(resumed.epochs())
    uninterrupted = packed[0]
    for j, i in enumerate(members):
        assert_same_rows(resumed.members[j].history, uninterrupted.members[i].history, 1e-12)
        assert_same_rows(resumed.members[j].history, alone[0][i], 1e-9)
    with pytest.raises(StateMismatch, match="what_lr"):
        PackedTrainer([config(what_lr=0.5)], fake_images, "cpu").load_member_state_dict(0, first.member_state_dict(0))


def test_packable_and_plan_packs():
    sgd32 = [config(dtype="float32", seed=s % 2, what_lr=0.01 * (s + 1)) for s in range(6)]
    configs = sgd32 + [
        config(),  # float64: another pack
        config(optimizer="rmsprop"),
        config(mosaic=dataclasses.replace(SPEC, n_val=10), plateau=True),
        config(stop_train_loss=0.05),
        config(batch_size=10),  # another step count
    ]
    assert [packable(c) for c in configs] == [True] * 7 + [False] * 3 + [True]
    assert "rmsprop" in why_not_packable(configs[7]) and "plateau" in why_not_packable(configs[8])
    packs = plan_packs(configs, 3)
    assert sorted(i for p in packs for i in p) == list(range(len(configs)))
    assert all(len({pack_key(configs[i]) for i in p}) == 1 and len(p) <= 3 for p in packs)
    assert [6] in packs and [7] in packs and [8] in packs and [9] in packs and [10] in packs
    assert sorted(sorted(p) for p in packs if p[0] < 6) == [[0, 2, 4], [1, 3, 5]]  # same seed: same batches
    assert sorted(len(p) for p in plan_packs(sgd32 * 3, 8)) == [6, 6, 6]  # evenly sized
    with pytest.raises(ValueError, match="max_size"):
        plan_packs(configs, 0)


def test_unpackable_or_incompatible_members_are_refused(fake_images):
    with pytest.raises(ValueError, match="rmsprop.*StageWiseTrainer"):
        PackedTrainer([config(), config(optimizer="rmsprop")], fake_images, "cpu")
    plateau = config(mosaic=dataclasses.replace(SPEC, n_val=10), plateau=True)
    with pytest.raises(ValueError, match="plateau"):
        PackedTrainer([plateau], fake_images, "cpu")
    with pytest.raises(ValueError, match="early stop"):
        PackedTrainer([config(stop_train_loss=0.1)], fake_images, "cpu")
    with pytest.raises(ValueError, match="share dtype, precision, batch_size"):
        PackedTrainer([config(), config(batch_size=10)], fake_images, "cpu")
    with pytest.raises(ValueError, match="precision"):
        PackedTrainer([config()], fake_images, "cpu", precision="fp16")
    with pytest.raises(ValueError, match="grid"):
        PackedTrainer([config(), config(mosaic=dataclasses.replace(SPEC, grid=3))], fake_images, "cpu")
