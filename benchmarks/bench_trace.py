"""Cost of `trace` relative to the module's own forward, measured side by side in one run.

    python benchmarks/bench_trace.py [--threads 2] [--device cpu|cuda] [--repeats 30]

Each row times the module's forward (no_grad, eval) and `trace` interleaved, `repeats` times, and prints the
median of each and their ratio. Target (issue 2): nn.LSTM(100, 256), T=100, batch 32 at <= 1.5x on 2 CPU threads.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from lstm_viz.record.tracing import trace

CASES = [
    # name, module factory, T, batch
    ("LSTM(100,256) T=100 B=32", lambda: torch.nn.LSTM(100, 256), 100, 32),
    ("LSTM 2-layer bidir T=100 B=32", lambda: torch.nn.LSTM(100, 256, num_layers=2, bidirectional=True), 100, 32),
    ("GRU(100,256) T=100 B=32", lambda: torch.nn.GRU(100, 256), 100, 32),
    ("RNN(100,256) T=100 B=32", lambda: torch.nn.RNN(100, 256), 100, 32),
    ("LSTM(100,256) sentence T=20 B=1", lambda: torch.nn.LSTM(100, 256), 20, 1),
    ("LSTM(100,256) proj 64 T=100 B=32", lambda: torch.nn.LSTM(100, 256, proj_size=64), 100, 32),
]


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def measure(module, x, repeats: int, device: str) -> tuple[float, float]:
    def forward():
        with torch.no_grad():
            module(x)
        _sync(device)

    def record():
        trace(module, x)
        _sync(device)

    for _ in range(3):  # warm-up: allocator, oneDNN primitive cache, workspace layout check
        forward()
        record()
    fwd, rec = [], []
    for _ in range(repeats):  # interleaved so drift hits both alike
        t0 = time.perf_counter()
        forward()
        fwd.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        record()
        rec.append(time.perf_counter() - t0)
    return statistics.median(fwd), statistics.median(rec)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeats", type=int, default=30)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, device {args.device}, threads {torch.get_num_threads()}")
    print(f"{'case':36s} {'forward ms':>10s} {'trace ms':>10s} {'ratio':>7s}  engine")
    for name, factory, steps, batch in CASES:
        module = factory().to(args.device).eval()
        x = torch.randn(steps, batch, module.input_size, device=args.device)
        fwd, rec = measure(module, x, args.repeats, args.device)
        engine = trace(module, x).meta["engine"]
        print(f"{name:36s} {fwd * 1e3:10.2f} {rec * 1e3:10.2f} {rec / fwd:7.2f}  {engine}")


if __name__ == "__main__":
    main()
