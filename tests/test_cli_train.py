import json

import pytest
from conftest import exit_code, synthetic_images, write_bin_layout

from orchestrator.cli import main


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("cifar")
    write_bin_layout(root, synthetic_images(600, 200))
    return root


def test_train_prints_final_metrics_as_json(data_dir, capsys):
    code = main(
        [
            "train",
            "--data-dir",
            str(data_dir),
            "--no-verify",
            "--n-train",
            "100",
            "--n-test",
            "50",
            "--k",
            "1",
            "--epochs",
            "2",
            "--batch-size",
            "25",
            "--json",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["epoch"] == 2 and out["outcome"] == "completed" and out["phase"] == "where"
    assert 0 <= out["test_acc"] <= 1 and "final_train_acc" in out and out["device"] == "cpu"


def test_train_state_file_resumes_exactly(data_dir, tmp_path, capsys):
    common = [
        "train",
        "--data-dir",
        str(data_dir),
        "--no-verify",
        "--n-train",
        "100",
        "--n-test",
        "50",
        "--k",
        "1",
        "--batch-size",
        "25",
        "--json",
    ]
    assert main(common + ["--epochs", "4"]) == 0
    full = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    state = tmp_path / "state.pt"
    # the same run stopped after 2 of 4 epochs: a shorter schedule is another config, so stop it by hand
    from trainables import StageWiseTrainer, TrainConfig, load_cifar

    config = TrainConfig.from_flat({k: full[k] for k in TrainConfig().to_flat()})
    trainer = StageWiseTrainer(config, load_cifar(data_dir, verify=False), "cpu")
    trainer.run_epoch(), trainer.run_epoch()
    trainer.save(state)
    copy = tmp_path / "copy.pt"
    copy.write_bytes(state.read_bytes())
    assert main(common + ["--epochs", "4", "--state", str(state)]) == 0
    resumed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("test_acc", "test_loss", "train_loss", "final_train_acc", "test_ftpt"):
        assert resumed[key] == full[key], key

    # a copy (of a run's kept checkpoint, say) goes on with its own settings when no flag gives them
    data = ["--data-dir", str(data_dir), "--no-verify"]
    assert main(["train", *data, "--json", "--state", str(copy)]) == 0
    alone = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    timing = ("mosaics_per_s", "epoch_s")
    assert {k: v for k, v in alone.items() if k not in timing} == {k: v for k, v in full.items() if k not in timing}
    # a flag that is given still decides, and one that differs from the file's is refused
    state.write_bytes(copy.read_bytes())
    assert exit_code(["train", *data, "--state", str(state), "--what-lr", "0.5"]) == 2
    assert "another configuration (differs in what_lr)" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--epochs", "3", "--k", "2"], "multiple of 2k"),
        (["--what-lr", "-1"], "what_lr must be a positive number"),
        (["--order", "sideways"], "order must be one of"),
        (["--plateau"], "n_val > 0"),
    ],
)
def test_train_rejects_bad_config_with_one_line(argv, message, capsys, data_dir):
    assert main(["train", "--data-dir", str(data_dir), "--no-verify"] + argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and err.startswith("mosaic-sweep: error:")


def test_train_missing_data_is_one_line(tmp_path, capsys):
    assert main(["train", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "cifar-10-batches-bin" in err and len(err.splitlines()) == 1


def test_train_diverging_run_exits_non_zero(data_dir, capsys):
    code = main(
        [
            "train",
            "--data-dir",
            str(data_dir),
            "--no-verify",
            "--n-train",
            "100",
            "--n-test",
            "50",
            "--order",
            "simultaneous",
            "--epochs",
            "6",
            "--what-lr",
            "1e12",
            "--where-lr",
            "1e12",
        ]
    )
    assert code == 3
    assert "diverged" in capsys.readouterr().err
