"""Saturation: how often each unit's gates sit at their extremes over a sample of the data."""
import streamlit as st

from lstm_viz import figures
from lstm_viz.explore import page_data
from lstm_viz.analysis import saturation
from lstm_viz.explore.corpus_view import corpus_sample, prepared_sample
from lstm_viz.figures.heatmaps import LONG_NAMES
from app_pages._common import (choose_input, layer_direction, require_subject, session_cached,
                               threshold_slider, view_cached)
from app_pages._corpus_state import session_corpus
from app_pages._view import controls, figure_style, link, projector_on, seed_widget, share_view

STYLE = figure_style()
MAX_CORPUS_SAMPLE = 2000  # sequences of the user's corpus traced at most (about 40,000 tokens of sentences)

st.title("Saturation")
ON_PROJECTOR = projector_on()  # the scatter is the first screen; the reading notes go under it
INTRO = ("As in Karpathy, Johnson & Fei-Fei (2015), *Visualizing and Understanding Recurrent Networks*, "
         "Fig. 3: a gate is left-saturated when it is below the low threshold (closed), right-saturated "
         "above the high one (open). The tanh candidate uses the same fractions of its range [-1, 1] "
         "(defaults: below -0.8, above 0.8).")
if not ON_PROJECTOR:
    st.caption(INTRO)
top = st.container()  # the scatter right under the title (the first screen in projector mode); settings below
if ON_PROJECTOR:
    st.expander("What saturation means").caption(INTRO)
subject = require_subject("the Saturation page")
corpus = session_corpus()
has_dataset = bool(subject.examples("dev", 1)) if hasattr(subject, "examples") else False
sources = ([f"your corpus {corpus.name!r}"] if corpus is not None else []) + \
    (["the model's dataset"] if has_dataset else ["prepared inputs"])
with controls("Sample and thresholds"):
    source = st.radio("Measure over", sources, horizontal=True, key="sat_source",
                      help="Your corpus: the file last read on the 'Your corpus' page.") \
        if len(sources) > 1 else sources[0]
    c1, c2 = st.columns(2)
    if source.startswith("your corpus"):
        most = min(len(corpus.sequences), MAX_CORPUS_SAMPLE)
        n = c1.slider("Sample size (sequences of your corpus)", 1, most, min(100, most), key="sat_corpus_n",
                      help="A seeded random pick of your corpus's sequences, traced in batches of 32") \
            if most > 1 else 1
    elif has_dataset:
        n = c1.slider("Sample size (sequences)", 20, 200, 100, step=10, key="sat_n",
                      help="Dataset sequences (dev split, else train) traced in batches of 32")
    else:
        n = 20
        c1.caption("This model has no dataset: it is measured over its prepared inputs, named below. Read a "
                   "corpus of your own on **Your corpus** to measure over real data.")
    with c2:
        low, high = threshold_slider("sat")
with st.expander("Flags"):
    f1, f2 = st.columns(2)
    always = f1.slider("Always saturated: saturated at more than this share of the steps", 0.5, 1.0, 0.99,
                       step=0.01, key="sat_always")
    eps = f2.select_slider("Never moving: standard deviation below", [1e-4, 1e-3, 1e-2, 5e-2], value=1e-3,
                           key="sat_eps")


def take_sample():
    try:
        if source.startswith("your corpus"):
            return corpus_sample(subject, corpus, n), ""
        if has_dataset:
            return page_data.sample_traces(subject, n), ""
        return prepared_sample(subject, n), ""
    except ValueError as err:  # no dataset and no prepared inputs; a corpus the model cannot read
        return None, str(err)


with st.spinner(f"Tracing {n} sequences..."):
    own_corpus = source.startswith("your corpus")  # this session's upload: its results stay in the session
    sample_key = (source, n, id(corpus)) if own_corpus else (source, n)
    sample, why = (session_cached if own_corpus else view_cached)("sample", subject, sample_key, take_sample)
if sample is None:
    st.info(f"No sample to measure over: {why}. Measuring over one input instead.")
    probe = choose_input(subject, key="sat")
    if probe is None:
        st.stop()
    key = page_data.input_key(probe)
    sample_key = (*sample_key, key)  # the saturation below is of this input
    sample = page_data.Sample([view_cached("trace", subject, key, lambda: subject.trace(probe))], 1,
                              int(probe.lengths.sum()), "one input")
top.caption(f"Measured over {sample.source} ({sample.n_tokens:,} tokens)"
           + (f"; the dataset has fewer than the {n} asked for." if sample.n_sequences < n
              and sample.source.endswith("sentences") else "."))

first = sample.traces[0]
seed_widget("sat_layer", link().layer, range(first.num_layers), "layer")
seed_widget("sat_direction", link().direction, range(first.num_directions), "direction")
layer, direction = layer_direction(first.num_layers, first.num_directions, key="sat")
share_view(layer=layer if first.num_layers > 1 else None, direction=direction if first.num_directions > 1 else None)

if not first.gate_names:
    st.info("This model is a plain RNN: it has **no gates** to saturate. Below is the distribution of its "
            "hidden state h_t instead; values piled up at -1 and 1 mean saturated tanh units, whose gradient "
            "is almost 0.", icon=":material/info:")
    top.plotly_chart(figures.gate_histograms(sample.traces, layer, direction, style=STYLE), width="stretch")
    st.stop()

sat = (session_cached if own_corpus else view_cached)(
    "saturation", subject, (*sample_key, low, high, always, eps, sample.n_tokens),
    lambda: saturation(sample.traces, low, high, always, eps))
gate = st.radio("Gates in the scatter", ["all", *sat.gate_names], horizontal=True, key="sat_gate",
                format_func=lambda g: "all gates" if g == "all" else LONG_NAMES[g])
c1, c2 = (top, st.expander("Reading the scatter")) if ON_PROJECTOR else top.columns([3, 2])
c1.plotly_chart(figures.saturation_scatter(sat, None if gate == "all" else gate, layer, direction,
                                           style=STYLE), width="stretch")
c2.markdown("**Reading the scatter.** Each dot is one unit (hover for its id). Near (0, 0): the gate "
            "rarely saturates and acts as a soft, graded switch. Along the dotted line x + y = 1: it is "
            "almost always fully open or fully closed, a binary switch. Top left: nearly always open "
            "(for a forget gate: a long memory); bottom right: nearly always closed.")
st.plotly_chart(figures.gate_histograms(sample.traces, layer, direction, style=STYLE), width="stretch")

st.subheader("Units to look at")
rows = [dict(check="always saturated", gate=f.gate, layer=f.layer, direction=("fwd", "bwd")[f.direction],
             unit=f.unit, value=f"{f.value:.1%} of steps saturated") for f in sat.always_saturated] + \
       [dict(check="never moving", gate=f.gate, layer=f.layer, direction=("fwd", "bwd")[f.direction],
             unit=f.unit, value=f"std {f.value:.2g}") for f in sat.never_moving]
if rows:
    st.caption(f"{len(sat.always_saturated)} (gate, unit) pairs are saturated at more than {always:.0%} of the "
               f"steps and {len(sat.never_moving)} barely move (std < {eps:g}), over all layers and directions.")
    st.dataframe(rows, hide_index=True, width="stretch", height=min(36 * (len(rows) + 1), 400))
else:
    st.success(f"No unit is saturated at more than {always:.0%} of the steps, and every unit moves "
               f"(std >= {eps:g}).")
