"""Tutorial tagger: the PyTorch sequence-models tutorial, trained in a second, with its gates on a sentence."""
import streamlit as st

from lstm_viz import figures
from lstm_viz.explore.subject import InputError
from app_pages._common import activate_from_callback, state, subject_of, train_tutorial_tagger
from app_pages._view import figure_style, remember_input, shared_text, share_view

STYLE = figure_style()

st.title("Tutorial tagger")
st.markdown(
    "The tagger from PyTorch's *Sequence Models and LSTM Networks* tutorial: two sentences, three tags "
    "(DET determiner, NN noun, V verb), word embeddings of size 6, an LSTM with 6 units, SGD with learning "
    "rate 0.1 for 300 epochs."
)

def train_now() -> None:
    # in a callback, before the sidebar is drawn: the sidebar lists and picks the new run in this script run
    with st.spinner("Training 300 epochs..."):
        run = train_tutorial_tagger()
    activate_from_callback(f"run:{run.name}")


runs = [r for r in state().runs.values() if r.dataset == "tutorial" and r.status == "finished"]
st.button("Train it now" if not runs else "Train it again", type="primary", on_click=train_now)
if not runs:
    st.info("Press **Train it now**: training takes about a second on a CPU.")
    st.stop()

run = runs[-1]
snap = run.snapshot()
subject = subject_of(run)
c1, c2, c3 = st.columns(3)
c1.metric("Training time", f"{snap.elapsed_s:.2f} s")
c2.metric("Final loss", f"{snap.metrics.get('loss', float('nan')):.3f}")
c3.metric("Training accuracy", f"{snap.metrics.get('accuracy', float('nan')):.0%}")

text = st.text_input("Sentence", shared_text("The dog ate the apple"), key="tutorial_text", max_chars=2_000,
                     help="Words the tutorial never saw become <unk>.")
remember_input(text=text)
try:
    probe = subject.input_from_text(text)
except InputError as err:
    st.error(str(err))
    st.stop()
if probe.unknown:
    st.warning(f"Not in the tutorial's vocabulary (read as <unk>): {', '.join(probe.unknown)}")
tokens = probe.tokens[0]
tags = subject.predict([tokens])[0]
st.markdown("**Predicted tags:** " + " ".join(f"`{w}`/**{t}**" for w, t in zip(tokens, tags)))

recording = subject.trace(probe)
st.plotly_chart(figures.gate_heatmaps(recording, tokens=tokens, style=STYLE), width="stretch")
st.caption("Input, forget and output gates are sigmoids on [0, 1] (one colour scale); the candidate g, the cell "
           "state and the hidden state are centred at 0. Each column is a word, each row one of the 6 units.")
share_view()
