"""Many students at once against one real `streamlit run app.py` server, without a browser per student.

    nice python benchmarks/bench_load.py [--sessions 1 10 30] [--spread-s 0] [--think-s 0] [--budget-s 1500]

For each N it starts a fresh server on a free loopback port, warms it up with one unmeasured session (the
first script run imports torch and plotly), then runs N sessions at once through Streamlit's own websocket
protocol (benchmarks/streamlit_client.py). Each session: opens the app, opens the Tutorial tagger page,
clicks "Train it now" and waits for the gate heatmap, opens Gates and Truth table, and types a new sentence.
It prints per-action latency (median, p95, max over sessions), errors, and the server's CPU use and resident
memory (from /proc), then stops the server. Loopback only; at most 50 sessions; the whole run stops itself
after --budget-s seconds. Issue-13 goals for N = 30: no errors, page actions p95 < 2 s, train-to-heatmap p95
< 10 s, server memory < 4 GB.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import websockets  # noqa: E402
from streamlit.proto.WidgetStates_pb2 import WidgetState  # noqa: E402
from streamlit_client import StreamlitSession, click, typed  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MAX_SESSIONS = 50
ACTIONS = ("open app", "open Tutorial tagger", "train to heatmap", "open Gates", "open Truth table",
           "change sentence")
PAGE_ACTIONS = ("open app", "open Tutorial tagger", "open Gates", "open Truth table", "change sentence")
TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`streamlit run app.py` on 127.0.0.1, sampled from /proc every half second: CPU seconds and RSS."""

    def __init__(self, app_dir: Path = ROOT):
        self.port = free_port()
        cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
               "--server.port", str(self.port), "--server.headless", "true",
               "--browser.gatherUsageStats", "false",
               # no module reloads when files change under the server (as in a lecture hall deployment)
               "--server.fileWatcherType", "none"]
        self.proc = subprocess.Popen(cmd, cwd=app_dir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True)
        self.peak_rss = 0
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)

    def wait_healthy(self, timeout: float = 120.0) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        self._sampler.start()
                        return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError("server did not become healthy")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime

    def rss(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            try:
                self.peak_rss = max(self.peak_rss, self.rss())
            except OSError:
                return

    def stop(self) -> None:
        self._stop.set()
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


async def student(port: int, k: int, timings: dict, errors: list, timeout: float, cpu=None,
                  delay_s: float = 0.0, think_s: float = 0.0) -> None:
    """One session's visit; each action's seconds go to timings[action], each problem to errors. With `cpu`
    (the server's CPU seconds so far; use it with one session only) each action's server CPU goes to
    timings["cpu " + action]."""
    s = StreamlitSession(port)
    action = "connect"

    async def act(name: str, page, widgets=(), need_chart: bool = False):
        nonlocal action
        action = name
        if name != "open app":
            await asyncio.sleep(think_s)  # a student reads the page before the next click
        before = cpu() if cpu else 0.0
        run = await s.rerun(page, widgets, timeout)
        if cpu:
            timings.setdefault("cpu " + name, []).append(cpu() - before)
        record(timings, errors, k, name, run, need_chart)
        return run

    try:
        await asyncio.sleep(delay_s)
        await s.connect()
        await act("open app", None)
        run = await act("open Tutorial tagger", "Tutorial tagger")
        button = run.find("button", "Train it now")
        if button is None:
            raise RuntimeError("no 'Train it now' button on the Tutorial tagger page")
        await act("train to heatmap", "Tutorial tagger", (click(button),), need_chart=True)
        await act("open Gates", "Gates", need_chart=True)
        run = await act("open Truth table", "Truth table", need_chart=True)
        box = run.find("text_input", "Sentence")
        if box is None:
            raise RuntimeError("no 'Sentence' box on the Truth table page")
        await act("change sentence", "Truth table", (typed(box, f"the cat read a book number {k}"),), True)
    except Exception as err:  # noqa: BLE001 - a benchmark reports every failure and goes on
        errors.append(f"session {k}, {action}: {type(err).__name__}: {err}")
    finally:
        await s.close()


def record(timings: dict, errors: list, k: int, action: str, run, need_chart: bool = False) -> None:
    timings.setdefault(action, []).append(run.seconds)
    problems = run.errors() + (["no figure drawn"] if need_chart and not run.count("plotly_chart") else [])
    errors.extend(f"session {k}, {action}: {p}" for p in problems)


async def malformed(port: int, timeout: float) -> list[str]:
    """One session sends what no browser would: a sentence box given a number, a 300 kB sentence, a widget id
    the page never drew, and a frame that is not a BackMsg. Then a fresh session must still be served."""
    out, s = [], StreamlitSession(port)
    await s.connect()
    await s.rerun(None, (), timeout)
    run = await s.rerun("Tutorial tagger", (), timeout)
    run = await s.rerun("Tutorial tagger", (click(run.find("button", "Train it now")),), timeout)
    box = run.find("text_input", "Sentence")
    cases = (("number in the sentence box", WidgetState(id=box.text_input.id, double_value=3.0)),
             ("300 kB sentence", typed(box, "the dog ate the apple " * 14_000)),
             ("unknown widget id", WidgetState(id="$$ID-0123456789abcdef-none", string_value="x")))
    for what, widget in cases:
        try:
            run = await s.rerun("Tutorial tagger", (widget,), timeout)
            shown = run.errors() or ["no error shown"]
            out.append(f"{what}: {run.seconds:.2f} s, {'; '.join(shown)[:160]}")
        except Exception as err:  # noqa: BLE001
            out.append(f"{what}: {type(err).__name__}: {err}"[:200])
    await s.send_raw(b"\x00not a protobuf\xff" * 10)
    try:  # the server may still deliver what it had queued; then it must close with 1002 (protocol error)
        deadline = time.perf_counter() + 15
        while time.perf_counter() < deadline:
            await asyncio.wait_for(s.ws.recv(), max(0.1, deadline - time.perf_counter()))
        out.append("garbage frame: connection stayed open for 15 s")
    except asyncio.TimeoutError:
        out.append("garbage frame: connection stayed open for 15 s")
    except websockets.ConnectionClosed as closed:
        out.append(f"garbage frame: server closed the connection (code {closed.rcvd.code if closed.rcvd else '?'})")
    fresh = StreamlitSession(port)
    await fresh.connect()
    run = await fresh.rerun("Tutorial tagger", (), timeout)
    out.append(f"a fresh session afterwards: Tutorial tagger in {run.seconds:.2f} s, errors {run.errors() or 'none'}")
    await fresh.close()
    return out


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


if __name__ == "__main__":
    main()
