"""Gradients: how far back in time the error signal reaches, in this model and in LSTM vs GRU vs plain RNN."""
import streamlit as st

from lstm_viz.explore import architectures, page_data
from lstm_viz import figures
from lstm_viz.analysis import forget_product
from lstm_viz.record.gradient_flow import gradient_flow
from lstm_viz.training.summary import grad_norm_events
from app_pages._common import (active_run, guarded, layer_direction, session_cached,
                           subject_and_input)
from app_pages._view import figure_style, link, seed_widget, share_view

STYLE = figure_style()

MAX_STEPS = 200  # the step-wise backward costs about a fused forward per step; longer inputs are cut

st.title("Gradients")
st.caption("‖dL/dh_t‖ is how strongly the loss still depends on the hidden state at step t, through every "
           "later step (and ‖dL/dc_t‖ through the LSTM's cell). On a log scale, a straight falling line "
           "is an exponentially vanishing gradient.")

subject, probe = subject_and_input("the Gradients page", key="grad")
batch_first = bool(getattr(subject.module, "batch_first", False))
full, probe = probe, page_data.truncate_probe(probe, MAX_STEPS, batch_first)
if probe is not full:
    st.info(f"Gradients are computed step by step, so long inputs are cut: only the first {MAX_STEPS} of "
            f"{int(full.lengths.max())} tokens are used here.")
key = page_data.input_key(probe)
tokens = probe.tokens[0]


def own_flow():
    return gradient_flow(subject.module, probe.inputs, subject.loss_fn(probe), lengths=probe.lengths)


with st.spinner("Back-propagating through time..."):
    flow = session_cached("flow", subject, key, lambda: guarded(own_flow, prefix="Could not compute gradients: "))
if flow is None:
    st.stop()
seed_widget("grad_layer", link().layer, range(flow.dh.shape[0]), "layer")
seed_widget("grad_direction", link().direction, range(flow.dh.shape[1]), "direction")
layer, direction = layer_direction(flow.dh.shape[0], flow.dh.shape[1], key="grad")
share_view(layer=layer if flow.dh.shape[0] > 1 else None, direction=direction if flow.dh.shape[1] > 1 else None)

st.subheader("This model")
gated = subject.kind in ("lstm", "gru")
fp = None
if gated:
    recording = session_cached("trace", subject, key, lambda: subject.trace(probe))
    fp = forget_product(recording, layer, direction)
st.plotly_chart(figures.gradient_flow_figure({subject.name: flow}, tokens=tokens, forget_product=fp, layer=layer,
                                             direction=direction, style=STYLE), width="stretch")
st.caption(f"Loss: the model's own {'tagging' if subject.task == 'pos' else 'classification'} cross-entropy on "
           f"this input (gold labels when known, else its own predictions); loss = {flow.loss:.3g}."
           + (f" Dotted: the product of the {'forget' if subject.kind == 'lstm' else 'update'} gates after each "
              "step (averaged over units), the share of the memory at t that survives to the end along the "
              "gated path." if gated else ""))

st.subheader("LSTM vs GRU vs plain RNN")
c1, c2 = st.columns(2)
seed = int(c1.number_input("Seed of the untrained modules", 0, 9999, 0, key="grad_seed"))
mode = c2.radio("Layout", ["overlay", "side_by_side"], horizontal=True, key="grad_layout",
                format_func=lambda m: m.replace("_", " "))
sizes = guarded(architectures.module_sizes, subject.module)
if sizes is not None:
    with st.spinner("Running the three untrained modules..."):
        cmp = session_cached("compare", subject, (key, seed), lambda: guarded(
            architectures.compare_gradient_flow, sizes, probe.inputs, probe.lengths, seed))
    if cmp is not None:
        fps = {name: forget_product(tr, layer, direction) for name, tr in cmp.traces.items() if tr.gate_names}
        st.plotly_chart(figures.gradient_flow_figure(cmp.flows, tokens=tokens, forget_product=fps, layer=layer,
                                                     direction=direction, mode=mode, style=STYLE),
                        width="stretch")
        st.caption(f"Fresh, untrained nn.LSTM, nn.GRU and nn.RNN (tanh) with this model's sizes (input "
                   f"{sizes.input_size}, {sizes.hidden_size} units, {sizes.num_layers} layer(s)"
                   f"{', bidirectional' if sizes.bidirectional else ''}; PyTorch's default initialisation under "
                   f"seed {seed}), fed the same inputs. All three get the same loss: a fixed random linear "
                   "readout (a unit vector) of the top layer's final hidden state, so each starts from the same "
                   "error signal at the last step. Untrained LSTM forget gates sit near 0.5, so even the LSTM "
                   "forgets fast here; training usually opens them.")

st.subheader("Per-gate parameter gradients during training")
run = active_run()
if run is None:
    st.info("This model was loaded from a file: it has no training history to show.")
else:
    snapshot = run.snapshot()
    every = run.train_config.grad_norm_every if run.train_config is not None else None  # None: settings unknown
    events = grad_norm_events(snapshot)
    if events:
        st.plotly_chart(figures.gate_grad_norm_curves(events, style=STYLE), width="stretch")
        st.caption(f"L2 norm of the gradient of each gate's weights and biases during the training of **{run.name}**"
                   + ((", logged every step." if every == 1 else f", logged every {every} steps.") if every else "."))
    elif not snapshot.events:
        st.info(f"**{run.name}** has no training history here: it was loaded from a checkpoint (which keeps the "
                "weights, not the training events), or it has not finished a step yet.")
    else:
        st.info(f"**{run.name}** logged no per-gate gradient norms (grad_norm_every = {every}; 0 means never).")
