"""Packed training: N stage-wise configurations ("members") trained at once, fused forward and backward passes.

Why: one trial is a LeNet pair on batches of 250 mosaics, far too little work to keep a GPU busy. Fusing many
small models horizontally into one set of wider kernels is the HFTA result (MLSys 2021). Every row of `tables`
uses seed 0, so its 16 members share mosaics, initial weights and batch order and differ only in schedule and
learning rates.

How, HFTA-style and written out by hand (`lenet`, `forward` below):
- Every parameter of the N WhereNets and WhatNets is one stacked (N, ...) tensor; momentum buffers likewise.
- Members with the same mosaics and the same batch order this epoch (same data seed and shuffle-generator state)
  share one gather per batch. Within those, members in the same phase (what, where or both) share one fused call:
  the where network's first convolution sees the same patches for all of them, so it is one convolution with n*6
  output channels; the later convolutions are grouped (groups=n), the fully connected layers batched matmuls.
  Each call runs one forward and one backward for all its members, with gradients only for the networks its
  phase trains: a frozen WhereNet runs without a graph and a frozen network gets no gradient, as in the engine.
  (A first version masked per member inside one call for all phases: a pack mixing both orders then computed the
  where network's backward, the costliest part of a step, for every member and threw half of it away.)
- SGD with momentum exactly as torch.optim.SGD (dampening 0, no weight decay, no nesterov), on the call's rows:
  the first step of a network takes buf = grad, later steps buf = momentum * buf + grad, then p -= lr * buf, with
  per-member learning rate and momentum. A frozen network's weights and momentum buffer are not touched at all.
- Members are independent by construction: one member's loss, gradients and metric sums never enter another's
  (grouped kernels and batched matmuls keep them apart; the summed loss has gradient 1 for each member's own loss),
  so a member that diverges (NaN) cannot touch the others. It ends with outcome `diverged` and, like a member
  that finishes, leaves the pack: the stacked tensors are re-stacked without it.
- Metrics are summed on the device per member with metrics.batch_counts (vmapped over members); one host sync
  per pass for the whole pack. Rows have exactly StageWiseTrainer.run_epoch's keys and values.
- A member's state is StageWiseTrainer's state format: export and import in both directions.
- float64 results equal StageWiseTrainer's to ~1e-15 (tests/test_packed.py asserts 1e-9): the fused kernels add
  in another order, nothing else differs; float32 to ~1e-7 after a few epochs (asserted 1e-5).

Why by hand and not torch.func.vmap(functional_call(WhereNet, ...)): vmap lowers to the same grouped
convolutions and batched matmuls, but it cannot run the engine's modules (their channels_last `contiguous` raises
"NYI ... inside of vmap"), so a functional network was needed either way; by hand, the shared-input convolution
and the channels_last layout are explicit, and it measured fastest. Forward + backward of N where+what pairs on
one shared batch of 250 mosaics, float32, 1 thread of this project's 2-core CPU, mosaic-steps/s, two runs on a
busy machine (absolute numbers moved 2x between runs, the order did not):
    N=1:  loop of unpacked modules 364 / 247, vmap 283 / 159, by hand channels_last 682 / 271, NCHW 471 / 176
    N=4:  loop 552 / 221, vmap 257 / 140, by hand channels_last 675 / 278, NCHW 286 / 326
    N=16: loop 449 / 235, vmap 372 / 379, by hand channels_last 677 / 398, NCHW 299 / 299
On CPU the gain of packing is small (benchmarks/gpu_throughput.py); its place is the GPU, where one unpacked
trial leaves the device idle. The memory layout on GPU (channels_last, as the engine uses) is not measured yet.
`chunk` caps the members of one fused call (memory; None = all of a group's members in one phase).

Not packable (`packable`, `plan_packs`): RMSprop, the plateau schedule and the early stop on training loss (the
`alternation` space). Those run unpacked with StageWiseTrainer; PackedTrainer refuses them with a ValueError.

Precision (`precision`; by default the members' TrainConfig.precision, which a pack shares): trainables/precision.py,
as for the unpacked engine; it applies on CUDA to float32 only (fp32 strict, tf32, bf16 autocast for the forward).
On CUDA the whole epoch stays on the device: each member's batch order is drawn from its CPU generator once per
epoch and moved, and nothing syncs with the host until the epoch's metric sums are read. cudnn.benchmark is on.
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from .cifar import CifarImages
from .config import PRECISIONS, TrainConfig
from .engine import EVAL_BATCH, STATE_FORMAT, StateMismatch, resolve_device, save_atomically
from .metrics import FIELDS, batch_counts, summarize
from .mosaics import DeviceMosaics, MosaicSpec, build_mosaic_sets
from .nets import WhatNet, WhereNet
from .precision import autocast, float32_math

PACK_FORMAT = 1
NETS = ("where", "what")
with torch.device("meta"):  # no weights made, no RNG drawn: only the names, in parameters() order (SGD's state ids)
    PARAM_NAMES = tuple(name for name, _ in WhereNet().named_parameters())
FC_LAYERS = ("fc1", "fc2", "fc3", "fc4")

# metrics.batch_counts for every member at once: logits and alphas per member, labels and fg slots shared.
member_counts = torch.vmap(batch_counts, in_dims=(0, 0, None, None, 0))


# -- which configurations pack -----------------------------------------------------------------------------------
def why_not_packable(config: TrainConfig) -> str | None:
    """None if `config` can train in a pack, else the reason (it then trains unpacked, with StageWiseTrainer)."""
    if config.optimizer != "sgd":
        return f"optimizer {config.optimizer!r} (packed training implements SGD with momentum only)"
    if config.plateau:
        return "the plateau schedule (learning rates stepped per member on validation loss)"
    if config.stop_train_loss is not None:
        return "the early stop on training loss"
    return None


def packable(config: TrainConfig) -> bool:
    return why_not_packable(config) is None


def pack_key(config: TrainConfig) -> tuple:
    """Configurations with equal keys can share a pack: same tensor shapes and the same steps per epoch."""
    m = config.mosaic
    return config.dtype, config.precision, config.batch_size, m.grid, len(m.foreground), m.n_train


def plan_packs(configs: list[TrainConfig], max_size: int) -> list[list[int]]:
    """Split configurations (by index) into packs of at most `max_size` compatible members, sized evenly.

    Members that share mosaics and seed sit next to each other, so they land in the same pack and share its
    batches. A configuration that cannot be packed gets a pack of its own: run those with StageWiseTrainer."""
    if not isinstance(max_size, int) or max_size < 1:
        raise ValueError(f"max_size must be a positive integer, got {max_size!r}")
    by_key: dict[tuple, list[int]] = {}
    alone = []
    for i, config in enumerate(configs):
        if packable(config):
            by_key.setdefault(pack_key(config), []).append(i)
        else:
            alone.append([i])
    packs = []
    for members in by_key.values():
        members.sort(key=lambda i: (dataclasses.astuple(configs[i].mosaic), configs[i].seed))
        n_packs = math.ceil(len(members) / max_size)
        sizes = [len(members) // n_packs + (j < len(members) % n_packs) for j in range(n_packs)]
        for size in sizes:
            packs.append(members[:size])
            members = members[size:]
    return packs + alone


# -- the fused networks ------------------------------------------------------------------------------------------
def lenet(params: dict, net: str, x: torch.Tensor, n: int) -> torch.Tensor:
    """LeNet.score of n members at once -> (n, M, out).

    x is (M, 3, 32, 32), the same input for every member (one convolution with n*6 output channels), or
    (M, n*3, 32, 32), member j's input in channels 3j..3j+2 (a grouped convolution)."""
    w = lambda name: params[f"{net}.{name}"]  # noqa: E731
    groups = x.shape[1] // 3
    x = x.contiguous(memory_format=torch.channels_last)
    h = F.conv2d(x, w("conv1.weight").flatten(0, 1), w("conv1.bias").flatten(), groups=groups)
    h = F.max_pool2d(F.relu(h), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, w("conv2.weight").flatten(0, 1), w("conv2.bias").flatten(), groups=n)), 2)
    h = h.reshape(len(x), n, -1).transpose(0, 1)  # (n, M, 400): each member's features in LeNet's flatten order
    for layer in FC_LAYERS:
        h = torch.baddbmm(w(f"{layer}.bias")[:, None], h, w(f"{layer}.weight").transpose(1, 2))
        h = F.relu(h) if layer != "fc4" else h
    return h


def forward(params: dict, patches: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """WhereNet then WhatNet of n members on one shared batch of patches (B, S, 3, 32, 32):
    -> logits (n, B, classes), alphas (n, B, S)."""
    n = params["where.conv1.bias"].shape[0]
    b, s = patches.shape[:2]
    alphas = F.softmax(lenet(params, "where", patches.flatten(0, 1), n).view(n, b, s), dim=2)
    weighted = torch.einsum("nbs,bschw->bnchw", alphas, patches)  # each member's attention-weighted image
    return lenet(params, "what", weighted.flatten(1, 2), n), alphas


def member_losses(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of every member on every mosaic: (n, B)."""
    return F.cross_entropy(logits.transpose(1, 2), labels.expand(len(logits), -1), reduction="none")


def _param(net: str, name: str) -> str:
    return f"{net}.{name}"


def _buf(net: str, name: str) -> str:
    return f"buf.{net}.{name}"


PARAM_KEYS = tuple(_param(net, name) for net in NETS for name in PARAM_NAMES)


def sgd_state_dict(params: list[torch.Tensor], bufs: list[torch.Tensor] | None, lr: float, momentum: float) -> dict:
    """torch.optim.SGD's own state_dict for these parameters and momentum buffers (None: never stepped)."""
    holders = [torch.nn.Parameter(p) for p in params]
    opt = torch.optim.SGD(holders, lr=lr, momentum=momentum)
    for holder, buf in zip(holders, bufs or []):
        opt.state[holder]["momentum_buffer"] = buf
    return opt.state_dict()


@dataclass
class Member:
    config: TrainConfig
    shuffle: torch.Generator  # batch order, drawn exactly as StageWiseTrainer draws it
    lr: dict  # {"where": float, "what": float}, as the optimisers' param_groups hold them
    epoch: int = 0  # epochs completed
    outcome: str = "running"
    history: list = field(default_factory=list)
    final: dict | None = None  # its full state once it has left the pack


class PackedTrainer:
    """Trains packable, mutually compatible TrainConfigs together; `run_epoch` advances every running member."""

    def __init__(
        self,
        configs: list[TrainConfig],
        images: CifarImages,
        device: str | torch.device = "auto",
        precision: str | None = None,
        chunk: int | None = None,
    ):
        configs = list(configs)
        if not configs:
            raise ValueError("a pack needs at least one configuration")
        for i, config in enumerate(configs):
            if (reason := why_not_packable(config)) is not None:
                raise ValueError(
                    f"configuration {i} cannot be packed: it uses {reason}; train it unpacked with "
                    f"StageWiseTrainer (packable() and plan_packs() sort configurations out)"
                )
        if len({pack_key(c) for c in configs}) > 1:
            raise ValueError(
                "configurations of one pack must share dtype, precision, batch_size, grid, number of foreground "
                f"classes and n_train; got {sorted({pack_key(c) for c in configs})}"
            )
        precision = configs[0].precision if precision is None else precision
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        if chunk is not None and (not isinstance(chunk, int) or chunk < 1):
            raise ValueError(f"chunk must be a positive integer or None, got {chunk!r}")
        self.device = resolve_device(device) if isinstance(device, str) else device
        self.dtype = getattr(torch, configs[0].dtype)
        self.batch_size, self.n_train = configs[0].batch_size, configs[0].mosaic.n_train
        self.precision, self.chunk = precision, chunk
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # the shapes repeat every step: pick the fastest kernels once
        self.sets = self._to_device(images, list(dict.fromkeys(c.mosaic for c in configs)))
        self.members = [
            Member(c, torch.Generator().manual_seed(c.seed), {"where": c.where_lr, "what": c.what_lr}) for c in configs
        ]
        rows = [self._initial_row(c) for c in configs]
        self.slots = list(range(len(configs)))  # slots[j]: the member whose tensors are row j of the stack
        self.stack = {key: torch.stack([row[key] for row in rows]) for key in rows[0]}

    # -- setup -----------------------------------------------------------------------------------------------
    def _to_device(self, images: CifarImages, specs: list[MosaicSpec]) -> dict[MosaicSpec, dict[str, DeviceMosaics]]:
        pixels = {}  # one copy of each CIFAR split on the device for the whole pack
        out = {}
        for spec in specs:
            sets = build_mosaic_sets(spec, images)
            for mosaics in sets.values():
                if mosaics.split not in pixels:
                    with warnings.catch_warnings():  # read-only arrays (Ray's object store) are shared, never written
                        warnings.simplefilter("ignore", UserWarning)
                        pixels[mosaics.split] = torch.as_tensor(images.split(mosaics.split)[0]).to(self.device)
            out[spec] = {name: DeviceMosaics(m, pixels[m.split], self.device, self.dtype) for name, m in sets.items()}
        return out

    def _initial_row(self, config: TrainConfig) -> dict[str, torch.Tensor]:
        with torch.random.fork_rng(devices=[]):  # exactly StageWiseTrainer's initial weights
            torch.manual_seed(config.seed)
            nets = {"where": WhereNet(), "what": WhatNet(len(config.mosaic.foreground))}
        row = {}
        for net, module in nets.items():
            for name, p in module.named_parameters():
                row[_param(net, name)] = p.detach().to(self.device, self.dtype)
                row[_buf(net, name)] = torch.zeros_like(row[_param(net, name)])
            row[f"started.{net}"] = torch.tensor(False, device=self.device)  # has SGD a momentum buffer yet?
        return row

    def _restack(self, slots: list[int]) -> None:
        """Keep (and order) the stacked rows of members `slots`: the pack shrinks, or groups become contiguous."""
        if slots != self.slots:
            rows = torch.tensor([self.slots.index(i) for i in slots], dtype=torch.long, device=self.device)
            with torch.no_grad():
                self.stack = {key: value[rows] for key, value in self.stack.items()}
            self.slots = list(slots)

    def _precision(self):
        return float32_math(self.precision, self.device, self.dtype)

    def _autocast(self):
        return autocast(self.precision, self.device, self.dtype)

    # -- training ----------------------------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return all(m.outcome != "running" for m in self.members)

    def epochs(self):
        """Run until every member has ended, yielding each epoch's {member index: row}."""
        while not self.done:
            yield self.run_epoch()

    def run_epoch(self) -> dict[int, dict]:
        """One epoch of every running member; {member index: the row StageWiseTrainer.run_epoch would return}."""
        if self.done:
            raise RuntimeError("training already ended for every member of the pack")
        start = time.perf_counter()
        with self._precision():
            phases = {i: self.members[i].config.schedule.phase(self.members[i].epoch) for i in self.slots}
            train = self._train_pass(self._plan_epoch())
            train_s = time.perf_counter() - start
            rows = {}
            for i, counts in train.items():
                m = self.members[i]
                m.epoch += 1
                rows[i] = {
                    "epoch": m.epoch,
                    "phase": phases[i],
                    "lr_where": m.lr["where"],
                    "lr_what": m.lr["what"],
                    **summarize(counts, "train_"),
                    "mosaics_per_s": self.n_train / train_s,
                }
                if not math.isfinite(rows[i]["train_loss"]):
                    m.outcome = "diverged"  # no evaluation of meaningless weights, no further epochs
            finite = [i for i in rows if self.members[i].outcome == "running"]
            for set_name in ("test", "val"):
                for i, counts in self._evaluate(set_name, finite).items():
                    rows[i].update(summarize(counts, f"{set_name}_"))
            for i in finite:
                if self.members[i].epoch == self.members[i].config.schedule.epochs:
                    self.members[i].outcome = "completed"
            ended = [i for i in finite if self.members[i].outcome != "running"]
            for i, counts in self._evaluate("train", ended).items():
                rows[i].update(summarize(counts, "final_train_"))
        for i, row in rows.items():
            row["outcome"] = self.members[i].outcome
            row["epoch_s"] = time.perf_counter() - start
            self.members[i].history.append(row)
        for i in rows:
            if self.members[i].outcome != "running":
                self.members[i].final = self.member_state_dict(i)
        self._restack([i for i in self.slots if self.members[i].outcome == "running"])
        return dict(sorted(rows.items()))

    def _plan_epoch(self) -> list[tuple[int, int, DeviceMosaics, torch.Tensor, str]]:
        """Draw each member's batch order for this epoch from its own generator (as StageWiseTrainer does) and plan
        the fused calls: members with the same mosaics and generator state share one order and one gather per
        batch; within those, members in the same phase share a fused forward and backward that computes gradients
        only for the networks the phase trains (a frozen WhereNet runs without a graph, as in the engine).
        Re-stacks so that each call's rows are contiguous; returns (first row, end row, train set, order, phase)."""
        orders, calls = {}, {}
        for i in self.slots:
            m = self.members[i]
            key = (m.config.mosaic, bytes(m.shuffle.get_state().numpy()))
            order = torch.randperm(self.n_train, generator=m.shuffle)
            orders.setdefault(key, order.to(self.device))  # on the device once per epoch: no host sync per batch
            calls.setdefault((key, m.config.schedule.phase(m.epoch)), []).append(i)
        self._restack([i for members in calls.values() for i in members])
        out, row = [], 0
        for (key, phase), members in calls.items():
            chunk = self.chunk or len(members)
            for a in range(0, len(members), chunk):
                n = min(chunk, len(members) - a)
                out.append((row, row + n, self.sets[key[0]]["train"], orders[key], phase))
                row += n
        return out

    def _train_pass(self, calls: list) -> dict[int, list[float]]:
        as_tensor = lambda values: torch.tensor(values, dtype=self.dtype, device=self.device)  # noqa: E731
        lrs = {net: as_tensor([self.members[i].lr[net] for i in self.slots]) for net in NETS}
        momentum = as_tensor([self.members[i].config.momentum for i in self.slots])
        counts = torch.zeros(len(self.slots), len(FIELDS), dtype=torch.float64, device=self.device)
        for start in range(0, self.n_train, self.batch_size):
            sums, patches = [], {}
            for a, b, data, order, phase in calls:
                idx = order[start : start + self.batch_size]
                if id(order) not in patches:  # gather once per batch for every member that shares it
                    patches[id(order)] = data.patches(idx)
                nets = NETS if phase == "both" else (phase,)
                params = {key: self.stack[key][a:b] for key in PARAM_KEYS}  # views of rows a:b
                leaves = [_param(net, name) for net in nets for name in PARAM_NAMES]
                params.update({key: params[key].detach().requires_grad_() for key in leaves})
                with self._autocast():
                    logits, alphas = forward(params, patches[id(order)])
                    loss = member_losses(logits, data.label[idx]).mean(1)  # each member's F.cross_entropy
                # Members' losses are independent: the gradient of their sum is each member's own gradient.
                grads = torch.autograd.grad(loss.sum(), [params[key] for key in leaves])
                self._sgd_step(a, b, nets, dict(zip(leaves, grads)), lrs, momentum)
                sums.append(
                    member_counts(
                        logits.detach(), alphas.detach(), data.label[idx], data.fg_slot[idx], loss.detach() * len(idx)
                    )
                )
            counts += torch.cat(sums)
        return dict(zip(self.slots, counts.tolist()))  # the one host sync of the pass

    @torch.no_grad()
    def _sgd_step(self, a: int, b: int, nets: tuple, grads: dict, lrs: dict, momentum: torch.Tensor) -> None:
        """torch.optim.SGD's step for rows a:b and the networks they train; the frozen network is not touched."""
        momentum = momentum[a:b]
        for net in nets:
            started = self.stack[f"started.{net}"][a:b]
            use_buf = started & (momentum != 0)  # SGD's first step takes buf = grad, and momentum 0 keeps no buffer
            for name in PARAM_NAMES:
                p, buf = self.stack[_param(net, name)][a:b], self.stack[_buf(net, name)][a:b]
                grad = grads[_param(net, name)]
                shape = (-1,) + (1,) * (grad.dim() - 1)
                buf.copy_(torch.where(use_buf.view(shape), buf * momentum.view(shape) + grad, grad))
                p.sub_(lrs[net][a:b].view(shape) * buf)
            started.fill_(True)

    @torch.inference_mode()
    def _evaluate(self, set_name: str, members: list[int]) -> dict[int, list[float]]:
        """Metric sums of the current weights of `members` on one mosaic set, as StageWiseTrainer.evaluate;
        members without that set (no validation mosaics) are left out."""
        by_spec: dict[MosaicSpec, list[int]] = {}
        for i in members:
            if set_name in self.sets[self.members[i].config.mosaic]:
                by_spec.setdefault(self.members[i].config.mosaic, []).append(i)
        # As many mosaics per fused call as a training step holds, so evaluation needs no more memory than training.
        chunk = max(1, (self.chunk or len(self.slots)) * self.batch_size // EVAL_BATCH)
        out, sums = [], []
        for spec, group in by_spec.items():
            data = self.sets[spec][set_name]
            parts = [group[a : a + chunk] for a in range(0, len(group), chunk)]
            params = []
            for part in parts:
                rows = torch.tensor([self.slots.index(i) for i in part], device=self.device)
                params.append({k: self.stack[k][rows] for k in PARAM_KEYS})
            counts = [torch.zeros(len(part), len(FIELDS), dtype=torch.float64, device=self.device) for part in parts]
            for idx in torch.arange(len(data), device=self.device).split(EVAL_BATCH):
                patches, labels = data.patches(idx), data.label[idx]  # gathered once for every member
                for p, c in zip(params, counts):
                    with self._autocast():
                        logits, alphas = forward(p, patches)
                        loss_sum = member_losses(logits, labels).sum(1)
                    c += member_counts(logits, alphas, labels, data.fg_slot[idx], loss_sum)
            out += group
            sums += counts
        return dict(zip(out, torch.cat(sums).tolist())) if out else {}  # one host sync per pass

    # -- state -------------------------------------------------------------------------------------------------
    def member_state_dict(self, i: int) -> dict:
        """Member i's state in StageWiseTrainer's format: `StageWiseTrainer(config).load_state_dict` continues it."""
        m = self.members[i]
        if m.final is not None:
            return m.final
        j = self.slots.index(i)
        nets, optimizers = {}, {}
        for net in NETS:
            params = [self.stack[_param(net, name)][j].detach().clone() for name in PARAM_NAMES]
            started = bool(self.stack[f"started.{net}"][j]) and m.config.momentum != 0
            bufs = [self.stack[_buf(net, name)][j].clone() for name in PARAM_NAMES] if started else None
            nets[net] = dict(zip(PARAM_NAMES, params))
            optimizers[net] = sgd_state_dict(params, bufs, m.lr[net], m.config.momentum)
        return {
            "format": STATE_FORMAT,
            "config": m.config.to_flat(),
            "epoch": m.epoch,
            "outcome": m.outcome,
            "nets": nets,
            "optimizers": optimizers,
            "schedulers": {},
            "shuffle_rng": m.shuffle.get_state(),
            "history": list(m.history),
        }

    def load_member_state_dict(self, i: int, state: dict) -> None:
        """Continue member i from a state of StageWiseTrainer's format (saved packed or unpacked)."""
        m = self.members[i]
        if state.get("format") != STATE_FORMAT:
            raise StateMismatch(f"unsupported training-state format {state.get('format')!r}")
        diff = m.config.differences(state["config"])
        if diff:
            raise StateMismatch(f"training state was saved for another configuration (differs in {', '.join(diff)})")
        row, lrs = {}, {}
        for net in NETS:
            opt = state["optimizers"][net]
            ids = opt["param_groups"][0]["params"]
            bufs = [opt["state"].get(pid, {}).get("momentum_buffer") for pid in ids]
            started = all(b is not None for b in bufs)
            if not started and any(b is not None for b in bufs):
                raise StateMismatch(f"{net} optimiser state has momentum for some parameters only")
            for name, buf in zip(PARAM_NAMES, bufs):
                row[_param(net, name)] = state["nets"][net][name].to(self.device, self.dtype).contiguous()
                row[_buf(net, name)] = (
                    buf.to(self.device, self.dtype).contiguous()
                    if started
                    else torch.zeros_like(row[_param(net, name)])
                )
            row[f"started.{net}"] = torch.tensor(started, device=self.device)
            lrs[net] = opt["param_groups"][0]["lr"]
        m.lr = lrs
        m.shuffle.set_state(state["shuffle_rng"].cpu())
        m.epoch, m.outcome, m.history = state["epoch"], state["outcome"], list(state["history"])
        m.final = None
        if i not in self.slots:  # it had left the pack: it rejoins at the end
            with torch.no_grad():
                self.stack = {key: torch.cat([value, row[key][None]]) for key, value in self.stack.items()}
            self.slots.append(i)
        else:
            with torch.no_grad():
                for key, value in row.items():
                    self.stack[key][self.slots.index(i)] = value
        if m.outcome != "running":
            m.final = self.member_state_dict(i)
            self._restack([s for s in self.slots if s != i])

    def state_dict(self) -> dict:
        """Every member's state (StageWiseTrainer's format each); loadable with torch.load(weights_only=True)."""
        return {"format": PACK_FORMAT, "members": [self.member_state_dict(i) for i in range(len(self.members))]}

    def load_state_dict(self, state: dict) -> None:
        if state.get("format") != PACK_FORMAT:
            raise StateMismatch(f"unsupported pack-state format {state.get('format')!r}")
        if len(state["members"]) != len(self.members):
            raise StateMismatch(f"pack state has {len(state['members'])} members, this pack {len(self.members)}")
        for i, member in enumerate(state["members"]):
            self.load_member_state_dict(i, member)

    def save(self, path) -> None:
        """Write the state atomically: a reader never sees half a file."""
        save_atomically(self.state_dict(), path)

    def load(self, path) -> None:
        self.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
