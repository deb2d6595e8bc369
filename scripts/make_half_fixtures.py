#!/usr/bin/env python3
"""Generate the half-precision weight fixtures checked by tapegrad-nn's tests.

Run by hand (never in CI) with PyTorch installed from PyPI:

    python3 -m venv .venv && .venv/bin/pip install torch safetensors numpy
    .venv/bin/python scripts/make_half_fixtures.py

Writes crates/tapegrad-nn/tests/fixtures/:
- lstm_f16.safetensors, lstm_bf16.safetensors: an nn.LSTM(3, 4)'s
  state_dict as PyTorch saves it after `.half()` / `.bfloat16()`;
- lstm_half_reference.safetensors (float64): `f32.<name>` the float32
  weights before conversion, `f16.<name>` and `bf16.<name>` PyTorch's
  rounded values (`.half().double()`, `.bfloat16().double()`).
"""
import os

import torch
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "crates", "tapegrad-nn", "tests", "fixtures")

torch.manual_seed(16)
lstm = torch.nn.LSTM(3, 4)
with torch.no_grad():
    # Values that exercise rounding: a tie-heavy grid, tiny (subnormal in
    # float16) and large values.
    lstm.bias_hh_l0[:4] = torch.tensor([1e-6, -3e-8, 1000.25, 0.1])
sd = {k: v.detach().contiguous() for k, v in lstm.state_dict().items()}
save_file({k: v.half() for k, v in sd.items()}, os.path.join(OUT, "lstm_f16.safetensors"))
save_file({k: v.bfloat16() for k, v in sd.items()}, os.path.join(OUT, "lstm_bf16.safetensors"))
ref = {}
for k, v in sd.items():
    ref[f"f32.{k}"] = v.double()
    ref[f"f16.{k}"] = v.half().double()
    ref[f"bf16.{k}"] = v.bfloat16().double()
save_file(ref, os.path.join(OUT, "lstm_half_reference.safetensors"))
print("wrote", sorted(os.listdir(OUT)))
