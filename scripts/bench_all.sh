#!/usr/bin/env bash
# Runs the tapegrad harness over the performance issue's configurations,
# one JSON line each (the reference frameworks: scripts/bench_reference.py).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --example bench_rnn >&2
B=target/release/examples/bench_rnn
THREADS=${THREADS:-2}
for cell in lstm gru custom_lstm; do
  for cfg in "tiny 32 1 32 32" "small 50 8 64 128" "medium 50 32 128 256" "large 100 64 512 512"; do
    set -- $cfg
    iters=20; [ "$1" = large ] && iters=5
    $B --cell $cell --seq $2 --batch $3 --input $4 --hidden $5 --threads "$THREADS" --iters $iters | sed "s/^{/{\"config\": \"$1\", /"
    if [ "$1" = medium ] && [ "$cell" != custom_lstm ]; then
      $B --cell $cell --seq $2 --batch $3 --input $4 --hidden $5 --threads "$THREADS" --iters $iters --bidirectional | sed "s/^{/{\"config\": \"$1\", /"
    fi
  done
done
# The 1024x1024 f32 matrix product (the reference script times torch.mm alike).
$B --gemm 1024 --threads "$THREADS"
