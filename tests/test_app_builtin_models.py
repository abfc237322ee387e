"""A fresh session opens every analysis page on a trained built-in model, without a click; live training
stays one click away; the built-in models are listed in the model picker."""
from __future__ import annotations

import base64
import html
import json
import re

import numpy as np
import pytest

from lstm_viz.teaching.builtin import available_builtins, default_builtin_key

from .apptest_util import assert_clean, button, open_page

pytestmark = pytest.mark.timeout(300)


def _z(trace: dict) -> np.ndarray:
    z = trace["z"]
    if isinstance(z, dict) and "bdata" in z:
        return np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"])  # flat: only the values matter
    return np.asarray(z, dtype=float)


# one cell of the home page's HTML heatmap: its tooltip names unit, token and gate; data-v holds the value
HOME_CELL = re.compile(r'title="unit (\d+) · (.*?) · (\w+) = [^"]*" data-v="([^"]+)"')


def _home_heatmap(at) -> tuple[str, list[int], list[str], np.ndarray]:
    """(gate, unit ids by row, tokens by column, values [units, tokens]) of the home page's one heatmap."""
    (picture,) = [m.value for m in at.markdown if 'class="lvh ' in m.value]
    cells = [(int(u), html.unescape(t), g, float(v)) for u, t, g, v in HOME_CELL.findall(picture)]
    units = list(dict.fromkeys(c[0] for c in cells))
    tokens = [c[1] for c in cells[: len(cells) // len(units)]]
    (gate,) = {c[2] for c in cells}
    return gate, units, tokens, np.array([c[3] for c in cells]).reshape(len(units), len(tokens))


def test_fresh_gates_page_shows_a_trained_model_without_a_click():
    assert default_builtin_key() == "ewt-pos-lstm"
    at = open_page("app_pages/gates.py")
    assert_clean(at)
    assert at.session_state["model_picker"] == "builtin:ewt-pos-lstm"
    picker = at.sidebar.selectbox(key="model_picker")
    assert [spec.title for spec in available_builtins()] == picker.options[:len(available_builtins())]
    heat = json.loads(at.get("plotly_chart")[0].proto.spec)
    gates = [_z(t) for t in heat["data"][:3]]  # i, f, g ... on the shared [0, 1] colour axis first
    values = np.concatenate([g[np.isfinite(g)].ravel() for g in gates[:2]])
    assert values.size and ((values < 0.1) | (values > 0.9)).mean() >= 0.25  # meaningful, saturated gates
    # the default sentence is one the built-in tagger knows every word of: no <unk> warning on a fresh page
    assert at.text_input(key="gates_text").value == "The dog ate the food"
    assert not [w.value for w in at.warning if "<unk>" in w.value]
    # live training is still one click away, and then the session's own model is shown
    button(at, "Train the tutorial tagger").click()
    at.run()
    assert_clean(at)
    assert at.session_state["model_picker"].startswith("run:")


def test_every_builtin_word_model_gets_a_default_sentence_it_knows():
    from lstm_viz.explore.subject import DEFAULT_TEXTS, default_text
    from lstm_viz.teaching.builtin import builtin_subject

    for spec in available_builtins():
        subject = builtin_subject(spec.key)
        text = default_text(subject)
        assert text in DEFAULT_TEXTS[subject.task]
        assert subject.input_from_text(text).unknown == (), (spec.key, text)
    # the tutorial tagger keeps the sentence it was trained on; the EWT tagger would read "apple" as <unk>
    assert default_text(builtin_subject("tutorial-tagger")) == "The dog ate the apple"
    assert builtin_subject("ewt-pos-lstm").input_from_text("The dog ate the apple").unknown == ("apple",)


def test_preset_inputs_are_made_once_per_subject():
    """Every page asks for the prepared inputs on every rerun; a built-in subject (shared by every session)
    makes them once, and a caller that edits the returned dict changes nothing for the next one."""
    from lstm_viz.teaching.builtin import builtin_subject

    subject = builtin_subject("ewt-pos-lstm")
    first, second = subject.preset_inputs(), subject.preset_inputs()
    assert first and list(first) == list(second) and all(first[t] is second[t] for t in first)
    assert all(p.targets is not None for p in first.values())  # dataset examples with their gold tags
    first.clear()
    assert list(subject.preset_inputs()) == list(second)
    assert len(subject.preset_inputs(3)) == 3


def test_fresh_home_page_shows_a_trained_models_forget_gate():
    """No click: the home page shows the built-in tagger's own forget gate (recorded exactly) on its default
    sentence, for the units that vary most along it."""
    from lstm_viz.analysis.trace_access import values
    from lstm_viz.explore.subject import default_text
    from lstm_viz.teaching.builtin import builtin_subject

    at = open_page("app_pages/home.py")
    assert_clean(at)
    assert not at.get("plotly_chart")  # plain HTML, painted before the chart library loads (requested 0.7 s later)
    gate, units, tokens, z = _home_heatmap(at)
    assert gate == "f" and tokens == ["The", "dog", "ate", "the", "food"]
    subject = builtin_subject(default_builtin_key())
    f = values(subject.trace(subject.input_from_text(default_text(subject))), "f")[0, 0, 0].numpy()  # [T, U]
    np.testing.assert_allclose(z, f[:, units].T, atol=1e-5)  # [units, tokens]
    assert len(units) == 16 and f[:, units].var(0).min() >= np.sort(f.var(0))[-16] - 1e-9  # the 16 most varying
    assert ((f[:, units] < 0.1) | (f[:, units] > 0.9)).mean() >= 0.25  # a trained model's gates: shut or open


def test_home_page_follows_the_sessions_own_model():
    """Once the session trained the tutorial tagger, the home page shows that model's forget gate (all 6 units)."""
    at = open_page("app_pages/gates.py")
    button(at, "Train the tutorial tagger").click()
    at.run()
    at.switch_page("app_pages/home.py")
    at.run()
    assert_clean(at)
    gate, units, tokens, _ = _home_heatmap(at)
    assert gate == "f" and tokens == ["The", "dog", "ate", "the", "apple"] and len(units) == 6
    assert any("reading *The dog ate the apple*:" in m.value for m in at.markdown)
