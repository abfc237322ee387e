"""Truth table: what every unit does to its memory at every token (remember, add, erase, overwrite)."""
import streamlit as st
import torch

from lstm_viz import figures
from lstm_viz.explore import page_data
from lstm_viz.analysis import CATEGORY_DESCRIPTIONS, select_units, truth_table, window_tokens
from app_pages._common import (choose_input, guarded, layer_direction, require_subject, threshold_slider,
                               view_cached)
from app_pages._view import controls, figure_style, link, seed_widget, share_view

STYLE = figure_style()

LSTM_TABLE = """
An LSTM updates its memory as **c<sub>t</sub> = f<sub>t</sub> · c<sub>t-1</sub> + i<sub>t</sub> · g<sub>t</sub>**.
With the input gate *i* and the forget gate *f* near 0 or 1, each unit does one of four things:

| input gate i | forget gate f | behaviour | c<sub>t</sub> becomes |
|:-:|:-:|---|---|
| 0 | 1 | **remember** | c<sub>t-1</sub> (nothing new gets in) |
| 1 | 1 | **add** | c<sub>t-1</sub> + g<sub>t</sub> |
| 0 | 0 | **erase** | about 0 |
| 1 | 0 | **overwrite** | g<sub>t</sub> (the old memory is replaced) |

"0" means below the low threshold, "1" above the high one; anything else is **in between**.
"""
GRU_TABLE = """
A GRU has no separate memory:
**h<sub>t</sub> = (1 - z<sub>t</sub>) · n<sub>t</sub> + z<sub>t</sub> · h<sub>t-1</sub>**, with the candidate
n<sub>t</sub> = tanh(W x<sub>t</sub> + r<sub>t</sub> · (U h<sub>t-1</sub>)). Its analogue of the table:

| update gate z | reset gate r | behaviour | h<sub>t</sub> becomes |
|:-:|:-:|---|---|
| 1 | any | **keep** | h<sub>t-1</sub> |
| 0 | 1 | **overwrite** | n<sub>t</sub>, a candidate that sees all of h<sub>t-1</sub> |
| 0 | 0 | **reset+overwrite** | n<sub>t</sub> built from the input alone |

"0" means below the low threshold, "1" above the high one; anything else is **in between**.
"""

st.title("Truth table")
figure_slot = st.container()  # the figure right under the title (above the fold at 1280x720); settings below it
subject = require_subject("the Truth table page")
if subject.kind == "rnn":
    st.info("This model is a plain RNN: $h_t = \\tanh(W x_t + U h_{t-1} + b)$. It has "
            "**no gates**, so nothing decides to keep or to forget: every step rewrites the whole state, and "
            "there is no truth table to draw. Pick an LSTM or GRU model in the sidebar (or train one on the "
            "**Train** page) to see one.", icon=":material/info:")
    st.stop()

is_lstm = subject.kind == "lstm"
with controls("Thresholds and the table of behaviours"):  # folded in projector mode: the figure comes first
    left, right = st.columns([3, 2])
    left.markdown(LSTM_TABLE if is_lstm else GRU_TABLE, unsafe_allow_html=True)
    with right:
        low, high = threshold_slider("truth")

probe = choose_input(subject, key="truth")
if probe is None:
    st.stop()
key = page_data.input_key(probe)
recording = view_cached("trace", subject, key, lambda: subject.trace(probe))
tokens = probe.tokens[0]
seed_widget("truth_layer", link().layer, range(recording.num_layers), "layer")
seed_widget("truth_direction", link().direction, range(recording.num_directions), "direction")
layer, direction = layer_direction(recording.num_layers, recording.num_directions, key="truth")
table = view_cached("truth_table", subject, (key, low, high), lambda: truth_table(recording, low, high))

keep_gate = "f" if is_lstm else "z"
units = select_units(recording, keep_gate, layer, direction, max_units=page_data.MAX_UNITS, by="variance",
                     batch_index=0)
window = window_tokens(len(tokens), page_data.MAX_TOKENS, 0)
if window.n_pages > 1:
    page = st.slider("Token page", 1, window.n_pages, 1, key="truth_page") - 1
    window = window_tokens(len(tokens), page_data.MAX_TOKENS, page)
    st.info(f"Long input: {window.note}.")
if units.note:
    st.info(f"Many units: {units.note} of the {'forget' if is_lstm else 'update'} gate.")

view_key = (key, low, high, layer, direction, window.start, window.stop, STYLE)  # what the figures are drawn from
fig = guarded(view_cached, "truth_heatmap", subject, view_key, lambda: figures.truth_table_heatmap(
    table, layer, direction, 0, tokens=tokens, units=units, window=window, style=STYLE))
if fig is not None:
    figure_slot.plotly_chart(fig, width="stretch")
shares = guarded(view_cached, "truth_shares", subject, view_key, lambda: figures.truth_table_shares(
    table, layer, direction, 0, tokens=tokens, window=window, style=STYLE))
if shares is not None:
    st.plotly_chart(shares, width="stretch")
st.caption(f"Share of all (token, unit) cells of this input in each behaviour, layer {layer}"
           + (f" {('forward', 'backward')[direction]}" if recording.num_directions > 1 else "") + ":")
cols = st.columns(len(table.names))
for col, name in zip(cols, table.names):
    col.metric(name, f"{table.share(name, layer, direction):.0%}", help=CATEGORY_DESCRIPTIONS.get(name))

st.subheader("Where the units sit at one token")
steps = list(range(window.start, window.stop))
seed_widget("truth_token", link().token, steps, "token")
t = st.selectbox("Token", steps, key="truth_token", format_func=lambda k: f"{k + 1}: {tokens[k]}")
ids = units.indices
a, b = ("i", "f") if is_lstm else ("r", "z")
at = torch.as_tensor(ids)
first = recording.gates[a][layer, direction, 0, t][at].numpy()  # [units]
second = recording.gates[b][layer, direction, 0, t][at].numpy()
diagram = view_cached("truth_diagram", subject, (view_key, int(t)), lambda: figures.truth_table_diagram(
    i=first, f=second, low=low, high=high, style=STYLE) if is_lstm
    else figures.gru_truth_table_diagram(r=first, z=second, low=low, high=high, style=STYLE))
st.caption(f"Each dot is one of the {ids.size} units shown above, at token **{tokens[t]}**: x is its "
           f"{'forget gate f' if is_lstm else 'update gate z'}, y its {'input gate i' if is_lstm else 'reset gate r'}."
           " The coloured corners are the behaviours of the table.")
st.plotly_chart(diagram, width="content")
share_view(layer=layer if recording.num_layers > 1 else None,
           direction=direction if recording.num_directions > 1 else None, token=int(t))
