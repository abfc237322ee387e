"""A headless Streamlit client: speaks the app's own websocket protocol (/_stcore/stream, protobuf BackMsg
up, ForwardMsg down) the way the browser frontend does, so a benchmark can drive many sessions without a
browser each. Loopback only.

One script run = send BackMsg.rerun_script (page, widget states) and read ForwardMsgs until script_finished;
the elements drawn on the way (delta.new_element) are kept, so a caller can find a button or a text input
by its label and send its widget state in the next rerun, as a click or a typed value would.
"""
from __future__ import annotations

import asyncio
import http.client
import time
import uuid
from dataclasses import dataclass, field
from typing import Optional

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Common_pb2 import FileUploaderState, FileURLs, UploadedFileInfo
from streamlit.proto.Element_pb2 import Element
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

EARLY = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_EARLY_FOR_RERUN")
COMPILE_ERROR = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_WITH_COMPILE_ERROR")
ERROR_ALERT = 1  # Alert.Format.ERROR


@dataclass
class ScriptRun:
    """What one script run drew."""

    elements: list[Element] = field(default_factory=list)
    status: Optional[int] = None
    seconds: float = 0.0

    def find(self, kind: str, label: Optional[str] = None) -> Optional[Element]:
        for el in self.elements:
            if el.WhichOneof("type") == kind and (label is None or getattr(el, kind).label == label):
                return el
        return None

    def count(self, kind: str) -> int:
        return sum(el.WhichOneof("type") == kind for el in self.elements)

    def errors(self) -> list[str]:
        """Tracebacks and st.error messages the page showed, and a script that did not compile."""
        out = [f"exception: {el.exception.type}: {el.exception.message}" for el in self.elements
               if el.WhichOneof("type") == "exception"]
        out += [f"error: {el.alert.body[:200]}" for el in self.elements
                if el.WhichOneof("type") == "alert" and el.alert.format == ERROR_ALERT]
        if self.status == COMPILE_ERROR:
            out.append("script did not compile")
        return out


class StreamlitSession:
    """One browser tab's session on a Streamlit server at 127.0.0.1:port."""

    def __init__(self, port: int):
        self.port = port
        self.url = f"ws://127.0.0.1:{port}/_stcore/stream"
        self.ws = None
        self.session_id = ""  # the server's id for this session (from the new_session message)
        self.pages: dict[str, str] = {}  # page name -> page_script_hash (from the navigation message)

    async def connect(self, timeout: float = 60.0) -> None:
        self.ws = await websockets.connect(self.url, subprotocols=["streamlit"], max_size=2**26,
                                           open_timeout=timeout, ping_interval=None)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def send_raw(self, data: bytes) -> None:
        await self.ws.send(data)

    async def rerun(self, page: Optional[str] = None, widgets: tuple[WidgetState, ...] = (),
                    timeout: float = 120.0) -> ScriptRun:
        """Run the script (on `page`, a page name, or the current/default page) with these widget states."""
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = ""
        state.page_script_hash = self.pages.get(page, "") if page else ""
        state.widget_states.widgets.extend(widgets)
        run = ScriptRun()
        t0 = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        await asyncio.wait_for(self._read_until_finished(run), timeout)
        run.seconds = time.perf_counter() - t0
        return run

    async def _read_until_finished(self, run: ScriptRun) -> None:
        while True:
            fwd = ForwardMsg()
            fwd.ParseFromString(await self.ws.recv())
            kind = fwd.WhichOneof("type")
            if kind == "new_session":
                self.session_id = fwd.new_session.initialize.session_id or self.session_id
            elif kind == "navigation":
                self.pages = {p.page_name: p.page_script_hash for p in fwd.navigation.app_pages}
            elif kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                run.elements.append(fwd.delta.new_element)
            elif kind == "script_finished" and fwd.script_finished != EARLY:
                run.status = fwd.script_finished
                return


def click(element: Element) -> WidgetState:
    """The widget state a click on this button sends."""
    return WidgetState(id=element.button.id, trigger_value=True)


def typed(element: Element, text: str) -> WidgetState:
    """The widget state of a text input after typing `text` and pressing Enter."""
    return WidgetState(id=element.text_input.id, string_value=text)


def xsrf_token(port: int) -> str:
    """The XSRF cookie the server sets on /_stcore/health (an upload must echo it in X-Xsrftoken)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/_stcore/health")
        response = conn.getresponse()
        response.read()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie" and value.startswith("_streamlit_xsrf="):
                return value.split(";", 1)[0].split("=", 1)[1]
        return ""
    finally:
        conn.close()


def upload(port: int, session_id: str, name: str, data: bytes, xsrf: str, timeout: float = 300.0
           ) -> tuple[int, str, str]:
    """PUT one file as the frontend's uploader does (multipart, streamed from `data` without copying it).
    Returns (HTTP status, file_id, upload path)."""
    file_id = uuid.uuid4().hex
    path = f"/_stcore/upload_file/{session_id}/{file_id}"
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}",
               "Content-Length": str(len(head) + len(data) + len(tail)), "X-Xsrftoken": xsrf,
               "Cookie": f"_streamlit_xsrf={xsrf}"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        view = memoryview(data)
        body = [head] + [view[k: k + 2**20] for k in range(0, len(data), 2**20)] + [tail]
        conn.request("PUT", path, body=iter(body), headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status, file_id, path
    except (ConnectionError, OSError):  # the server may close an oversized upload mid-stream
        return 0, file_id, path
    finally:
        conn.close()


def uploaded(element: Element, file_id: str, name: str, size: int, path: str) -> WidgetState:
    """The file uploader's widget state after a successful upload."""
    info = UploadedFileInfo(file_id=file_id, name=name, size=size,
                            file_urls=FileURLs(file_id=file_id, upload_url=path, delete_url=path))
    return WidgetState(id=element.file_uploader.id,
                       file_uploader_state_value=FileUploaderState(uploaded_file_info=[info]))
