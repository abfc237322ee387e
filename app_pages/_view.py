"""What a view shares across pages and links: projector mode, this session's current input, and the view's
state in the URL (so a prepared link opens the same view in a fresh browser).

The URL is read once, on a session's first run (`read_link_once`); each page then writes its own state
back (`share_view`). URL values are untrusted: `lstm_viz.explore.view_link` checks them, and every value a
page cannot use (a layer the model lacks) is dropped with a message instead of failing.
"""
from __future__ import annotations

from contextlib import nullcontext
from typing import Iterable, Optional

import streamlit as st

from lstm_viz.explore.view_link import MAX_INPUT_CHARS, ViewLink, parse_view_link, view_link_params
from lstm_viz.figures import DEFAULT_STYLE, PROJECTOR, Style

PROJECTOR_KEY = "lv_projector"  # the sidebar toggle's state
LINK_KEY = "lv_link"  # the ViewLink read from the URL on the session's first run
NOTES_KEY = "lv_link_notes"  # messages about URL parameters that were ignored
INPUT_KEY = "lv_input"  # this session's current input: {"text": str} or {"preset": title}
_READ_KEY = "lv_link_read"


def read_link_once() -> None:
    """On a session's first run: check the URL's parameters and keep what they say."""
    if st.session_state.get(_READ_KEY):
        return
    st.session_state[_READ_KEY] = True
    try:
        params = st.query_params.to_dict()
    except Exception:  # noqa: BLE001 - a URL Streamlit cannot even split must not stop the app
        params = {}
    link, problems = parse_view_link(params)
    st.session_state[LINK_KEY] = link
    st.session_state[NOTES_KEY] = list(problems)
    if link.projector is not None:
        st.session_state[PROJECTOR_KEY] = link.projector
    if link.input is not None:
        st.session_state[INPUT_KEY] = {"text": link.input}


def link() -> ViewLink:
    """What the opening URL asked for (empty when nothing)."""
    return st.session_state.get(LINK_KEY) or ViewLink()


def show_link_notes() -> None:
    """Say (once) which URL parameters were ignored and why; the page goes on with its defaults."""
    notes = st.session_state.get(NOTES_KEY)
    if notes:
        st.warning("This link could not be followed in full:\n\n" + "\n".join(f"- {n}" for n in notes),
                   icon=":material/link_off:")
        st.session_state[NOTES_KEY] = []


# -- projector mode ---------------------------------------------------------------------------------------------
def projector_on() -> bool:
    return bool(st.session_state.get(PROJECTOR_KEY, False))


def figure_style() -> Style:
    """The style every figure of this session is drawn with."""
    return PROJECTOR if projector_on() else DEFAULT_STYLE


def projector_switch() -> None:
    """The sidebar switch (its state outlives page changes because the sidebar draws it on every page)."""
    if PROJECTOR_KEY not in st.session_state:
        st.session_state[PROJECTOR_KEY] = False
    st.sidebar.toggle("Projector mode", key=PROJECTOR_KEY,
                      help="Large dark text in every figure, one panel at a time, settings folded away: for "
                           "1280x720 and 150% zoom. Add ?projector=1 to a link to open in this mode.")


# Streamlit draws metric values at 2.25rem (a narrow column shows "0.…") and lets a wide formula spill out
# of its column; these rules hold in both modes, the larger text only in projector mode. The main column starts
# just under the 3.75rem top bar (Streamlit's 6rem would push a page's figure below the fold at 1280x720).
_BASE_CSS = """
[data-testid="stMainBlockContainer"] { padding-top: 4rem; }
[data-testid="stMain"] h1 { font-size: 2.2rem; padding-top: 0; }
[data-testid="stMetricValue"], [data-testid="stMain"] [data-testid="stMetricValue"] p { font-size: 1.75rem; }
[data-testid="stMetricValue"] > div { overflow: visible; text-overflow: clip; }
.katex-display { overflow-x: auto; overflow-y: hidden; padding: 0.2rem 0; }
"""
_PROJECTOR_CSS = """
/* the top bar is 3.75rem tall: titles stay below it; captions are drawn at 60% opacity: full dark text */
[data-testid="stMainBlockContainer"] { padding: 4rem 1.5rem 4rem 1.5rem; max-width: 100%; }
[data-testid="stMain"] [data-testid="stCaptionContainer"] p { color: #222; }
[data-testid="stMain"] [data-testid="stMarkdownContainer"] p,
[data-testid="stMain"] [data-testid="stMarkdownContainer"] li { font-size: 1.2rem; color: #111; }
[data-testid="stMain"] [data-testid="stCaptionContainer"] { font-size: 1.05rem; color: #222; opacity: 1; }
[data-testid="stMain"] [data-testid="stMetricValue"] p { font-size: 1.75rem; }
[data-testid="stMain"] [data-testid="stMetricLabel"] p { font-size: 1.05rem; }
[data-testid="stMain"] .katex { font-size: 1.3em; }
[data-testid="stMain"] [data-baseweb="select"] div, [data-testid="stMain"] input,
[data-testid="stMain"] textarea { font-size: 1.15rem; color: #111; }
"""


def apply_page_css() -> None:
    st.html(f"<style>{_BASE_CSS}{_PROJECTOR_CSS if projector_on() else ''}</style>")


def controls(label: str = "Settings"):
    """Where a page's settings go: folded into an expander in projector mode, inline otherwise."""
    return st.expander(label, expanded=False, icon=":material/tune:") if projector_on() else nullcontext()


# -- the current input -------------------------------------------------------------------------------------------
def shared_text(default: Optional[str]) -> Optional[str]:
    """The sentence this session last typed on any page (or `default` when none yet)."""
    current = st.session_state.get(INPUT_KEY) or {}
    text = current.get("text")
    return text if isinstance(text, str) else default


def shared_preset(titles: list[str]) -> Optional[str]:
    current = st.session_state.get(INPUT_KEY) or {}
    title = current.get("preset")
    return title if title in titles else None


def remember_input(text: Optional[str] = None, preset: Optional[str] = None) -> None:
    """Make this the input every analysis page opens with."""
    st.session_state[INPUT_KEY] = {"text": text} if preset is None else {"preset": preset}


# -- the view in the URL -----------------------------------------------------------------------------------------
def seed_widget(key: str, value, options: Iterable, what: str) -> None:
    """Before a widget is drawn for the first time in this session: take the link's value when the model
    has it, else say why it was ignored. Later runs keep whatever the user picked."""
    seeded = f"_lv_seeded_{key}"
    if value is None or st.session_state.get(seeded):
        return
    st.session_state[seeded] = True
    options = list(options)
    if value in options:
        st.session_state[key] = value
    else:
        shown = ", ".join(str(o) for o in options[:10]) + (" ..." if len(options) > 10 else "")
        st.warning(f"This link asks for {what} {value!r}, which does not exist here (there: {shown}); "
                   "showing the default instead.", icon=":material/link_off:")


def share_view(**view) -> None:
    """Put this page's view in the URL: model, input, projector mode and the page's own fields (layer,
    direction, units, gate, token). Only writes when something changed (a write is a browser history edit)."""
    from app_pages._common import state

    current = st.session_state.get(INPUT_KEY) or {}
    text = current.get("text")
    fields = dict(projector=True if projector_on() else None, model=state().active,
                  input=text if isinstance(text, str) and text and len(text) <= MAX_INPUT_CHARS else None)
    fields.update({k: v for k, v in view.items() if v is not None})
    checked, _ = parse_view_link(view_link_params(ViewLink(**fields)))  # never write what a link cannot hold
    params = view_link_params(checked)
    try:
        if st.query_params.to_dict() != params:
            st.query_params.from_dict(params)
    except Exception:  # noqa: BLE001 - a view that cannot be put in the URL still works
        pass


# -- a link's model -----------------------------------------------------------------------------------------------
_MISSING_KEY = "lv_missing_model"


def follow_link_model() -> None:
    """Once per session: pick the link's model when this session has it, else remember that it is missing."""
    from app_pages._common import activate_from_callback, model_choices

    wanted = link().model
    if not wanted or st.session_state.get("_lv_model_followed"):
        return
    st.session_state["_lv_model_followed"] = True
    if wanted in model_choices():
        activate_from_callback(wanted)
    else:
        st.session_state[_MISSING_KEY] = wanted


def _use_builtin(key: Optional[str]) -> None:
    from app_pages._common import activate_from_callback, train_tutorial_tagger

    st.session_state.pop(_MISSING_KEY, None)
    if key:
        activate_from_callback(key)
    else:
        train_tutorial_tagger()


def missing_model_notice() -> None:
    """Say that the link's model is not in this session, and offer a built-in one."""
    from app_pages._common import model_choices, state

    wanted = st.session_state.get(_MISSING_KEY)
    if not wanted:
        return
    source, _, name = wanted.partition(":")
    choices = model_choices()
    builtins = [k for k in choices if k.startswith("builtin:")]
    showing = state().active if state().active in choices else None
    st.warning(f"This link shows the model **{name}** ({source}), which this browser session does not have: a "
               "model trained or loaded in one session stays in that session. "
               + (f"Showing **{choices[showing]}** instead; " if showing else "")
               + "the rest of the view (input, layer, units, ...) is applied to the model shown.",
               icon=":material/link_off:")
    offer = builtins[0] if builtins and showing not in builtins else None
    c1, c2 = st.columns(2)
    if offer or not builtins:
        c1.button(f"Use the built-in model {choices[offer]}" if offer else "Train the tutorial tagger (about a second)",
                  on_click=_use_builtin, args=(offer,), type="primary", key="lv_use_builtin")
    if c2.button("Dismiss", key="lv_dismiss_missing"):
        st.session_state.pop(_MISSING_KEY, None)
        st.rerun()
