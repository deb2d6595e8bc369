#!/usr/bin/env bash
# Contention benchmark: one training step while another CPU-bound process
# holds one core, with the default threads against one thread, in tapegrad
# and (when PY points at a Python with torch) in PyTorch under the same
# load. Prints one JSON line per measurement, then a summary of the ratios
# (default threads / one thread), median and range over the rounds.
#
#   bash scripts/bench_contention.sh                     # tapegrad only
#   PY=.venv/bin/python bash scripts/bench_contention.sh # with PyTorch
#
# ROUNDS (default 3) and CONFIGS (default "small medium") can be set.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --example bench_rnn >&2
B=target/release/examples/bench_rnn
ROUNDS=${ROUNDS:-3}
CONFIGS=${CONFIGS:-"small medium"}
DEFAULT=$(nproc)
out=$(mktemp)
# The other program: one busy process, started before and killed after.
python3 -c 'while True: pass' &
hog=$!
trap 'kill $hog 2>/dev/null || true; rm -f "$out"' EXIT
sleep 1
dims() { case $1 in tiny) echo "32 1 32 32";; small) echo "50 8 64 128";; medium) echo "50 32 128 256";; large) echo "100 64 512 512";; esac; }
for round in $(seq "$ROUNDS"); do
  for cfg in $CONFIGS; do
    set -- $(dims "$cfg")
    for th in "$DEFAULT" 1; do
      $B --cell lstm --seq $1 --batch $2 --input $3 --hidden $4 --threads "$th" --iters 20 \
        | sed "s/^{/{\"config\": \"$cfg\", \"round\": $round, \"contended\": true, /" | tee -a "$out"
      if [ -n "${PY:-}" ]; then
        "$PY" scripts/bench_reference.py --only "$cfg" --cells lstm --frameworks pytorch --threads "$th" \
          | sed "s/^{/{\"config\": \"$cfg\", \"round\": $round, \"contended\": true, /" | tee -a "$out"
      fi
    done
  done
done
python3 - "$out" "$DEFAULT" <<'PY'
import json, sys, statistics
rows = [r for r in (json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")) if "cell" in r and not r.get("bidirectional")]
default = int(sys.argv[2])
print(f"\n# under contention: time with {default} threads / time with 1 thread (median of rounds, range)")
for fw in sorted({r["framework"] for r in rows}):
    for cfg in dict.fromkeys(r["config"] for r in rows):
        ratios = []
        for rnd in sorted({r["round"] for r in rows}):
            t = {r["threads"]: r["median_ms"] for r in rows if r["framework"] == fw and r["config"] == cfg and r["round"] == rnd}
            if default in t and 1 in t:
                ratios.append(t[default] / t[1])
        if ratios:
            one = statistics.median(r["median_ms"] for r in rows if r["framework"] == fw and r["config"] == cfg and r["threads"] == 1)
            print(f"{fw:9s} {cfg:7s} {statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})  one thread {one:.2f} ms")
PY
