"""Timeline: replay the gates a run recorded on its probe sentences, step by step through training."""
import streamlit as st

from lstm_viz import figures
from lstm_viz.analysis import saturation, truth_table
from app_pages._live import measured, redraw_every
from app_pages._view import figure_style, projector_on
from lstm_viz.training.history import prediction_rows, probe_to_trace, truth_share_history
from app_pages._common import (activate_from_callback, active_run, layer_direction, state,
                           train_tutorial_tagger)

st.title("Timeline")
st.markdown("While a run trains, it records its gates on a few fixed *probe* sentences every so often. Slide "
            "through training to see the gates, the forget/input truth table and the saturation as they were at "
            "that step, and what the model predicted then.")



def quick_tutorial() -> None:
    # in a callback, before the sidebar is drawn: the new run is listed and picked in this very script run
    with st.spinner("Training the tutorial tagger..."):
        run = train_tutorial_tagger()
    if run is not None:
        activate_from_callback(f"run:{run.name}")


run = active_run()
if run is None:
    if (state().active or "").startswith("file:"):  # a built-in model has no history either: as a fresh session
        st.info("The picked model was loaded from a file, so it has no training history. Pick a run in the "
                "sidebar, train one on the **Train** page, or start with the tutorial tagger here.")
    else:
        st.info("No run yet. Train one on the **Train** page, or start with the tutorial tagger right here.")
    st.button("Train the tutorial tagger (about a second)", type="primary", key="tl_quick", on_click=quick_tutorial)
    st.stop()


def pick_step(name: str, steps: list[int]) -> int:
    """The step slider. Its key changes when the recorded steps change (new probes, thinning), so it never
    holds a step that no longer exists; it follows the newest step unless the user picked an older one."""
    memory = st.session_state.setdefault("tl_memory", {})  # run name -> (picked step, newest step then)
    picked, newest_then = memory.get(name, (None, None))
    if picked is None or picked == newest_then:
        value = steps[-1]
    else:
        value = min(steps, key=lambda s: abs(s - picked))
    if len(steps) == 1:
        st.caption(f"One recording so far, at step {steps[0]}.")
        step = steps[0]
    else:
        step = st.select_slider("Training step", steps, value=value, key=f"tl_step_{name}_{len(steps)}_{steps[-1]}",
                                help="Steps at which the run recorded its probe sentences")
    memory[name] = (step, steps[-1])
    return step


def predictions_line(probe, index: int) -> None:
    rows = prediction_rows(probe, index)
    right = sum(r["correct"] for r in rows)
    if "token" in rows[0]:
        words = [f"`{r['token']}`/**{r['predicted']}**" if r["correct"]
                 else f"`{r['token']}`/:red[**{r['predicted']}**] (gold {r['gold']})" for r in rows]
        st.markdown("**Predicted tags:** " + " ".join(words))
        st.caption(f"{right} of {len(rows)} tags right at this step.")
    else:
        r = rows[0]
        verdict = "right" if r["correct"] else f":red[wrong] (gold **{r['gold']}**)"
        st.markdown(f"**Predicted label:** **{r['predicted']}**, {verdict}")


def view(name: str, polling: bool) -> None:
    run = state().runs.get(name)
    if run is None:
        return
    with measured("timeline"):
        replay(run)
    if polling and not run.is_running:
        st.rerun()


def replay(run) -> None:
    snap = run.snapshot()
    probes = snap.probes
    if not probes:
        if snap.status == "running":
            st.info("Waiting for the first recording...")
        elif not snap.events:
            st.info(f"**{run.name}** was loaded from a checkpoint, so there is no training history to replay. "
                    "Train a run on the **Train** page.")
        else:
            st.info(f"**{run.name}** recorded no probe snapshots.")
    else:
        if snap.status == "running":
            st.caption(f"**{run.name}** is training (step {snap.step}); new recordings appear here as they come.")
        steps = [p.step for p in probes]
        step = pick_step(run.name, steps)
        probe = probes[steps.index(step)]
        show_probe(run, probe, probes)


def show_probe(run, probe, probes) -> None:
    sentences = [" ".join(t) for t in probe.tokens]
    c1, c2 = st.columns([3, 2])
    index = c1.selectbox("Probe sentence", range(len(sentences)), format_func=lambda k: sentences[k],
                         key="tl_sentence") if len(sentences) > 1 else 0
    layer, direction = layer_direction(probe.hidden.shape[0], probe.hidden.shape[1], key="tl", where=c2)
    st.markdown(f"#### Step {probe.step} (epoch {probe.epoch})")
    predictions_line(probe, index)
    tokens = list(probe.tokens[index])
    one = probe_to_trace(probe, index, nonlinearity=run.model_config.nonlinearity)
    st.plotly_chart(figures.gate_heatmaps(one, layer=layer, direction=direction, tokens=tokens, style=figure_style()),
                    width="stretch", key="tl_gates")
    if probe.kind == "rnn":
        st.info("A plain RNN has no gates, so there is no truth table or gate saturation to show.")
        return
    every = probe_to_trace(probe)  # all probe sentences: saturation and per-layer shares count them all
    # side by side on a wide screen; one under the other in projector mode (a 2/5 column at 150% cut titles)
    left, right = (st.container(), st.container()) if projector_on() else st.columns([3, 2])
    with left:
        table = truth_table(every)
        st.plotly_chart(figures.truth_table_shares(table, layer=layer, direction=direction, batch_index=index,
                                                   tokens=tokens, style=figure_style()), width="stretch",
                        key="tl_shares")
    with right:
        fig = figures.saturation_scatter(saturation(every), layer=layer, direction=direction, style=figure_style())
        st.plotly_chart(fig, width="stretch", key="tl_saturation")
    history = truth_share_history(probes, layer, direction)
    st.plotly_chart(figures.truth_shares_over_training(history.steps, history.names, history.shares,
                                                       style=figure_style()), width="stretch", key="tl_history")
    st.caption("Fraction of all (probe token, unit) cells of this layer and direction in each category, at every "
               "recorded step.")


polling = run.is_running
st.fragment(view, run_every=redraw_every("timeline") if polling else None)(run.name, polling)
