import torch

from trainables.metrics import FIELDS, batch_counts, summarize


def test_focus_outcomes_on_a_hand_built_batch():
    # 4 mosaics, 3 slots: one of each outcome.
    alphas = torch.tensor(
        [
            [0.8, 0.1, 0.1],  # focus slot 0 == fg 0 -> focus true
            [0.2, 0.3, 0.5],  # focus 2, fg 0 -> false
            [0.1, 0.6, 0.3],  # focus 1 == fg 1 -> true
            [0.4, 0.3, 0.3],  # focus 0, fg 2 -> false
        ]
    )
    fg = torch.tensor([0, 0, 1, 2])
    labels = torch.tensor([2, 1, 0, 0])
    logits = torch.tensor(
        [
            [0.0, 0.0, 5.0],  # pred 2 == 2 true
            [0.0, 5.0, 0.0],  # pred 1 == 1 true
            [0.0, 5.0, 0.0],  # pred 1 != 0 false
            [0.0, 0.0, 5.0],  # pred 2 != 0 false
        ]
    )
    counts = batch_counts(logits, alphas, labels, fg, torch.tensor(2.0))
    c = dict(zip(FIELDS, counts.tolist()))
    assert c == {
        "n": 4,
        "loss_sum": 2.0,
        "correct": 2,
        "ftpt": 1,
        "ffpt": 1,
        "ftpf": 1,
        "ffpf": 1,
        "alpha_ge_half": 3,
        "fg_alpha_sum": c["fg_alpha_sum"],
    }
    assert abs(c["fg_alpha_sum"] - (0.8 + 0.2 + 0.6 + 0.3)) < 1e-6
    m = summarize(counts + counts, "test_")
    assert m["test_acc"] == 0.5 and m["test_loss"] == 0.5 and m["test_alpha_ge_half"] == 0.75
    assert m["test_ftpt"] + m["test_ffpt"] + m["test_ftpf"] + m["test_ffpf"] == 1.0
    assert abs(m["test_fg_alpha"] - 1.9 / 4) < 1e-6
