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


def coloured(at) -> list[str]:
    """The coloured-code blocks on the page (HTML with one span per character)."""
    return [h.proto.body for h in at.get("html") if "<pre" in h.proto.body]


def test_page_shows_the_findings_and_both_models():
    at = open_page(PAGE)
    assert_clean(at)
    table = at.dataframe[0].value
    assert len(table) == len(PROPERTIES)
    assert {"LSTM unit", "LSTM r", "GRU unit", "GRU r"} <= set(table.columns)
    _, lstm = load_builtin("stdlib-char-lstm")
    best = {f["property"]: f for f in lstm.extra["findings"]}["in_string"]
    assert table.iloc[0]["LSTM unit"] == f"{best['state']}[{best['unit']}]"
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
