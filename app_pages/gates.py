"""Gates: every gate, the cell state and the hidden state of one input, token by token, on fixed colours."""
import streamlit as st

from lstm_viz.explore import page_data
from lstm_viz.analysis import window_tokens
from lstm_viz.figures.heatmaps import LONG_NAMES
from app_pages._common import guarded, layer_direction, subject_and_input, view_cached
from app_pages._step_through import step_through_panel
from app_pages._view import controls, figure_style, link, projector_on, seed_widget, share_view

st.title("Gates")
# the figure comes first, right under the title (a fresh browser at 1280x720 sees it without scrolling); the
# notices, the input and the settings it is drawn with follow below it
figure_slot = st.container()

subject, probe = subject_and_input("the Gates page", key="gates")
key = page_data.input_key(probe)
recording = view_cached("trace", subject, key, lambda: subject.trace(probe))


def predict():
    try:
        return subject.predict(probe.tokens), ""
    except (ValueError, TypeError, RuntimeError) as err:  # a head that does not fit must not stop the page
        return None, f"Could not predict: {err}"


def gate_flipper(panels: list[str]) -> None:
    """Projector mode's one panel at a time: Back, the panel's name, Next (under the figure)."""
    def flip(delta: int) -> None:
        k = panels.index(st.session_state["gates_one"])
        st.session_state["gates_one"] = panels[(k + delta) % len(panels)]

    b1, b2, b3 = st.columns([1, 3, 1])
    b1.button("Back", icon=":material/chevron_left:", on_click=flip, args=(-1,), key="gates_prev_panel",
              help="The previous gate or state", width="stretch")
    b2.segmented_control("Gate or state", panels, format_func=lambda n: LONG_NAMES[n].split(":")[0],
                         key="gates_one", label_visibility="collapsed")
    b3.button("Next", icon=":material/chevron_right:", on_click=flip, args=(1,), key="gates_next_panel",
              help="The next gate or state", width="stretch")


predicted, why = view_cached("predict", subject, key, predict)
if why:
    st.warning(why)
tokens = probe.tokens[0]
gold = probe.targets[0] if probe.targets else None

# what the model says about this input
pos_tags = predicted[0] if predicted and subject.task == "pos" else None
if subject.task == "sentiment" and predicted:
    figure_slot.markdown(f"**Predicted sentiment:** {predicted[0]}" + (f" (gold: {gold})" if gold is not None else ""))
elif pos_tags is not None:
    st.caption("Predicted tags are shown under each token" + (" (✗ marks a wrong one, then the gold tag)."
                                                             if gold is not None else "."))
elif predicted is None:
    st.caption("This model has no output layer, so there are no predictions to show.")

style = figure_style()
view_link = link()
seed_widget("gates_layer", view_link.layer, range(recording.num_layers), "layer")
seed_widget("gates_direction", view_link.direction, range(recording.num_directions), "direction")
with controls("Layer, units and order"):
    layer, direction = layer_direction(recording.num_layers, recording.num_directions, key="gates")
    names = page_data.rank_targets(recording)
    c1, c2, c3 = st.columns(3)
    tags = (gold if gold is not None else pos_tags) if subject.task == "pos" else None
    tag_options = page_data.correlation_tags(tags, subject.label_names)
    orders = [o for o in page_data.ORDERS if o != "correlation" or tag_options]
    labels = {"index": "unit index", "variance": "variance (most active first)",
              "saturation": "saturation (most saturated first)", "correlation": "correlation with a tag"}
    by = c1.selectbox("Order units by", orders, format_func=labels.get, key="gates_by",
                      help="Rank the units over every token of this input")
    of = c2.selectbox("Ranked on", names, format_func=LONG_NAMES.get, key="gates_of", disabled=by == "index")
    tag = c3.selectbox("Tag", tag_options, key="gates_tag",
                       help="Tags (" + ("gold" if gold is not None else "predicted") + ") that occur in this input") \
        if by == "correlation" else None
    if by != "correlation" and subject.task == "pos" and not tag_options:
        c3.caption("Correlation with a tag needs at least two different tags in the input.")

    total_units = recording.hidden_size
    c1, c2 = st.columns(2, gap="large")
    max_units = page_data.MAX_UNITS
    if total_units > 1:
        most = min(total_units, page_data.MAX_UNITS)
        max_units = c1.slider("Units to show", 1, most, most,
                              key="gates_max_units", help=f"At most {page_data.MAX_UNITS}, chosen by the order above")
    pages = window_tokens(len(tokens), page_data.MAX_TOKENS).n_pages
    page = c2.slider("Token page", 1, pages, 1, key="gates_page",
                     help=f"{page_data.MAX_TOKENS} tokens per page") - 1 if pages > 1 else 0
    panels = list(recording.gate_names) + (["cell"] if recording.cell is not None else []) + ["hidden"]
    if projector_on():  # one panel at a time on a 720 px screen, with previous / next
        seed_widget("gates_one", view_link.gate, panels, "gate")
        shown = None
    else:
        seed_widget("gates_show", view_link.gate, panels, "gate")
        if isinstance(st.session_state.get("gates_show"), str):
            st.session_state["gates_show"] = [st.session_state["gates_show"]]
        shown = st.multiselect("Show", panels, default=None, format_func=LONG_NAMES.get, key="gates_show",
                               placeholder="all gates and states")
if projector_on():
    if st.session_state.get("gates_one") not in panels:
        st.session_state["gates_one"] = panels[0]

    shown = [st.session_state.get("gates_one") or panels[0]]  # a segmented control can be clicked off

seed_widget("gates_unit", view_link.units[0] if view_link.units else None, range(recording.hidden_size), "unit")
options = dict(layer=layer, direction=direction, page=page, by=by, of=of, tags=tuple(tags) if tags else tags,
               tag=tag, unit=st.session_state.get("gates_unit"), max_units=max_units,
               names=tuple(shown) if shown else None, style=style)
shown_tags = tuple(pos_tags) if pos_tags is not None else None
shown_gold = tuple(gold) if pos_tags is not None and gold is not None else None
view = guarded(view_cached, "gates_view", subject, (key, shown_tags, shown_gold, tuple(sorted(options.items()))),
               lambda: page_data.build_gates_view(recording, tokens, shown_tags, shown_gold, **options))
if view is None:
    st.stop()
with figure_slot:
    for note in view.notes:
        st.info(note)
    st.plotly_chart(view.heatmaps, width="stretch")
    if projector_on():
        gate_flipper(panels)
    st.caption("Each column is a token, each row a unit. Sigmoid gates share one colour scale on [0, 1]; the "
               "candidate and the hidden state are on [-1, 1]; the cell state is centred at 0. Colours never "
               "rescale when you page or pick units.")

st.subheader("One unit along the input")
ids = view.units.ids.tolist()
scores = dict(zip(ids, view.units.scores.tolist())) if view.units.scores is not None else {}
if st.session_state.get("gates_unit") not in ids:
    st.session_state["gates_unit"] = view.unit
st.selectbox("Unit", ids, key="gates_unit", format_func=lambda u: f"unit {u}" + (
    f" ({view.units.by} {scores[u]:+.3g})" if u in scores else ""))
st.plotly_chart(view.line, width="stretch")

st.subheader("Step through the sentence")
seed_widget("gates_step_pos", view_link.token, range(len(tokens)), "token")
step_through_panel(recording, tokens, int(st.session_state["gates_unit"]), layer, direction, "gates", style,
                   in_url=True)
share_view(layer=layer if recording.num_layers > 1 else None,
           direction=direction if recording.num_directions > 1 else None,
           units=(int(st.session_state["gates_unit"]),), gate=shown[0] if shown and len(shown) == 1 else None,
           token=int(st.session_state.get("gates_step_pos", 0)) or None)
