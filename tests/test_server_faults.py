"""Faults against the real server, through Streamlit's own websocket protocol (no browser): a student who
disconnects in the middle of training and a client that sends a frame that is not a BackMsg each leave the
server serving everyone else."""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from load_server import Server  # noqa: E402
from streamlit_client import StreamlitSession, click  # noqa: E402

websockets = pytest.importorskip("websockets", reason="the websockets client is not installed")
pytestmark = pytest.mark.timeout(300)
TIMEOUT = 180  # seconds one script run may take on a busy 2-core machine


async def visit(port: int) -> list[str]:
    """A normal student: open the app, train the tutorial, see the heatmap; the problems seen."""
    s = StreamlitSession(port)
    await s.connect()
    try:
        await s.rerun(None, (), TIMEOUT)
        run = await s.rerun("Tutorial tagger", (), TIMEOUT)
        run = await s.rerun("Tutorial tagger", (click(run.find("button", "Train it now")),), TIMEOUT)
        return run.errors() + ([] if run.count("plotly_chart") else ["no heatmap"])
    finally:
        await s.close()


async def leave_while_training(port: int) -> None:
    s = StreamlitSession(port)
    await s.connect()
    await s.rerun(None, (), TIMEOUT)
    run = await s.rerun("Tutorial tagger", (), TIMEOUT)
    await s.ws.send(_rerun_bytes(s, click(run.find("button", "Train it now"))))
    await s.close()  # gone before the training (and its script run) ended


def _rerun_bytes(s: StreamlitSession, widget) -> bytes:
    from streamlit.proto.BackMsg_pb2 import BackMsg

    msg = BackMsg()
    msg.rerun_script.page_script_hash = s.pages["Tutorial tagger"]
    msg.rerun_script.widget_states.widgets.append(widget)
    return msg.SerializeToString()


async def send_garbage(port: int) -> int:
    s = StreamlitSession(port)
    await s.connect()
    await s.send_raw(b"\x00not a protobuf\xff" * 10)
    try:
        while True:
            await asyncio.wait_for(s.ws.recv(), 30)
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else -1


@pytest.fixture(scope="module")
def server():
    srv = Server(ROOT)
    try:
        srv.wait_healthy(180)
        yield srv
    finally:
        srv.stop()


def test_a_student_leaving_mid_training_does_not_disturb_the_others(server):
    async def scenario():
        leaving = asyncio.create_task(leave_while_training(server.port))
        problems = await asyncio.gather(visit(server.port), visit(server.port))
        await leaving
        return problems
    assert asyncio.run(scenario()) == [[], []]
    assert server.proc.poll() is None


def test_a_frame_that_is_not_a_backmsg_closes_only_that_connection(server):
    assert asyncio.run(send_garbage(server.port)) == 1002  # protocol error, for that client alone
    assert asyncio.run(visit(server.port)) == []
    assert server.proc.poll() is None
