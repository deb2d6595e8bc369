#!/usr/bin/env python3
"""Reference timings for examples/bench_rnn.rs: the same training step in
PyTorch (nn.LSTM / nn.GRU / nn.RNN, and an LSTM cell written as eager
Python ops) and JAX/Flax (jit of grad over flax.linen.RNN).

One step = forward over the whole sequence, loss = mean(y**2), backward to
every parameter. Run by hand, never in CI:

    python3 -m venv .venv && .venv/bin/pip install torch "jax[cpu]" flax
    .venv/bin/python scripts/bench_reference.py --threads 2 > reference.jsonl

Prints one JSON line per (framework, cell, config), with the median, min
and max milliseconds over --iters timed iterations after warm-up.
"""
import argparse
import json
import os
import statistics
import sys
import time

CONFIGS = {
    "tiny": (32, 1, 32, 32),
    "small": (50, 8, 64, 128),
    "medium": (50, 32, 128, 256),
    "large": (100, 64, 512, 512),
}


def timed(step, iters, warmup=3):
    for _ in range(warmup):
        step()
    out = []
    for _ in range(iters):
        t = time.perf_counter()
        step()
        out.append((time.perf_counter() - t) * 1e3)
    return out


def peak_mib():
    import resource
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def emit(framework, cell, name, cfg, bidir, threads, ts):
    T, B, I, H = cfg
    print(json.dumps({
        "framework": framework, "cell": cell, "config": name, "seq": T, "batch": B, "input": I, "hidden": H,
        "bidirectional": bidir, "threads": threads, "iters": len(ts),
        "median_ms": round(statistics.median(ts), 4), "min_ms": round(min(ts), 4), "max_ms": round(max(ts), 4),
        # Peak RSS of the whole process so far (cumulative across configs):
        # run one config per process (--only) for a per-config figure.
        "peak_mib": peak_mib(),
    }), flush=True)


def torch_runs(args):
    import torch
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    class EagerLSTM(torch.nn.Module):
        """An LSTM cell written as plain ops, unrolled in Python."""

        def __init__(self, i, h):
            super().__init__()
            k = 1.0 / h ** 0.5
            self.w_ih = torch.nn.Parameter(torch.empty(4 * h, i).uniform_(-k, k))
            self.w_hh = torch.nn.Parameter(torch.empty(4 * h, h).uniform_(-k, k))
            self.b = torch.nn.Parameter(torch.empty(4 * h).uniform_(-k, k))
            self.h = h

        def forward(self, x):
            T, B, _ = x.shape
            h = x.new_zeros(B, self.h)
            c = x.new_zeros(B, self.h)
            xp = x @ self.w_ih.T + self.b
            outs = []
            for t in range(T):
                g = xp[t] + h @ self.w_hh.T
                i, f, gg, o = g.chunk(4, 1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(gg)
                h = torch.sigmoid(o) * torch.tanh(c)
                outs.append(h)
            return torch.stack(outs)

    for name, cfg in CONFIGS.items():
        if args.only and name != args.only:
            continue
        T, B, I, H = cfg
        for cell in args.cells:
            for bidir in ([False, True] if name == "medium" else [False]):
                if cell == "custom_lstm":
                    if bidir:
                        continue
                    m = EagerLSTM(I, H)
                    run = lambda x, m=m: m(x)
                else:
                    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell]
                    m = cls(I, H, bidirectional=bidir)
                    run = lambda x, m=m: m(x)[0]
                x = torch.rand(T, B, I) * 2 - 1

                def step():
                    m.zero_grad(set_to_none=True)
                    y = run(x)
                    (y * y).mean().backward()

                iters = args.iters if name != "large" else max(5, args.iters // 4)
                emit("pytorch", cell, name, cfg, bidir, args.threads, timed(step, iters))


def jax_runs(args):
    import jax
    import jax.numpy as jnp
    import flax.linen as nn

    for name, cfg in CONFIGS.items():
        if args.only and name != args.only:
            continue
        T, B, I, H = cfg
        for cell in args.cells:
            if cell == "custom_lstm":
                continue
            for bidir in ([False, True] if name == "medium" else [False]):
                make = {"lstm": nn.OptimizedLSTMCell, "gru": nn.GRUCell, "rnn": nn.SimpleCell}[cell]
                if bidir:
                    model = nn.Bidirectional(nn.RNN(make(H)), nn.RNN(make(H)))
                else:
                    model = nn.RNN(make(H))
                x = jax.random.uniform(jax.random.PRNGKey(0), (B, T, I), minval=-1.0, maxval=1.0)
                params = model.init(jax.random.PRNGKey(1), x)

                def loss(p, x):
                    y = model.apply(p, x)
                    return jnp.mean(y * y)

                grad = jax.jit(jax.grad(loss))

                def step():
                    jax.block_until_ready(grad(params, x))

                iters = args.iters if name != "large" else max(5, args.iters // 4)
                emit("jax", cell, name, cfg, bidir, args.threads, timed(step, iters))


def torch_gemm(args, n=1024):
    import torch
    torch.set_num_threads(args.threads)
    a, b = torch.rand(n, n), torch.rand(n, n)
    ts = timed(lambda: torch.mm(a, b), args.iters)
    med = statistics.median(ts)
    print(json.dumps({"framework": "pytorch", "gemm": n, "threads": args.threads, "median_ms": round(med, 3), "gflops": round(2 * n ** 3 / (med / 1e3) / 1e9, 1)}), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--cells", nargs="+", default=["lstm", "gru", "custom_lstm"])
    p.add_argument("--frameworks", nargs="+", default=["pytorch", "jax"])
    p.add_argument("--only", choices=list(CONFIGS), help="run one configuration (per-config peak memory)")
    args = p.parse_args()
    # Thread counts must be fixed before the libraries start their pools.
    os.environ.setdefault("XLA_FLAGS", f"--xla_cpu_multi_thread_eigen={'true' if args.threads > 1 else 'false'} intra_op_parallelism_threads={args.threads}")
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    if "pytorch" in args.frameworks:
        torch_gemm(args)
        torch_runs(args)
    if "jax" in args.frameworks:
        jax_runs(args)


if __name__ == "__main__":
    sys.exit(main())
