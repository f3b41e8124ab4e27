"""benchmarks/cpu_layout.py: trials as separate processes, timed side by side."""

import argparse

import cpu_layout  # benchmarks/cpu_layout.py (conftest puts benchmarks/ on sys.path)
import pytest


def args_for(data_dir, *extra):
    return [*extra, "--mosaics", "500", "--data-dir", str(data_dir), "--no-verify"]


@pytest.mark.parametrize("phase", ["where", "what"])
def test_the_trials_of_a_layout_time_the_same_phase_at_the_same_time(synthetic_cifar_dir, phase):
    options = argparse.Namespace(mosaics=500, data_dir=str(synthetic_cifar_dir), no_verify=True)
    epochs = cpu_layout.measure((2, 1), phase, options)
    assert len(epochs) == 2 and all(e["phase"] == phase for e in epochs)
    assert max(e["start"] for e in epochs) < min(e["end"] for e in epochs)  # they overlapped


def test_prints_one_line_per_layout_and_phase_scaled_to_paper_size(synthetic_cifar_dir, capsys):
    assert cpu_layout.main(args_for(synthetic_cifar_dir, "--layouts", "1x1,2x1", "--phases", "where")) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("500 training mosaics a trial, epochs scaled to the paper's 30,000")
    rows = [line.split() for line in lines[2:]]
    assert [(r[0], r[1]) for r in rows] == [("1x1", "where"), ("2x1", "where")]
    one = float(rows[0][2])
    two = [float(x.rstrip(",")) for x in rows[1][2:4]]
    assert one > 0 and all(t > 0 for t in two)
    # per hour = trials x 3600 / the mean paper epoch
    assert float(rows[0][3]) == pytest.approx(3600 / one, rel=0.01, abs=1)
    assert float(rows[1][4]) == pytest.approx(2 * 3600 / (sum(two) / 2), rel=0.01, abs=1)


def test_unreadable_data_and_bad_layouts_exit_2_with_one_line(tmp_path, capfd):
    with pytest.raises(SystemExit) as exit_:
        cpu_layout.main(["--layouts", "1x1", "--phases", "where", "--data-dir", str(tmp_path), "--mosaics", "50"])
    assert exit_.value.code == 2
    errors = capfd.readouterr().err.splitlines()  # the worker's, on the same stderr
    assert len(errors) == 1 and errors[0].startswith("cpu_layout: ")
    with pytest.raises(SystemExit) as exit_:
        cpu_layout.main(["--layouts", "2by1"])
    assert exit_.value.code == 2
    assert "layout '2by1' is not PxT" in capfd.readouterr().err
