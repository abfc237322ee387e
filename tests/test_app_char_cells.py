"""AppTest of the Character cells page in the real app: the finding table, LSTM and GRU side by side with the
best unit pre-selected, a held-out file and the user's own code, and bad code input."""
from __future__ import annotations

import re

import pytest

from lstm_viz.teaching.builtin import load_builtin
from lstm_viz.teaching.char_data import PROPERTIES
from lstm_viz.teaching.char_view import MAX_CODE_CHARS

from .apptest_util import assert_clean, open_page

pytestmark = pytest.mark.timeout(300)
PAGE = "app_pages/char_cells.py"
SPAN = re.compile(r'<span style="background:rgb\((\d+),(\d+),(\d+)\)')


ROW = re.compile(r"<tr>(.*?)</tr>")
CELL = re.compile(r"<t[dh][^>]*>(.*?)</t[dh]>")


def coloured(at) -> list[str]:
    """The coloured-code blocks on the page (HTML with one span per character)."""
    return [h.proto.body for h in at.get("html") if "<pre" in h.proto.body]


def finding_table(at) -> list[list[str]]:
    """The finding table's rows (header first) as cell texts."""
    tables = [h.proto.body for h in at.get("html") if "<table" in h.proto.body]
    assert len(tables) == 1
    return [CELL.findall(row) for row in ROW.findall(tables[0])]


def test_page_shows_the_findings_and_both_models():
    at = open_page(PAGE)
    assert_clean(at)
    # the table is HTML in the page's font size (a data grid's small fixed font is unreadable on a projector)
    header, *rows = finding_table(at)
    assert len(rows) == len(PROPERTIES)
    assert {"LSTM unit", "LSTM r", "GRU unit", "GRU r"} <= set(header)
    _, lstm = load_builtin("stdlib-char-lstm")
    best = {f["property"]: f for f in lstm.extra["findings"]}["in_string"]
    row = dict(zip(header, rows[0]))
    assert row["LSTM unit"] == f"{best['state']}[{best['unit']}]" and row["LSTM r"] == f"{best['r']:+.2f}"
    # the best unit is pre-selected for each model, and both are drawn side by side
    picked = at.selectbox(key="cc_unit_lstm_in_string").value
    assert (picked.state, picked.unit) == (best["state"], best["unit"])
    blocks = coloured(at)
    assert len(blocks) == 2 and "LSTM unit" in blocks[0] and "GRU unit" in blocks[1]
    colours = {m.groups() for m in SPAN.finditer(blocks[0])}
    assert len(colours) > 20  # a real spread of activations, not one flat colour


def test_own_code_and_bad_input():
    at = open_page(PAGE)
    at.radio(key="cc_source").set_value("Your own code").run()
    assert_clean(at)
    at.text_area(key="cc_code").input('s = "a string"  # and a comment\n').run()
    assert_clean(at)
    assert all(b.count("<span") == len('s = "a string"  # and a comment\n') for b in coloured(at))
    at.text_area(key="cc_code").input("").run()
    assert_clean(at)
    assert any("empty" in e.value for e in at.error) and not coloured(at)
    at.text_area(key="cc_code").input("\x00\x01binary\x02" * 50).run()
    assert any("binary" in e.value for e in at.error)
    at.text_area(key="cc_code").input("x = 1  # ok\n" * 1000).run()  # 12,000 characters
    assert_clean(at)
    assert any(f"{MAX_CODE_CHARS:,}" in i.value for i in at.info)
    assert all(b.count("<span") == MAX_CODE_CHARS for b in coloured(at))
    at.selectbox(key="cc_property").set_value("line_position").run()
    assert_clean(at)
    assert len(coloured(at)) == 2


def test_projector_mode_is_readable_and_wraps_long_lines():
    """Projector mode: code and the finding table in 20 px text; long lines wrap inside the block instead of
    running out of a 150%-zoomed window, and every character keeps a text colour with >= 4.5:1 contrast."""
    from lstm_viz.teaching.char_view import contrast_ratio

    at = open_page(PAGE)
    at.toggle(key="lv_projector").set_value(True).run()
    at.radio(key="cc_source").set_value("Your own code").run()
    long_line = "x = '" + "a" * 300 + "'  # " + "b" * 200 + "\n"
    at.text_area(key="cc_code").input(long_line).run()
    assert_clean(at)
    blocks = coloured(at)
    assert blocks and all("font-size:20px" in b and "white-space:pre-wrap" in b for b in blocks)
    assert all(b.count("<span") == len(long_line) for b in blocks)
    tables = [h.proto.body for h in at.get("html") if "<table" in h.proto.body]
    assert tables and "font-size:20px" in tables[0]
    assert min(contrast_ratio(v) for v in [k / 500 - 1 for k in range(1001)]) >= 4.5
