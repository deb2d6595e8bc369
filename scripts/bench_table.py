#!/usr/bin/env python3
"""Joins the JSON lines of scripts/bench_all.sh (tapegrad) and
scripts/bench_reference.py (PyTorch, JAX) into the markdown tables of
BENCHMARKS.md:

    python3 scripts/bench_table.py tapegrad.jsonl reference.jsonl

Lines of the 1024x1024 matrix-product benchmark (`"gemm"` instead of
`"cell"`) go into a separate line after the table.
"""
import json
import sys

ORDER = ["tiny", "small", "medium", "large"]


def load(path):
    return [json.loads(line) for line in open(path) if line.strip().startswith("{")]


def main(ours_path, ref_path):
    rows = load(ours_path) + load(ref_path)
    gemm = {r["framework"]: r for r in rows if "gemm" in r}
    rows = [r for r in rows if "cell" in r]
    key = lambda r: (r.get("config"), r["cell"], r["bidirectional"])
    by = {}
    for r in rows:
        by.setdefault(key(r), {})[r["framework"]] = r
    print("| config (T, B, I, H) | cell | tapegrad ms | PyTorch ms | JAX ms | tapegrad / PyTorch | tapegrad / JAX | tapegrad / faster |")
    print("|---|---|---|---|---|---|---|---|")
    for cfg in ORDER:
        for cell in ["lstm", "gru", "custom_lstm"]:
            for bidir in [False, True]:
                fw = by.get((cfg, cell, bidir))
                if not fw or "tapegrad" not in fw:
                    continue
                t = fw["tapegrad"]["median_ms"]
                p = fw.get("pytorch", {}).get("median_ms")
                j = fw.get("jax", {}).get("median_ms")
                shape = f"{cfg} ({fw['tapegrad']['seq']}, {fw['tapegrad']['batch']}, {fw['tapegrad']['input']}, {fw['tapegrad']['hidden']})"
                name = cell + (" bidirectional" if bidir else "") + (" (PyTorch: eager Python cell)" if cell == "custom_lstm" else "")
                fmt = lambda v: f"{v:.2f}" if v is not None else "—"
                ratio = lambda a, b: f"{a / b:.2f}" if b else "—"
                best = min(v for v in [p, j] if v is not None) if (p or j) else None
                print(f"| {shape} | {name} | {fmt(t)} | {fmt(p)} | {fmt(j)} | {ratio(t, p)} | {ratio(t, j)} | {ratio(t, best)} |")
    if "tapegrad" in gemm and "pytorch" in gemm:
        t, p = gemm["tapegrad"], gemm["pytorch"]
        print(f"\n1024x1024 f32 product: tapegrad {t['gflops']:.1f} GFLOP/s, torch.mm {p['gflops']:.1f} GFLOP/s (ratio of times {t['median_ms'] / p['median_ms']:.2f})")


if __name__ == "__main__":
    main(*sys.argv[1:3])
