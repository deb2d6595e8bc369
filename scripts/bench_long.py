#!/usr/bin/env python3
"""Long-sequence reference for issue 16: time and peak memory of one PyTorch
LSTM training step at long T, plain and with gradient checkpointing.

One step is the step of examples/bench_rnn.rs and scripts/bench_reference.py:
forward over the whole sequence, loss = mean(y**2) over the whole output
sequence, backward to every parameter. Shapes: x is [T, B, I], y is [T, B, H],
f32, default B = 32, I = 128, H = 256.

Modes:
  plain       torch.nn.LSTM(I, H) over the whole sequence (saves every step).
  checkpoint  the sequence cut into chunks of S steps (--segment, default
              ceil(sqrt(T))); each chunk runs through the same nn.LSTM inside
              torch.utils.checkpoint.checkpoint(..., use_reentrant=False), the
              state (h, c) carried from chunk to chunk, the chunk outputs
              concatenated, same loss. Only chunk boundaries are kept; each
              chunk's forward is recomputed during backward.

Peak memory is per configuration because every (mode, T) runs in a process of
its own: the top-level invocation re-invokes this script with --single for
each (mode, T, repeat) and forwards the child's JSON line. Run by hand, never
in CI:

    python3 -m venv .venv && .venv/bin/pip install torch
    nice -n 10 .venv/bin/python scripts/bench_long.py --threads 2 \\
        --modes plain checkpoint --seqs 50 500 1000 2000 10000 --repeats 3 \\
        > ref16.jsonl

Prints one JSON line per process with the median, min and max milliseconds of
the timed iterations, ms_per_step = median / T, peak_mib = the process's peak
RSS (ru_maxrss) and step_peak_mib = that peak minus the RSS measured right
after the model and input were created (the training step's own memory; in
checkpoint mode the checkpoint module's one-off lazy imports, ~150 MiB, are
paid before that baseline, so they show in peak_mib only).
Unless --iters/--warmup are given, the counts shrink with T (see
default_counts); the line says how many timed iterations it used ("iters").
"""
import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys

# The same warm-up-then-time loop as the short-sequence reference (this
# script's directory is on sys.path when it is run as a script).
from bench_reference import timed


def default_counts(seq):
    """(warm-up, timed) iterations for a sequence of `seq` steps: many for
    short sequences, few for the long ones (a T = 10000 step takes seconds)."""
    if seq <= 500:
        return 3, 20
    if seq <= 2000:
        return 2, 5
    return 1, 2


def rss_mib():
    """Current resident set size of this process in MiB (Linux)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mib():
    """Peak resident set size of this process so far in MiB (ru_maxrss, KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_forward(torch, lstm, mode, segment):
    """The forward pass x [T, B, I] -> y [T, B, H] of the given mode."""
    if mode == "plain":
        return lambda x: lstm(x)[0]
    from torch.utils.checkpoint import checkpoint

    # The first checkpoint call lazily imports torch._dynamo, sympy and more
    # (about 150 MiB of modules): pay that here, on a scratch tensor, so that
    # it counts in peak_mib but not in the step's own step_peak_mib.
    scratch = torch.ones(1, requires_grad=True)
    checkpoint(torch.sin, scratch, use_reentrant=False).sum().backward()

    def chunk(xs, h, c):
        y, (h, c) = lstm(xs, (h, c))
        return y, h, c

    def forward(x):
        _, B, _ = x.shape
        h = x.new_zeros(1, B, lstm.hidden_size)
        c = x.new_zeros(1, B, lstm.hidden_size)
        outs = []
        for xs in x.split(segment, 0):
            y, h, c = checkpoint(chunk, xs, h, c, use_reentrant=False)
            outs.append(y)
        return torch.cat(outs, 0)

    return forward


def run_single(args):
    """Time one (mode, T) configuration in this process; print one JSON line."""
    import torch
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    T, B, I, H = args.seq, args.batch, args.input, args.hidden
    segment = 0 if args.mode == "plain" else (args.segment or math.ceil(math.sqrt(T)))
    lstm = torch.nn.LSTM(I, H)
    x = torch.rand(T, B, I) * 2 - 1
    forward = make_forward(torch, lstm, args.mode, segment)
    base = rss_mib()

    def step():
        lstm.zero_grad(set_to_none=True)
        y = forward(x)
        (y * y).mean().backward()
        assert all(p.grad is not None for p in lstm.parameters())

    warmup, iters = default_counts(T)
    warmup = warmup if args.warmup is None else args.warmup
    iters = iters if args.iters is None else args.iters
    ts = timed(step, iters, warmup)
    med, peak = statistics.median(ts), peak_mib()
    print(json.dumps({
        "framework": "pytorch", "torch": torch.__version__, "mode": args.mode, "segment": segment,
        "seq": T, "batch": B, "input": I, "hidden": H, "threads": args.threads,
        "warmup": warmup, "iters": iters,
        "median_ms": round(med, 3), "min_ms": round(min(ts), 3), "max_ms": round(max(ts), 3),
        "ms_per_step": round(med / T, 5),
        "peak_mib": round(peak, 1), "step_peak_mib": round(peak - base, 1),
    }), flush=True)


def run_all(args):
    """Re-invoke this script once per (mode, T, repeat) so that each process's
    peak RSS belongs to one configuration; forward each child's JSON line."""
    shared = ["--threads", str(args.threads), "--batch", str(args.batch),
              "--input", str(args.input), "--hidden", str(args.hidden)]
    for opt in ("segment", "iters", "warmup"):
        if getattr(args, opt) is not None:
            shared += [f"--{opt}", str(getattr(args, opt))]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    for seq in args.seqs:
        for mode in args.modes:
            for _ in range(args.repeats if seq <= args.repeat_max_seq else args.long_repeats):
                cmd = [sys.executable, os.path.abspath(__file__), "--single", "--mode", mode, "--seq", str(seq)]
                out = subprocess.run(cmd + shared, env=env, check=True, stdout=subprocess.PIPE, text=True)
                sys.stdout.write(out.stdout)
                sys.stdout.flush()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--input", type=int, default=128)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--segment", type=int, help="checkpoint chunk length S (default ceil(sqrt(T)))")
    p.add_argument("--iters", type=int, help="timed iterations (default by T, see default_counts)")
    p.add_argument("--warmup", type=int, help="warm-up iterations (default by T, see default_counts)")
    p.add_argument("--modes", nargs="+", choices=["plain", "checkpoint"], default=["plain", "checkpoint"])
    p.add_argument("--seqs", nargs="+", type=int, default=[50, 500, 1000, 2000, 10000])
    p.add_argument("--repeats", type=int, default=3, help="processes per config for T <= --repeat-max-seq")
    p.add_argument("--long-repeats", type=int, default=1, help="processes per config for longer T")
    p.add_argument("--repeat-max-seq", type=int, default=2000)
    p.add_argument("--single", action="store_true", help="run one config (--mode, --seq) in this process")
    p.add_argument("--mode", choices=["plain", "checkpoint"], default="plain", help="with --single")
    p.add_argument("--seq", type=int, default=1000, help="with --single")
    args = p.parse_args()
    if args.single:
        # Thread counts must be fixed before torch starts its pools.
        os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
        os.environ.setdefault("MKL_NUM_THREADS", str(args.threads))
        run_single(args)
    else:
        run_all(args)


if __name__ == "__main__":
    sys.exit(main())
