#!/usr/bin/env python3
"""Generate the PyTorch parity fixtures checked by tapegrad-nn's tests.

Run by hand (never in CI) with PyTorch installed from PyPI:

    python3 -m venv .venv && .venv/bin/pip install torch safetensors numpy
    .venv/bin/python scripts/make_parity_fixtures.py

Writes crates/tapegrad-nn/tests/fixtures/*.safetensors, all float64:
- one file per recurrent case: the module's state_dict under PyTorch's names,
  `input` (T, B, I), `h0` (and `c0`), `lengths` (packed cases), outputs
  `output`, `h_n` (and `c_n`), projection weights `w_output`, `w_h_n`
  (`w_c_n`) and the gradients `grad.<name>` of
  loss = Σ output⊙w_output + Σ h_n⊙w_h_n (+ Σ c_n⊙w_c_n)
  with respect to every parameter, the input and the initial states;
- optimizers.safetensors: parameter trajectories of SGD (momentum,
  Nesterov, weight decay), Adam, AdamW and RMSprop on fixed gradients;
- losses.safetensors: cross-entropy (with ignore_index), NLL, MSE and
  BCE-with-logits values and gradients, including logits of ±1000.
"""
import os

import torch
from safetensors.torch import save_file

torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(__file__), "..", "crates", "tapegrad-nn", "tests", "fixtures")


def rnn_case(name, kind, I, H, L, bidir, T, B, lengths=None, nonlinearity="tanh", seed=0):
    torch.manual_seed(seed)
    if kind == "lstm":
        m = torch.nn.LSTM(I, H, num_layers=L, bidirectional=bidir)
    elif kind == "gru":
        m = torch.nn.GRU(I, H, num_layers=L, bidirectional=bidir)
    else:
        m = torch.nn.RNN(I, H, num_layers=L, bidirectional=bidir, nonlinearity=nonlinearity)
    m = m.double()
    D = 2 if bidir else 1
    x = torch.randn(T, B, I, requires_grad=True)
    h0 = (0.5 * torch.randn(L * D, B, H)).requires_grad_(True)
    c0 = (0.5 * torch.randn(L * D, B, H)).requires_grad_(True)
    init = (h0, c0) if kind == "lstm" else h0
    if lengths is None:
        out, st = m(x, init)
    else:
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, torch.tensor(lengths), enforce_sorted=False)
        out_p, st = m(packed, init)
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out_p, total_length=T)
    h_n, c_n = st if kind == "lstm" else (st, None)
    w_out = torch.randn_like(out)
    w_h = torch.randn_like(h_n)
    loss = (out * w_out).sum() + (h_n * w_h).sum()
    tensors = {"output": out.detach(), "h_n": h_n.detach(), "w_output": w_out, "w_h_n": w_h, "input": x.detach(), "h0": h0.detach()}
    if c_n is not None:
        w_c = torch.randn_like(c_n)
        loss = loss + (c_n * w_c).sum()
        tensors.update({"c_n": c_n.detach(), "w_c_n": w_c, "c0": c0.detach()})
    loss.backward()
    for pname, p in m.named_parameters():
        tensors[pname] = p.detach().clone()
        tensors["grad." + pname] = p.grad.clone()
    tensors["grad.input"] = x.grad.clone()
    tensors["grad.h0"] = h0.grad.clone()
    if kind == "lstm":
        tensors["grad.c0"] = c0.grad.clone()
    if lengths is not None:
        tensors["lengths"] = torch.tensor(lengths, dtype=torch.float64)
    save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(OUT, f"{name}.safetensors"))


def optimizer_cases():
    torch.manual_seed(1)
    p0 = torch.randn(3, 2)
    grads = [torch.randn(3, 2) for _ in range(4)]
    t = {"p0": p0}
    for i, g in enumerate(grads):
        t[f"grad{i}"] = g
    configs = {
        "sgd": lambda p: torch.optim.SGD([p], lr=0.1),
        "sgd_momentum": lambda p: torch.optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01),
        "sgd_nesterov": lambda p: torch.optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True),
        "adam": lambda p: torch.optim.Adam([p], lr=0.01, weight_decay=0.1),
        "adamw": lambda p: torch.optim.AdamW([p], lr=0.01, weight_decay=0.1),
        "rmsprop": lambda p: torch.optim.RMSprop([p], lr=0.01, momentum=0.5),
    }
    for name, make in configs.items():
        p = p0.clone().requires_grad_(True)
        opt = make(p)
        for i, g in enumerate(grads):
            p.grad = g.clone()
            opt.step()
            t[f"{name}.step{i}"] = p.detach().clone()
    save_file(t, os.path.join(OUT, "optimizers.safetensors"))


def loss_cases():
    torch.manual_seed(2)
    F = torch.nn.functional
    t = {}
    logits = torch.randn(5, 4)
    logits[0] = torch.tensor([1000.0, -1000.0, 0.0, 3.0])
    logits[1] = torch.tensor([-1000.0, -1000.0, 1000.0, 1000.0])
    targets = torch.tensor([0, 3, 2, 1, 1])
    for red in ["mean", "sum"]:
        x = logits.clone().requires_grad_(True)
        loss = F.cross_entropy(x, targets, ignore_index=1, reduction=red)
        loss.backward()
        t[f"ce.{red}"] = loss.detach().reshape(1)
        t[f"ce.{red}.grad"] = x.grad.clone()
    x = logits.clone().requires_grad_(True)
    loss = F.nll_loss(F.log_softmax(x, 1), targets)
    loss.backward()
    t["nll.mean"] = loss.detach().reshape(1)
    t["nll.mean.grad"] = x.grad.clone()
    t["logits"] = logits
    t["targets"] = targets.double()
    z = torch.tensor([[1000.0, -1000.0, 0.0], [0.5, -2.0, 30.0]])
    y = torch.tensor([[1.0, 0.0, 1.0], [0.25, 1.0, 0.0]])
    zz = z.clone().requires_grad_(True)
    loss = F.binary_cross_entropy_with_logits(zz, y)
    loss.backward()
    t.update({"bce.logits": z, "bce.targets": y, "bce.mean": loss.detach().reshape(1), "bce.mean.grad": zz.grad.clone()})
    a = torch.randn(3, 2, requires_grad=True)
    b = torch.randn(3, 2)
    loss = F.mse_loss(a, b)
    loss.backward()
    t.update({"mse.pred": a.detach(), "mse.target": b, "mse.mean": loss.detach().reshape(1), "mse.mean.grad": a.grad.clone()})
    save_file(t, os.path.join(OUT, "losses.safetensors"))


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    rnn_case("lstm", "lstm", 3, 4, 1, False, 5, 2)
    rnn_case("gru", "gru", 3, 4, 1, False, 5, 2, seed=1)
    rnn_case("rnn_tanh", "rnn", 3, 4, 1, False, 5, 2, seed=2)
    rnn_case("rnn_relu", "rnn", 3, 4, 1, False, 5, 2, nonlinearity="relu", seed=3)
    rnn_case("lstm_2layer", "lstm", 3, 4, 2, False, 6, 3, seed=4)
    rnn_case("gru_bidirectional", "gru", 3, 4, 1, True, 5, 2, seed=5)
    rnn_case("lstm_bidirectional_2layer", "lstm", 2, 3, 2, True, 4, 2, seed=6)
    rnn_case("lstm_packed_bidirectional_2layer", "lstm", 3, 4, 2, True, 6, 3, lengths=[6, 2, 4], seed=7)
    rnn_case("gru_packed", "gru", 2, 3, 1, False, 5, 4, lengths=[3, 5, 1, 4], seed=8)
    rnn_case("rnn_packed_bidirectional", "rnn", 2, 3, 1, True, 4, 3, lengths=[2, 4, 3], seed=9)
    optimizer_cases()
    loss_cases()
    print("wrote fixtures to", os.path.abspath(OUT))
