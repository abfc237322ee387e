"""The 'step through the sentence' panel: one unit's gates, its state update with numbers and its
truth-table behaviour at one token, with previous / play / next (the maths lives in
lstm_viz.explore.step_through)."""
from __future__ import annotations

import html
from typing import Sequence

import streamlit as st

from lstm_viz import figures
from lstm_viz.explore.step_through import TokenStep, step_through
from lstm_viz.figures import TRUTH_COLOURS
from lstm_viz.figures.heatmaps import LONG_NAMES

PLAY_EVERY_S = 1.5  # seconds per token while playing: time to read one update aloud


def _sentence(steps: list[TokenStep], now: int, tokens: Sequence[str]) -> str:
    """The input with the current token boxed (HTML; tokens are escaped)."""
    current = steps[now].position
    words = []
    for k, tok in enumerate(tokens):
        tok = html.escape(str(tok))
        if k == current:
            words.append(f'<span style="border:3px solid #111;padding:0 4px;font-weight:700">{tok}</span>')
        else:
            words.append(f'<span style="color:#333">{tok}</span>')
    return '<div style="font-size:1.25rem;line-height:2.2rem">' + " ".join(words) + "</div>"


def _go(key: str, delta: int, n: int) -> None:
    st.session_state[key] = min(max(st.session_state.get(key, 0) + delta, 0), n - 1)


def _toggle_play(key: str) -> None:
    st.session_state[key] = not st.session_state.get(key, False)


def step_through_panel(trace, tokens: Sequence[str], unit: int, layer: int, direction: int, key: str,
                       style: figures.Style, low: float = 0.1, high: float = 0.9, in_url: bool = False) -> None:
    """Previous / play / next over the tokens; the unit's gates, update and behaviour at the current one.
    `in_url`: keep the current step in the URL's `token` parameter (a shared link opens on it)."""
    try:
        steps = step_through(trace, unit, layer, direction, 0, tokens=tokens, low=low, high=high)
    except ValueError as err:
        st.info(str(err))
        return
    pos_key, play_key = f"{key}_step_pos", f"{key}_step_play"
    n = len(steps)
    if not isinstance(st.session_state.get(pos_key), int) or not 0 <= st.session_state[pos_key] < n:
        st.session_state[pos_key] = 0
    playing = bool(st.session_state.get(play_key, False))

    def panel() -> None:
        if st.session_state.get(play_key, False) != playing:
            st.rerun()  # play/pause changes how often this panel reruns: a full rerun applies it
        if playing and st.session_state.get(f"{pos_key}_ticked"):
            if st.session_state[pos_key] >= n - 1:
                st.session_state[play_key] = False
                st.session_state[f"{pos_key}_ticked"] = False
                st.rerun()
            _go(pos_key, 1, n)
        st.session_state[f"{pos_key}_ticked"] = playing
        now = st.session_state[pos_key]
        step = steps[now]
        if in_url and st.query_params.get("token") != (str(now) if now else None):
            if now:
                st.query_params["token"] = str(now)
            else:
                st.query_params.pop("token", None)
        c = st.columns([1, 1, 1, 2])
        c[0].button("Back", icon=":material/skip_previous:", key=f"{key}_prev", disabled=now == 0,
                    on_click=_go, args=(pos_key, -1, n), help="The previous token", width="stretch")
        c[1].button("Pause" if playing else "Play", icon=":material/pause:" if playing else ":material/play_arrow:",
                    key=f"{key}_play", on_click=_toggle_play, args=(play_key,), width="stretch",
                    help=f"One token every {PLAY_EVERY_S:g} s")
        c[2].button("Next", icon=":material/skip_next:", key=f"{key}_next", disabled=now == n - 1,
                    on_click=_go, args=(pos_key, 1, n), help="The next token", width="stretch")
        c[3].markdown(f"**Token {now + 1} of {n}** · unit {unit}"
                      + (" · read right to left (backward direction)" if direction == 1 else ""))
        st.html(_sentence(steps, now, tokens))
        gate_text = " · ".join(f"{LONG_NAMES[g].split(': ')[1]} **{g} = {v:.2f}**" for g, v in step.gates.items())
        st.markdown(gate_text)
        for eq in step.equations:
            st.latex(eq)
        colour = TRUTH_COLOURS.get(step.behaviour, "#DDDDDD")
        st.html(f'<div style="border-left:10px solid {colour};padding:0.3rem 0.8rem;font-size:1.2rem">'
                f'<b>{html.escape(step.behaviour)}</b>: {html.escape(step.meaning)}</div>')

    st.fragment(panel, run_every=PLAY_EVERY_S if playing else None)()
