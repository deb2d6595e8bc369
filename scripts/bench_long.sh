#!/usr/bin/env bash
# tapegrad's side of the long-sequence benchmark (issue 16; PyTorch's is
# scripts/bench_long.py): one LSTM training step, B = 32, I = 128, H = 256,
# loss mean(y²), at each T, with checkpointing off and with segments of
# ⌈√T⌉ steps, each configuration in a process of its own (so peak_mib is
# its own), RUNS times in turn. Prints bench_rnn's JSON lines.
#
#   cargo build --release --example bench_rnn
#   bash scripts/bench_long.sh 2 > long.jsonl     # threads (default 1)
set -euo pipefail
threads=${1:-1}
runs=${RUNS:-3}
bin=${BIN:-target/release/examples/bench_rnn}
for run in $(seq "$runs"); do
  for T in 50 500 1000 2000 10000; do
    seg=$(python3 -c "import math; print(math.isqrt($T - 1) + 1)")
    case $T in 50) it="--iters 20 --warmup 3";; 500) it="--iters 5 --warmup 1";; 10000) it="--iters 2 --warmup 1";; *) it="--iters 3 --warmup 1";; esac
    for ck in 0 "$seg"; do
      # shellcheck disable=SC2086
      "$bin" --seq "$T" --batch 32 --input 128 --hidden 256 --threads "$threads" $it --checkpoint "$ck"
    done
  done
done
