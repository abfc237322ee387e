"""Tutorial tagger: the PyTorch sequence-models tutorial, trained in a second, with its gates on a sentence."""
import streamlit as st

from lstm_viz import figures
from lstm_viz.explore.subject import InputError
from lstm_viz.serving.limits import LimitError
from lstm_viz.explore.page_data import input_key
from app_pages._common import state, subject_of, view_cached
from app_pages._training_queue import trained_for_this_session, tutorial_run
from app_pages._view import figure_style, remember_input, shared_text, share_view

STYLE = figure_style()
MAX_CHARS = 2_000  # of a typed sentence

st.title("Tutorial tagger")
st.markdown(
    "The tagger from PyTorch's *Sequence Models and LSTM Networks* tutorial: two sentences, three tags "
    "(DET determiner, NN noun, V verb), word embeddings of size 6, an LSTM with 6 units, SGD with learning "
    "rate 0.1 for 300 epochs."
)


def tags_and_heatmap(subject, probe) -> tuple:
    tokens = probe.tokens[0]
    return subject.predict([tokens])[0], figures.gate_heatmaps(subject.trace(probe), tokens=tokens, style=STYLE)


def request(fresh: bool) -> None:
    st.session_state["tt_request"] = fresh


# Training waits in the server's queue (its place in line shows meanwhile), so it runs in the script, not in the
# button's callback; once the run is added, a rerun draws the sidebar's picker with it.
fresh = st.session_state.pop("tt_request", None)
if fresh is not None:
    try:
        tutorial_run(fresh=fresh)
    except LimitError as err:
        st.error(f"Cannot train now: {err}")
    else:
        st.rerun()

runs = [r for r in state().runs.values() if r.dataset == "tutorial" and r.status == "finished"]
if not runs:
    st.button("Train it now", type="primary", on_click=request, args=(False,))
    st.info("Press **Train it now**: training takes a few seconds on a CPU.")
    st.stop()

run = runs[-1]
snap = run.snapshot()
if getattr(run, "shared", False):
    c1, c2 = st.columns([4, 1], vertical_alignment="center")
    c1.info("Trained on this server just now, once for everyone: every student who trains it with these settings "
            "gets a copy of this result." if trained_for_this_session(run) else
            "This exact run (the same settings and seed) was already trained on this server, so you got a copy "
            "of its result at once: training it again would give identical weights (one CPU thread, fixed order, "
            "fixed seed).")
    c2.button("Train it anew", on_click=request, args=(True,), help="Trains your own run from scratch (it may "
              "wait its turn in the server's queue)")
else:
    st.button("Train it again", on_click=request, args=(True,))
subject = subject_of(run)
c1, c2, c3 = st.columns(3)
c1.metric("Training time", f"{snap.elapsed_s:.2f} s")
c2.metric("Final loss", f"{snap.metrics.get('loss', float('nan')):.3f}")
c3.metric("Training accuracy", f"{snap.metrics.get('accuracy', float('nan')):.0%}")

# no max_chars: Streamlit would slice a non-text value sent by a hand-made client and fail; cut below instead
text = st.text_input("Sentence", shared_text("The dog ate the apple"), key="tutorial_text",
                     help="Words the tutorial never saw become <unk>.",
                     on_change=lambda: remember_input(text=st.session_state["tutorial_text"]))  # only typed ones
if not isinstance(text, str):  # only a hand-made client sends that; a browser always sends text
    st.error(f"The sentence box received {type(text).__name__} {str(text)[:40]!r}, not text: type a sentence. "
             "Showing the default sentence meanwhile.")
    text = "The dog ate the apple"
if len(text) > MAX_CHARS:
    st.caption(f"Only the first {MAX_CHARS:,} characters of the sentence are read.")
    text = text[:MAX_CHARS]
try:
    probe = subject.input_from_text(text)
except InputError as err:
    st.error(str(err))
    st.stop()
if probe.unknown:
    st.warning(f"Not in the tutorial's vocabulary (read as <unk>): {', '.join(probe.unknown)}")
tokens = probe.tokens[0]
# the shared run has identical weights in every session: one trace and figure per server (view_cached)
tags, figure = view_cached("tutorial_view", subject, (input_key(probe), STYLE),
                           lambda: tags_and_heatmap(subject, probe))
st.markdown("**Predicted tags:** " + " ".join(f"`{w}`/**{t}**" for w, t in zip(tokens, tags)))
st.plotly_chart(figure, width="stretch")
st.caption("Input, forget and output gates are sigmoids on [0, 1] (one colour scale); the candidate g, the cell "
           "state and the hidden state are centred at 0. Each column is a word, each row one of the 6 units.")
share_view()
