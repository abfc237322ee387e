"""Interventions: clamp a gate or silence units over a span of tokens, and see what the model does then."""
import streamlit as st

from lstm_viz.explore import page_data
from lstm_viz.explore.intervention_view import compare_intervention
from lstm_viz.figures.heatmaps import LONG_NAMES, state_heatmap
from lstm_viz.figures.intervention import difference_figure
from lstm_viz.record.gate_table import SIGMOID_GATES
from lstm_viz.record.intervene import Clamp, Silence
from app_pages._common import guarded, layer_direction, view_cached, subject_and_input
from app_pages._view import controls, figure_style

SILENCE = "silence"
st.title("Interventions")
st.caption("What if a gate were held at a value, or a unit said nothing? The model is run again step by step "
           "with its own weights and the change applied exactly; left is the model as it is, right the "
           "model with the intervention.")

subject, probe = subject_and_input("the Interventions page", key="intervene")
tokens = probe.tokens[0]
recording = view_cached("trace", subject, page_data.input_key(probe), lambda: subject.trace(probe))
style = figure_style()
with controls("What to change"):
    layer, direction = layer_direction(recording.num_layers, recording.num_directions, key="intervene")
    c1, c2 = st.columns(2)
    options = list(recording.gate_names) + [SILENCE]
    what = c1.selectbox("Change", options, key="intervene_what",
                        format_func=lambda g: "silence units (h_t = 0)" if g == SILENCE else f"clamp {LONG_NAMES[g]}")
    sigmoid = what in SIGMOID_GATES
    value = None
    if what != SILENCE:
        value = c2.slider("to the value", 0.0 if sigmoid else -1.0, 1.0, 1.0 if what == "f" else 0.0, step=0.05,
                          key=f"intervene_value_{what}",
                          help="Sigmoid gates lie in [0, 1], the tanh candidate in [-1, 1]")
    n_units = recording.hidden.shape[-1] if what == SILENCE else recording.hidden_size
    c1, c2 = st.columns(2)
    every = c1.toggle("All units", value=False, key="intervene_all")
    units = list(range(n_units)) if every else c1.multiselect(
        "Units", list(range(n_units)), default=[0], key="intervene_units", max_selections=64)
    if len(tokens) > 1:
        span = c2.select_slider("Steps (tokens)", options=list(range(len(tokens))), value=(0, len(tokens) - 1),
                                format_func=lambda t: f"{t}: {tokens[t]}", key="intervene_span")
    else:
        span = (0, 0)
if not units:
    st.info("Choose at least one unit to change.")
    st.stop()
steps = (int(span[0]), int(span[1]) + 1)
change = (Silence(units, layer, direction, steps) if what == SILENCE
          else Clamp(what, float(value), layer, direction, units, steps))
result = guarded(compare_intervention, subject, probe, [change])
if result is None:
    st.stop()

if result.before_predictions is None:
    st.caption("This model has no output layer here, so only the change inside the model is shown.")
else:
    rows = [{"token": t if len(result.before_predictions) > 1 else " ".join(tokens),
             "before": f"{b.label} ({b.probability:.0%})", "after": f"{a.label} ({a.probability:.0%})",
             "changed": "✗" if a.label != b.label else ""}
            for t, b, a in zip(tokens, result.before_predictions, result.after_predictions)]
    st.markdown(f"**Predictions:** {result.changed_predictions} of {len(rows)} changed.")
    st.dataframe(rows, hide_index=True, width="stretch", height=min(38 + 35 * len(rows), 300))

panel = "hidden" if what == SILENCE else what
for names in ([panel] if panel == "hidden" else [panel, "hidden"]):
    left, right = st.columns(2)
    for column, tr, when in ((left, result.before, "before"), (right, result.after, "after")):
        column.markdown(f"**{when.capitalize()}**" + (" the intervention" if when == "after" else ""))
        fig = guarded(state_heatmap, tr, names, layer=layer, direction=direction, tokens=tokens, style=style)
        if fig is not None:
            column.plotly_chart(fig, width="stretch", key=f"intervene_{names}_{when}")
st.plotly_chart(difference_figure(result.difference.tolist(), tokens, steps, style=style,
                                  title="How much h_t changed"), width="stretch")
st.caption("The length of the change of the top layer's h_t (all directions) at each token; the shaded "
           "steps are the ones intervened on.")
