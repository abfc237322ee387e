"""What one simulated student does against the app over Streamlit's websocket protocol: the lecture visit
(open the app, Tutorial tagger, train, Gates, Truth table, a new sentence), an oversized dataset upload on the
Train page, and malformed messages no browser would send."""
from __future__ import annotations

import asyncio
import time

import websockets
from streamlit.proto.WidgetStates_pb2 import WidgetState

from streamlit_client import StreamlitSession, click, typed, upload, uploaded, xsrf_token


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


async def trained_session(port: int, timeout: float):
    """A session on the Tutorial tagger page with the tutorial trained: (session, its 'Sentence' box)."""
    s = StreamlitSession(port)
    await s.connect()
    await s.rerun(None, (), timeout)
    run = await s.rerun("Tutorial tagger", (), timeout)
    run = await s.rerun("Tutorial tagger", (click(run.find("button", "Train it now")),), timeout)
    return s, run.find("text_input", "Sentence")


async def malformed(port: int, timeout: float) -> list[str]:
    """Sessions send what no browser would, each in a session of its own: a sentence box given a number, a
    300 kB sentence, a widget id the page never drew, and a frame that is not a BackMsg (the first session
    then reruns once more, to see whether the bad value stuck). Then a fresh session must still be served."""
    out = []
    cases = (("number in the sentence box", lambda box: WidgetState(id=box.text_input.id, double_value=3.0)),
             ("300 kB sentence", lambda box: typed(box, "the dog ate the apple " * 14_000)),
             ("unknown widget id", lambda box: WidgetState(id="$$ID-0123456789abcdef-none", string_value="x")))
    for k, (what, widget) in enumerate(cases):
        s, box = await trained_session(port, timeout)
        try:
            run = await s.rerun("Tutorial tagger", (widget(box),), timeout)
            out.append(f"{what}: {run.seconds:.2f} s, {'; '.join(run.errors() or ['no error shown'])[:160]}")
            if k == 0:
                run = await s.rerun("Tutorial tagger", (), timeout)
                out.append(f"  the same session's next rerun: {'; '.join(run.errors() or ['no error'])[:120]}")
        except Exception as err:  # noqa: BLE001
            out.append(f"{what}: {type(err).__name__}: {err}"[:200])
        finally:
            await s.close()
    s, _ = await trained_session(port, timeout)
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


async def uploading_student(port: int, k: int, data: bytes, timings: dict, errors: list, refusals: list,
                            timeout: float) -> None:
    """A student who uploads `data` as a dataset on the Train page and presses Start (as a browser would if
    the file were under the widget's limit: the server's own limit is server.maxUploadSize)."""
    s = StreamlitSession(port)
    action = "connect"
    try:
        await s.connect()
        await s.rerun(None, (), timeout)
        run = await s.rerun("Train", (), timeout)
        source = WidgetState(id=run.find("radio", "Dataset from").radio.id, string_value="Upload")
        run = await s.rerun("Train", (source,), timeout)
        box = next(el for el in run.elements if el.WhichOneof("type") == "file_uploader")
        action = "upload"
        t0 = time.perf_counter()
        status, file_id, path = await asyncio.to_thread(upload, port, s.session_id, f"big{k}.csv", data,
                                                        await asyncio.to_thread(xsrf_token, port), timeout)
        timings.setdefault("upload (HTTP PUT)", []).append(time.perf_counter() - t0)
        if status != 204:
            refusals.append(f"HTTP {status}")
            return
        action = "start with the upload"
        start = run.find("button", "Start training")
        run = await s.rerun("Train", (source, uploaded(box, file_id, f"big{k}.csv", len(data), path),
                                      click(start)), timeout)
        timings.setdefault("start with the upload", []).append(run.seconds)
        shown = [el.alert.body for el in run.elements if el.WhichOneof("type") == "alert" and el.alert.format == 1]
        refusals.extend(shown[:1] or ["no message"])
        errors.extend(f"upload session {k}: {e}" for e in run.errors() if not e.startswith("error: Cannot start"))
    except Exception as err:  # noqa: BLE001
        errors.append(f"upload session {k}, {action}: {type(err).__name__}: {err}")
    finally:
        await s.close()
