"""Many students at once against one real `streamlit run app.py` server, without a browser per student.

    nice python benchmarks/bench_load.py [--sessions 1 10 30] [--spread-s 0] [--think-s 0] [--budget-s 1500]
                                         [--upload-sessions 30 --upload-mb 60]

For each N it starts a fresh server on a free loopback port, warms it up with one unmeasured session (the
first script run imports torch and plotly), then runs N sessions at once through Streamlit's own websocket
protocol (benchmarks/streamlit_client.py; the server in load_server.py, the students in load_students.py).
Each session: opens the app, opens the Tutorial tagger page,
clicks "Train it now" and waits for the gate heatmap, opens Gates and Truth table, and types a new sentence.
It prints per-action latency (median, p95, max over sessions), errors, and the server's CPU use and resident
memory (from /proc), then stops the server. Loopback only; at most 50 sessions; the whole run stops itself
after --budget-s seconds. Issue-13 goals for N = 30: no errors, page actions p95 < 2 s, train-to-heatmap p95
< 10 s, server memory < 4 GB. With --upload-sessions N, N more students then upload a --upload-mb dataset on
the Train page at once and press Start, while one student does the visit above.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_server import ROOT, Server  # noqa: E402
from load_students import malformed, student, uploading_student  # noqa: E402

MAX_SESSIONS = 50
ACTIONS = ("open app", "open Tutorial tagger", "train to heatmap", "open Gates", "open Truth table",
           "change sentence")
PAGE_ACTIONS = ("open app", "open Tutorial tagger", "open Gates", "open Truth table", "change sentence")
def upload_phase(n: int, megabytes: float, timeout: float, budget_s: float, app_dir: Path) -> dict:
    """N students upload a `megabytes` file at once while one more student does the normal visit."""
    data = b"text,label\n" + b"the film was good and the story was fine,1\n" * int(megabytes * 2**20 / 43)
    server = Server(app_dir)
    try:
        server.wait_healthy()
        asyncio.run(student(server.port, -1, {}, [], timeout))  # warm-up
        timings: dict = {}
        errors: list = []
        refusals: list = []
        t0 = time.perf_counter()

        async def everyone():
            await asyncio.wait_for(asyncio.gather(
                student(server.port, 0, timings, errors, timeout),
                *(uploading_student(server.port, k, data, timings, errors, refusals, timeout) for k in range(n))),
                budget_s)
        try:
            asyncio.run(everyone())
        except asyncio.TimeoutError:
            errors.append(f"stopped after the {budget_s:.0f} s budget")
        return {"n": n, "mb": len(data) / 2**20, "timings": timings, "errors": errors, "refusals": refusals,
                "wall_s": time.perf_counter() - t0, "peak_rss": max(server.peak_rss, server.rss()),
                "alive": server.proc.poll() is None}
    finally:
        server.stop()


def report_uploads(result: dict) -> None:
    t = result["timings"]
    print(f"\nUploads: {result['n']} students upload {result['mb']:.1f} MB at once, one more does the normal visit: "
          f"{result['wall_s']:.1f} s wall, peak RSS {result['peak_rss'] / 2**20:,.0f} MB, errors "
          f"{len(result['errors'])}, server {'alive' if result['alive'] else 'DEAD'}")
    print("| action | done | median s | p95 s | max s |\n|---|---|---|---|---|")
    for action in ("upload (HTTP PUT)", "start with the upload", *ACTIONS):
        v = t.get(action, [])
        if v:
            print(f"| {action} | {len(v)} | {statistics.median(v):.2f} | {percentile(v, 0.95):.2f} | {max(v):.2f} |")
    shown = [re.sub(r"'big\d+\.csv'", "'big<k>.csv'", m) for m in result["refusals"]]
    for message in sorted(set(shown)):
        print(f"  refused ({shown.count(message)}x): {message[:160]}")
    for line in result["errors"][:10]:
        print("  error:", line)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def load_phase(n: int, timeout: float, budget_s: float, app_dir: Path, probe_malformed: bool,
               spread_s: float = 0.0, think_s: float = 0.0) -> dict:
    server = Server(app_dir)
    try:
        server.wait_healthy()
        warm: dict = {}
        warm_errors: list = []
        t0 = time.perf_counter()
        asyncio.run(student(server.port, -1, warm, warm_errors, timeout))
        warm_s = time.perf_counter() - t0
        rss_idle, cpu0, t1 = server.rss(), server.cpu_seconds(), time.perf_counter()
        timings: dict = {}
        errors: list = []

        async def all_students():
            cpu = server.cpu_seconds if n == 1 else None
            await asyncio.wait_for(asyncio.gather(*(
                student(server.port, k, timings, errors, timeout, cpu, spread_s * k / n, think_s)
                for k in range(n))), budget_s)
        try:
            asyncio.run(all_students())
        except asyncio.TimeoutError:
            errors.append(f"stopped after the {budget_s:.0f} s budget")
        wall = time.perf_counter() - t1
        cpu = server.cpu_seconds() - cpu0
        try:
            abuse = asyncio.run(malformed(server.port, timeout)) if probe_malformed else []
        except Exception as err:  # noqa: BLE001
            abuse = [f"malformed-input probe failed: {type(err).__name__}: {err}"]
        alive = server.proc.poll() is None
        return {"n": n, "timings": timings, "errors": warm_errors + errors, "wall_s": wall, "cpu_s": cpu,
                "peak_rss": max(server.peak_rss, server.rss()), "rss_idle": rss_idle, "warm_s": warm_s,
                "alive": alive, "malformed": abuse}
    finally:
        server.stop()


def report(result: dict) -> None:
    n, t = result["n"], result["timings"]
    print(f"\nN = {n}: {result['wall_s']:.1f} s wall, server CPU {result['cpu_s']:.1f} s "
          f"({100 * result['cpu_s'] / max(result['wall_s'], 1e-9):.0f}% of one core), peak RSS "
          f"{result['peak_rss'] / 2**20:,.0f} MB (after warm-up {result['rss_idle'] / 2**20:,.0f} MB), "
          f"warm-up session {result['warm_s']:.1f} s, errors {len(result['errors'])}, "
          f"server {'alive' if result['alive'] else 'DEAD'}")
    cpu = n == 1 and any(k.startswith("cpu ") for k in t)
    print("| action | done | median s | p95 s | max s |" + (" server CPU s |" if cpu else "") + "\n"
          "|---|---|---|---|---|" + ("---|" if cpu else ""))
    for action in ACTIONS:
        v = t.get(action, [])
        extra = f" {t['cpu ' + action][0]:.2f} |" if cpu and t.get("cpu " + action) else (" - |" if cpu else "")
        if v:
            print(f"| {action} | {len(v)}/{n} | {statistics.median(v):.2f} | {percentile(v, 0.95):.2f} | "
                  f"{max(v):.2f} |" + extra)
        else:
            print(f"| {action} | 0/{n} | - | - | - |" + extra)
    pages = [x for a in PAGE_ACTIONS for x in t.get(a, [])]
    if pages:
        print(f"page actions together: p95 {percentile(pages, 0.95):.2f} s (goal < 2 s); train to heatmap p95 "
              f"{percentile(t.get('train to heatmap', [0.0]), 0.95):.2f} s (goal < 10 s)")
    for line in result["errors"][:10]:
        print("  error:", line)
    for line in result["malformed"]:
        print("  malformed input:", line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 10, 30])
    parser.add_argument("--action-timeout", type=float, default=180.0, help="seconds one script run may take")
    parser.add_argument("--budget-s", type=float, default=1500.0, help="seconds all sessions of one N may take")
    parser.add_argument("--spread-s", type=float, default=0.0,
                        help="students arrive evenly over this many seconds (0: all at once, the worst case)")
    parser.add_argument("--think-s", type=float, default=0.0, help="seconds a student waits between actions")
    parser.add_argument("--upload-sessions", type=int, default=0,
                        help="then N students upload a --upload-mb dataset at once (0: skip)")
    parser.add_argument("--upload-mb", type=float, default=60.0)
    parser.add_argument("--app-dir", type=Path, default=ROOT,
                        help="folder holding app.py (e.g. `git archive HEAD` unpacked, to measure a fixed version)")
    args = parser.parse_args()
    if any(not 1 <= n <= MAX_SESSIONS for n in args.sessions):
        parser.error(f"--sessions must be between 1 and {MAX_SESSIONS}")
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; students arrive over "
          f"{args.spread_s:g} s and wait {args.think_s:g} s between actions")
    for n in args.sessions:
        report(load_phase(n, args.action_timeout, args.budget_s, args.app_dir.resolve(), n == args.sessions[-1],
                          args.spread_s, args.think_s))
        print(f"load average after N = {n}: {os.getloadavg()[0]:.2f}")
    if args.upload_sessions:
        if not 1 <= args.upload_sessions <= MAX_SESSIONS or not 0 < args.upload_mb <= 200:
            parser.error(f"--upload-sessions must be 1..{MAX_SESSIONS} and --upload-mb 0..200")
        report_uploads(upload_phase(args.upload_sessions, args.upload_mb, args.action_timeout, args.budget_s,
                                    args.app_dir.resolve()))
        print(f"load average after the uploads: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
