"""Cell anatomy: one LSTM step and one GRU step with every value, the equations and the truth-table square."""
import streamlit as st

from lstm_viz.explore import cell_step
from lstm_viz import figures
from lstm_viz.analysis import CATEGORY_DESCRIPTIONS
from lstm_viz.explore.cell_demo import gate_region, parse_numbers, steps_to_trace
from app_pages._step_through import step_through_panel
from app_pages._view import figure_style, share_view

FUNCS = {"i": r"\sigma", "f": r"\sigma", "o": r"\sigma", "r": r"\sigma", "z": r"\sigma", "g": r"\tanh"}
GATE_NAMES = {"i": "input gate i", "f": "forget gate f", "g": "candidate g", "o": "output gate o",
              "r": "reset gate r", "z": "update gate z", "n": "candidate n"}

st.title("Cell anatomy")
st.caption("One step of a single LSTM unit and of a single GRU unit (1 input, 1 unit: every number is a scalar), "
           "with PyTorch's equations. Pick a weight preset, move $x_t$ and the previous state, watch every gate.")
# the thresholds' slider sits at the end of the page (the gate values come first, above the fold); its value
# is read here, before it is drawn, so both tabs use it
THRESHOLDS = (0.1, 0.9)
low, high = st.session_state.get("ca_thresholds", THRESHOLDS)

def edited_weights(kind: str, preset: cell_step.CellPreset, gates: tuple[str, ...]) -> cell_step.CellWeights:
    """The preset's weights, each (w_x, w_h, b) editable; keys include the preset so a new preset starts fresh."""
    w = preset.weights
    rows = []
    with st.expander("Weights (edit to experiment)"):
        st.caption("Per gate: input weight $w_x$, recurrent weight $w_h$ and bias $b$ (PyTorch's `bias_ih`; "
                   "`bias_hh` stays as in the preset).")
        for k, g in enumerate(gates):
            cols = st.columns([1, 2, 2, 2])
            cols[0].markdown(f"**{g}**")
            vals = []
            for col, (label, default) in zip(cols[1:], (("w_x", w.weight_ih[k, 0]), ("w_h", w.weight_hh[k, 0]),
                                                       ("b", w.bias_ih[k]))):
                vals.append(col.number_input(f"{label} ({g})", -20.0, 20.0, float(default), 0.5,
                                             key=f"ca_{kind}_w_{preset.name}_{g}_{label}"))
            rows.append(vals)
    return cell_step.CellWeights(kind, [[r[0]] for r in rows], [[r[1]] for r in rows], [r[2] for r in rows],
                            w.bias_hh)


def gate_equations(step: dict, gates: tuple[str, ...], equations: dict[str, str]) -> None:
    """Each gate on two lines (the definition, then its value), so no formula is wider than a narrow column."""
    for g in gates:
        if g == "n":
            continue  # the GRU candidate gets its substituted form below
        st.latex(rf"\begin{{aligned}} &{equations[g]} \\ &\qquad = {FUNCS[g]}({step['pre_' + g][0]:.2f}) = "
                 rf"{step[g][0]:.3f} \end{{aligned}}")


def metrics(step: dict, names: dict[str, str]) -> None:
    """The step's values, three to a row (six in one row read "0.…" at 150% zoom)."""
    items = list(names.items())
    for start in range(0, len(items), 3):
        cols = st.columns(3)
        for col, (key, label) in zip(cols, items[start:start + 3]):
            col.metric(label, f"{step[key][0]:.3f}")


def sequence_chart(kind: str, preset: cell_step.CellPreset, weights: cell_step.CellWeights) -> None:
    st.subheader("Run it over a sequence")
    text = st.text_input("Inputs $x_1, x_2, \\ldots$ (from a zero state)", ", ".join(f"{v:g}" for v in preset.inputs),
                         key=f"ca_{kind}_seq_{preset.name}")
    try:
        xs = parse_numbers(text)
    except ValueError as err:
        st.error(str(err))
        return
    steps = cell_step.run_preset(cell_step.CellPreset(preset.name, preset.description, weights, xs))
    trace, tokens = steps_to_trace(steps), [f"x={v:g}" for v in xs]
    fig = figures.unit_line(trace, unit=0, tokens=tokens, style=figure_style())
    st.plotly_chart(fig, width="stretch", key=f"ca_{kind}_seq_chart")
    st.markdown("**Step through it**")
    step_through_panel(trace, tokens, 0, 0, 0, f"ca_{kind}", figure_style(), low, high)


def region_note(region: str, where: str) -> None:
    st.markdown(f"### Region: **{region}**")
    st.markdown(f"{CATEGORY_DESCRIPTIONS[region]}  \n({where})")


lstm_tab, gru_tab = st.tabs(["LSTM", "GRU"])

with lstm_tab:
    c0, c1, c2, c3 = st.columns([3, 2, 2, 2])  # the preset's name is not cut at 150% zoom
    name = c0.selectbox("Weight preset", list(cell_step.LSTM_PRESETS), key="ca_lstm_preset")
    preset = cell_step.LSTM_PRESETS[name]
    c0.caption(preset.description)
    x = c1.slider("input $x_t$", -2.0, 2.0, 1.0, 0.1, key="ca_lstm_x")
    h_prev = c2.slider("previous hidden $h_{t-1}$", -1.0, 1.0, 0.0, 0.05, key="ca_lstm_h")
    c_prev = c3.slider("previous cell $c_{t-1}$", -3.0, 3.0, 0.5, 0.1, key="ca_lstm_c")
    weights = edited_weights("lstm", preset, ("i", "f", "g", "o"))
    step = cell_step.lstm_step([x], [h_prev], [c_prev], weights)
    metrics(step, {"i": "input gate i", "f": "forget gate f", "g": "candidate g", "o": "output gate o",
                   "c": "cell c_t", "h": "hidden h_t"})
    region = gate_region("lstm", step["i"][0], step["f"][0], low, high)
    region_note(region, f"i = {step['i'][0]:.3f}, f = {step['f'][0]:.3f}")
    st.plotly_chart(figures.truth_table_diagram(i=step["i"], f=step["f"], low=low, high=high, style=figure_style()),
                    key="ca_lstm_diagram", width="content")
    st.subheader("Equations at these values")
    gate_equations(step, ("i", "f", "g", "o"), cell_step.LSTM_EQUATIONS)
    subst = cell_step.substituted_equations(step)
    for k in ("c", "h"):
        st.latex(cell_step.LSTM_EQUATIONS[k])
        st.latex(subst[k])
    sequence_chart("lstm", preset, weights)

with gru_tab:
    c0, c1, c2 = st.columns([3, 2, 2])
    name = c0.selectbox("Weight preset", list(cell_step.GRU_PRESETS), key="ca_gru_preset")
    preset = cell_step.GRU_PRESETS[name]
    c0.caption(preset.description)
    x = c1.slider("input $x_t$", -2.0, 2.0, 1.0, 0.1, key="ca_gru_x")
    h_prev = c2.slider("previous hidden $h_{t-1}$", -1.0, 1.0, 0.5, 0.05, key="ca_gru_h")
    weights = edited_weights("gru", preset, ("r", "z", "n"))
    step = cell_step.gru_step([x], [h_prev], weights)
    metrics(step, {"r": "reset gate r", "z": "update gate z", "n": "candidate n", "h": "hidden h_t"})
    region = gate_region("gru", step["r"][0], step["z"][0], low, high)
    region_note(region, f"r = {step['r'][0]:.3f}, z = {step['z'][0]:.3f}")
    st.plotly_chart(figures.gru_truth_table_diagram(r=step["r"], z=step["z"], low=low, high=high,
                                                    style=figure_style()), key="ca_gru_diagram", width="content")
    st.subheader("Equations at these values")
    gate_equations(step, ("r", "z"), cell_step.GRU_EQUATIONS)
    subst = cell_step.substituted_equations(step)
    for k in ("n", "h"):
        st.latex(cell_step.GRU_EQUATIONS[k])
        st.latex(subst[k])
    st.caption("PyTorch's GRU: $z = 1$ keeps the old state, and the reset gate multiplies "
               "$W_{hn} h_{t-1} + b_{hn}$ inside the candidate.")
    sequence_chart("gru", preset, weights)

with st.expander("Truth-table thresholds"):
    st.slider("A gate is *closed* below the first value and *open* above the second", 0.0, 1.0, THRESHOLDS, 0.05,
              key="ca_thresholds")
share_view()
