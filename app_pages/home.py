"""Home: what the app is, a trained model's gates at once (no click, no training), and where to start."""
import streamlit as st

from lstm_viz.explore import page_data
from lstm_viz.explore.subject import InputError, default_text
from lstm_viz.figures.heatmaps import LONG_NAMES
from app_pages._chart_bundle import request_chart_bundle_after_page
from app_pages._common import active_subject, view_cached
from app_pages._view import figure_style, projector_on, share_view

HOME_UNITS = 16  # the units that change most: a picture on the first screen, not a table (all are on Gates)


def first_gates() -> None:
    """The picked model's (on a fresh session: a trained built-in model's) forget gate (GRU: update gate) on its
    default sentence, the units that change most along it: the picture a lecturer opens the app for."""
    subject = active_subject()
    if subject is None or not subject.accepts_text:
        return
    try:
        probe = subject.input_from_text(default_text(subject))
    except InputError:
        return
    key = page_data.input_key(probe)
    style = figure_style()
    try:
        recording = view_cached("trace", subject, key, lambda: subject.trace(probe))  # the Gates page's own entry
        name = next((n for n in ("f", "z") if n in recording.gate_names), "hidden")  # RNN: no gate
        picture, shown = view_cached("home_picture", subject, (key, name, style), lambda: page_data.first_picture(
            recording, probe.tokens[0], name, HOME_UNITS, style=style))
    except (ValueError, TypeError, RuntimeError) as err:  # the home page never fails: the Gates page says more
        st.caption(f"Could not draw the gates of {subject.name}: {err}")
        return
    st.markdown(f"The **{LONG_NAMES[name].split(': ')[1]}** of **{subject.name}** reading "
                f"*{' '.join(probe.tokens[0])}*" + (f", its {shown} units that change most" if shown <
                                                     recording.hidden_size else "")
                + (": yellow keeps the cell's memory (1), dark erases it (0)." if name == "f" else "."))
    # plain HTML (escaped: figures/html_heatmap.py), drawn before the chart library loads; markdown's renderer is in
    # the browser's first load already (st.html's is fetched on demand)
    st.markdown(picture, unsafe_allow_html=True)
    st.page_link("app_pages/gates.py", label="Every gate, the cell and the hidden state, token by token: Gates",
                 icon=":material/traffic:")


st.title("lstm-viz")
if not projector_on():  # on a projector the picture comes right under the title (whole on screen at 150% zoom)
    st.markdown("See what happens **inside** an LSTM, GRU or plain RNN at every time step: the gates opening and "
                "closing, the cell state carrying information along the sentence, and the gradient flowing back "
                "in time.")
first_gates()
st.markdown(
    """
**Start here**
- **Tutorial tagger** trains the classic PyTorch sequence-model tagger in about a second and shows its
  gates on a sentence; **Train** watches a bigger model learn.

**In a lecture hall** switch on **Projector mode** in the sidebar (or add `?projector=1` to the address):
large dark text in every figure, one gate at a time, settings folded away. Every analysis page keeps its
view in the address, so a link you prepare opens the same view on the lecture-hall computer. On **Gates** and
**Cell anatomy**, *Step through the sentence* plays the cell update token by token.

Everything you see is recorded exactly from the model's own weights with `lstm_viz.trace`, the same
function you can call from a notebook on any `torch.nn.LSTM`, `GRU` or `RNN`.
"""
)
share_view()
request_chart_bundle_after_page()  # once the picture is painted: the next page's charts draw sooner
