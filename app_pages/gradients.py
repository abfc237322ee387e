"""Gradients: how far back in time the error signal reaches, in this model and in LSTM vs GRU vs plain RNN."""
import streamlit as st

from lstm_viz.explore import architectures, page_data, trained_siblings
from lstm_viz.explore.architectures import KINDS
from lstm_viz import figures
from lstm_viz.analysis import forget_product
from lstm_viz.record.gradient_flow import gradient_flow
from lstm_viz.training.summary import grad_norm_events
from app_pages._common import (active_run, guarded, layer_direction, session_cached, state,
                           subject_and_input)
from app_pages._view import figure_style, link, seed_widget, share_view

STYLE = figure_style()

MAX_STEPS = 200  # the step-wise backward costs about a fused forward per step; longer inputs are cut
SIBLINGS_KEY = "grad_siblings"  # session: model key ("run:NAME", "builtin:KEY") -> (siblings, own accuracy)
BUDGETS = [15, 30, 60, 120, 300]  # seconds of training per missing architecture


@st.cache_resource(show_spinner="Looking for the built-in model's training data...")
def builtin_training(key: str):
    """(KnownTraining, "") or (None, why): loads the recipe's corpus once per server."""
    try:
        return trained_siblings.training_of_builtin(key), ""
    except trained_siblings.UnknownTraining as err:
        return None, str(err)


def known_training():
    """How the shown model was trained, when that is known here: (KnownTraining, "") or (None, why not)."""
    source, _, name = (state().active or "").partition(":")
    if source == "builtin":
        return builtin_training(name)
    if source == "run" and active_run() is not None:
        try:
            return trained_siblings.training_of_run(active_run()), ""
        except trained_siblings.UnknownTraining as err:
            return None, str(err)
    return None, "this model came from a file, and the data it was trained on is unknown"


def train_missing(known, budget: int) -> bool:
    """Train the missing architectures through the server's training queue (place in line shown, one after the
    other) and keep them for this model in the session."""
    from app_pages._training_queue import train_and_wait
    from lstm_viz.serving.limits import LimitError

    bar = st.progress(0.0, text="Starting...")
    done = {}
    kinds = known.missing
    for k, kind in enumerate(kinds):
        bar.progress(k / len(kinds), text=f"Training the {kind} ({k + 1} of {len(kinds)}; at most {budget} s)")
        try:
            done[kind] = trained_siblings.train_sibling(
                known, kind, budget, run=lambda trainer, kind=kind: train_and_wait(trainer, f"The {kind}"))
        except (ValueError, RuntimeError, LimitError) as err:  # a refused setting, a NaN loss, a full queue
            st.error(f"Could not train the {kind}: {err}")
            return False
    bar.progress(1.0, text="Measuring this model on the same split...")
    own = trained_siblings.accuracy_of(subject.model, known)
    st.session_state.setdefault(SIBLINGS_KEY, {})[state().active] = (done, own)
    return True


def trained_caption(known, siblings: dict, own_accuracy, targets_note: str) -> str:
    corpus, split = known.corpus, known.eval_split
    runs = "; ".join(f"{kind}: {s.steps:,} of {s.planned_steps:,} planned steps"
                     + (f" (cut short: {s.message.removeprefix('finished: ')})" if s.cut_short else "")
                     for kind, s in siblings.items())
    accs = ", ".join([f"{known.arch} (this model) {trained_siblings.percent(own_accuracy)}"]
                     + [f"{k} {trained_siblings.percent(s.accuracy)}" for k, s in siblings.items()])
    return (f"**Trained models.** {' and '.join(siblings)} were trained here on {corpus.name} "
            f"({len(corpus.train):,} training examples, the same split as {known.source}), with the same "
            f"vocabulary, settings and seed ({known.train_config.seed}); {runs}"
            + (f" ({known.arch}: {known.steps:,} steps)" if known.steps else "")
            + f". Accuracy on the {split} split ({len(corpus.split(split)):,} examples): {accs}. Each model reads "
            f"the same tokens through its own embedding; the loss is each model's own cross-entropy on "
            f"{targets_note}.")

st.title("Gradients")
st.caption("‖dL/dh_t‖ is how strongly the loss still depends on the hidden state at step t, through every "
           "later step (and ‖dL/dc_t‖ through the LSTM's cell). On a log scale, a straight falling line "
           "is an exponentially vanishing gradient.")
top = st.container()  # this model's curves right under the title (the first screen in projector mode); inputs below

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

top.subheader("This model")
gated = subject.kind in ("lstm", "gru")
fp = None
if gated:
    recording = session_cached("trace", subject, key, lambda: subject.trace(probe))
    fp = forget_product(recording, layer, direction)
top.plotly_chart(figures.gradient_flow_figure({subject.name: flow}, tokens=tokens, forget_product=fp, layer=layer,
                                              direction=direction, style=STYLE), width="stretch")
top.caption(f"Loss: the model's own {'tagging' if subject.task == 'pos' else 'classification'} cross-entropy on "
           f"this input (gold labels when known, else its own predictions); loss = {flow.loss:.3g}."
           + (f" Dotted: the product of the {'forget' if subject.kind == 'lstm' else 'update'} gates after each "
              "step (averaged over units), the share of the memory at t that survives to the end along the "
              "gated path." if gated else ""))

st.subheader("LSTM vs GRU vs plain RNN")
mode = st.radio("Layout", ["overlay", "side_by_side"], horizontal=True, key="grad_layout",
                format_func=lambda m: m.replace("_", " "))
known, unknown_why = known_training()
trained = st.session_state.get(SIBLINGS_KEY, {}).get(state().active) if known is not None else None
if known is not None and trained is None:
    c1, c2 = st.columns([2, 3])
    budget = c1.select_slider("Training time per architecture (s)", BUDGETS, value=60, key="grad_budget",
                              help="Each missing architecture trains with the model's own settings until its "
                                   "epochs are done or this time is up, whichever comes first.")
    running = active_run() is not None and active_run().is_running
    c2.markdown(f"**{known.arch} is trained; {' and '.join(known.missing)} are not.** Train them on the same "
                f"data ({known.dataset}, the same split), vocabulary, settings and seed "
                f"({known.train_config.seed}) to compare trained models.")
    if c2.button(f"Train {' and '.join(known.missing)} the same way", key="grad_train_siblings",
                 disabled=running, help="Wait for the run to finish first." if running else None):
        if train_missing(known, budget):
            st.rerun()
if trained is not None:
    siblings, own_accuracy = trained
    with st.spinner("Back-propagating through the three trained models..."):
        cmp = session_cached("compare_trained", subject, (key, id(siblings)), lambda: guarded(
            trained_siblings.compare_trained, subject, own_accuracy, siblings, probe, known))
    if cmp is not None:
        fps = {name: forget_product(tr, layer, direction) for name, tr in cmp.traces.items() if tr.gate_names}
        st.plotly_chart(figures.gradient_flow_figure(
            cmp.flows, tokens=tokens, forget_product=fps, layer=layer, direction=direction, mode=mode, style=STYLE,
            title="trained " + " vs ".join(KINDS)), width="stretch")
        st.caption(trained_caption(known, siblings, own_accuracy, cmp.targets_note))
    short = [k for k, s in siblings.items() if s.cut_short]
    if short:
        st.warning(f"The time budget stopped the {' and '.join(short)} before the end of their planned training: "
                   "they are partly trained, so this is not yet a fair comparison. Train again with more time "
                   "per architecture.", icon=":material/timer:")
    if st.button("Discard these and train again", key="grad_discard_siblings"):
        st.session_state[SIBLINGS_KEY].pop(state().active, None)
        st.rerun()
else:
    seed = int(st.number_input("Seed of the untrained modules", 0, 9999, 0, key="grad_seed"))
    sizes = guarded(architectures.module_sizes, subject.module)
    if sizes is not None:
        with st.spinner("Running the three untrained modules..."):
            cmp = session_cached("compare", subject, (key, seed), lambda: guarded(
                architectures.compare_gradient_flow, sizes, probe.inputs, probe.lengths, seed))
        if cmp is not None:
            flows, traces = cmp.labelled()
            fps = {name: forget_product(tr, layer, direction) for name, tr in traces.items() if tr.gate_names}
            st.plotly_chart(figures.gradient_flow_figure(
                flows, tokens=tokens, forget_product=fps, layer=layer, direction=direction, mode=mode, style=STYLE,
                title="untrained " + " vs ".join(KINDS) + " (random weights)"), width="stretch")
            st.caption(f"**Untrained: random weights, not this model and not trained on any task.** Fresh "
                       f"nn.LSTM, nn.GRU and nn.RNN (tanh) with this model's sizes (input {sizes.input_size}, "
                       f"{sizes.hidden_size} units, {sizes.num_layers} layer(s)"
                       f"{', bidirectional' if sizes.bidirectional else ''}; PyTorch's default initialisation "
                       f"under seed {seed}), fed the same inputs. All three get the same loss: a fixed random "
                       "linear readout (a unit vector) of the top layer's final hidden state, so each starts "
                       "from the same error signal at the last step. Untrained LSTM forget gates sit near 0.5, "
                       "so even the LSTM forgets fast here; training usually opens them. "
                       + (f"To compare trained models, use a model whose training data is known here: "
                          f"{unknown_why}." if known is None else
                          "Train the missing architectures above to compare trained models."))

st.subheader("Per-gate parameter gradients during training")
run = active_run()
if run is None and (state().active or "").startswith("builtin:"):
    st.info("This built-in model was trained in advance: its training history is not kept with it. Train a "
            "model on the **Train** page to see its per-gate gradients.")
elif run is None:
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
