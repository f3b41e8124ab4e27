import torch
from writeup import Module1, Module2  # benchmarks/writeup.py (conftest puts benchmarks/ on sys.path)

from trainables import WhatNet, WhereNet


def shapes(module):
    return {name: tuple(p.shape) for name, p in module.state_dict().items()}


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def test_networks_have_exactly_the_writeups_layers():
    assert shapes(WhereNet()) == shapes(Module1())
    assert shapes(WhatNet()) == shapes(Module2())
    # conv1 456, conv2 2,416, fc1 48,120, fc2 10,164, fc3 850, then fc4: 10->1 (where) or 10->3 (what).
    assert n_params(WhereNet()) == 456 + 2416 + 48120 + 10164 + 850 + 11
    assert n_params(WhatNet()) == 456 + 2416 + 48120 + 10164 + 850 + 33


def test_batched_where_net_equals_the_writeups_nine_slot_loop_in_float64():
    torch.manual_seed(0)
    original = Module1().double()
    ours = WhereNet().double()
    ours.load_state_dict(original.state_dict())
    z = torch.randn(7, 9, 3, 32, 32, dtype=torch.float64)
    y_ref, alphas_ref = original(z)
    y, alphas = ours(z)
    assert y.shape == (7, 3, 32, 32) and alphas.shape == (7, 9)
    assert torch.allclose(alphas, alphas_ref, rtol=0, atol=1e-10)
    assert torch.allclose(y, y_ref, rtol=0, atol=1e-10)
    # and the gradients through the whole pipeline agree as well
    what_ref, what = Module2().double(), WhatNet().double()
    what.load_state_dict(what_ref.state_dict())
    what_ref(original(z)[0]).sum().backward()
    what(ours(z)[0]).sum().backward()
    for (name, p), q in zip(ours.named_parameters(), original.parameters()):
        assert torch.allclose(p.grad, q.grad, rtol=0, atol=1e-10), name


def test_where_net_handles_other_grid_sizes_and_float32():
    net = WhereNet()
    y, alphas = net(torch.randn(3, 25, 3, 32, 32))
    assert y.shape == (3, 3, 32, 32) and alphas.shape == (3, 25) and y.dtype == torch.float32
    assert torch.allclose(alphas.sum(1), torch.ones(3))
