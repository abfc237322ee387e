"""Export: take a recording away as .npz, as an LSTMVis project, or its gate heatmaps as HTML/PNG."""
import importlib.util
import re
from functools import partial

import streamlit as st

from lstm_viz import figures
from lstm_viz.explore import page_data
from lstm_viz.explore.tokens_read import read_rows, tokens_read
from lstm_viz.analysis import saturation, select_units, truth_table, window_tokens
from lstm_viz.files.figure_files import figure_to_html, figure_to_png
from lstm_viz.files.lstmvis import lstmvis_zip_bytes
from lstm_viz.files.npz import npz_bytes
from lstm_viz.files.out_paths import ExportUnavailable, safe_filename
from app_pages._common import layer_direction, view_cached, subject_and_input
from app_pages._view import figure_style

st.title("Export")
st.caption("Each file is made when you press its download button, in memory (the LSTMVis project passes "
           "through a temporary folder that is deleted at once); nothing is kept on the server.")

subject, probe = subject_and_input("the Export page", key="export")
key = page_data.input_key(probe)
recording = view_cached("trace", subject, key, lambda: subject.trace(probe))
read = tokens_read(probe)
tokens = read.typed
L, D, B, T = recording.num_layers, recording.num_directions, recording.batch_size, recording.steps
H, U = recording.hidden_size, recording.hidden.shape[-1]
base = re.sub(r"[\s_]+", "_", safe_filename(subject.name, "recording"))  # "tagger · lstm" -> "tagger_lstm"
has_gates = bool(recording.gate_names)

st.subheader("What the model read")
if read.unknown:
    st.warning(read.note() + " Every file below records both: what you typed and what the model read.",
               icon=":material/warning:")
    st.dataframe(read_rows(read, 0), hide_index=True, width="content")
else:
    st.caption(read.note())


def npz_file(rec, seqs, seqs_read) -> bytes:
    """The trace with its truth table and saturation at the usual thresholds (0.1, 0.9); a plain RNN has
    no gates for either."""
    extra = {"truth_table": truth_table(rec), "saturation": saturation(rec)} if rec.gate_names else None
    return npz_bytes(rec, seqs, extra, tokens_read=seqs_read)


# ------------------------------------------------------------------------------------------------ npz
st.subheader("The recording (.npz)")
# deferred: each file is made only when its button is pressed, in a thread of its own (partial binds the values)
st.download_button("Download the recording (.npz)", partial(npz_file, recording, tokens, read.read),
                   file_name=f"{base}.npz", mime="application/octet-stream", icon=":material/download:",
                   key="export_npz")
gate_rows = "\n".join(f"| `gate_{g}` | [{L}, {D}, {B}, {T}, {H}] | gate {g} after its activation |"
                      for g in recording.gate_names)
cell_rows = (f"| `cell` | [{L}, {D}, {B}, {T}, {H}] | cell state c_t |\n"
             f"| `c_n` | [{L * D}, {B}, {H}] | final cell state |\n") if recording.cell is not None else ""
analysis_rows = ("| `truth_table_codes` | [L, D, B, T, H] | category index per unit and token (-1 on padding); "
                 "names in `truth_table_names` |\n"
                 "| `truth_table_shares_per_layer` | [L, D, K] | share of each category |\n"
                 "| `saturation_left_<gate>`, `saturation_right_<gate>` | [L, D, H] | fraction of steps below 0.1 / "
                 "above 0.9 |\n| `saturation_mean_<gate>`, `saturation_std_<gate>` | [L, D, H] | per unit |\n") \
    if has_gates else ""
with st.expander("What is inside: array names and shapes"):
    st.markdown(
        "Open it with `np.load(path, allow_pickle=False)` or `lstm_viz.files.load_npz_trace(path)`. "
        "L layers, D directions, B sequences, T steps, H units.\n\n"
        "| name | shape | what |\n|---|---|---|\n" + (gate_rows + "\n" if gate_rows else "")
        + f"| `hidden` | [{L}, {D}, {B}, {T}, {U}] | hidden state h_t |\n" + cell_rows
        + f"| `output` | {list(recording.output.shape)} | the module's own output |\n"
        f"| `h_n` | [{L * D}, {B}, {U}] | final hidden state |\n"
        f"| `mask`, `lengths` | [{B}, {T}], [{B}] | valid steps |\n"
        f"| `tokens_typed` (also `tokens`) | [{B}, {T}] | the tokens as typed |\n"
        f"| `tokens_read` | [{B}, {T}] | the tokens as the model read them (`<unk>` outside its vocabulary) |\n"
        "| `meta_json` | [] | kind, gate names, layout, names of the analysis arrays |\n" + analysis_rows)

# -------------------------------------------------------------------------------------------- LSTMVis
st.subheader("LSTMVis project (.zip)")
st.caption("A folder for [LSTMVis](https://github.com/HendrikStrobelt/LSTMVis): `lstm.yml`, `states.h5` "
           "(cell states, and hidden states as outputs), `train.h5` (word ids) and `train.dict` (the words as the "
           "model read them, `<unk>` included), with `typed.dict` and `typed_ids` in `train.h5` for the words as "
           "typed.")
c1, c2, c3 = st.columns(3)
vis_layer = c1.selectbox("Layers", ["all", *range(L)], key="export_vis_layer",
                         format_func=lambda v: "all layers" if v == "all" else f"layer {v}")
vis_direction = c2.radio("Direction", [0, 1], horizontal=True, key="export_vis_direction",
                         format_func=lambda d: ("forward", "backward")[d]) if D == 2 else 0
with_gates = c3.checkbox("Include the gates", key="export_vis_gates", disabled=not has_gates)
st.download_button("Download the LSTMVis project (.zip)",
                   partial(lstmvis_zip_bytes, recording, tokens, layer=None if vis_layer == "all" else vis_layer,
                           direction=vis_direction, include_gates=with_gates and has_gates, name=subject.name,
                           tokens_read=read.read),
                   file_name=f"{base}-lstmvis.zip", mime="application/zip", icon=":material/folder_zip:",
                   key="export_zip")

# ---------------------------------------------------------------------------------------------- figure
st.subheader("Gate heatmaps (HTML, PNG)")
layer, direction = layer_direction(L, D, key="export")
b = st.selectbox("Sequence", list(range(B)), key="export_seq", format_func=lambda i: f"sequence {i + 1}") \
    if B > 1 else 0
window = window_tokens(int(recording.lengths[b]), page_data.MAX_TOKENS)
if window.n_pages > 1:
    page = st.slider("Token page", 1, window.n_pages, 1, key="export_page") - 1
    window = window_tokens(int(recording.lengths[b]), page_data.MAX_TOKENS, page)
units = select_units(recording, "hidden", layer, direction, max_units=page_data.MAX_UNITS)
notes = [n for n in (window.note, units.note) if n]
if notes:
    st.caption("; ".join(notes) + ". The .npz and LSTMVis files hold everything.")
fig = figures.gate_heatmaps(recording, layer=layer, direction=direction, batch_index=b, tokens=read.labels(b),
                            units=units, window=window.slice, style=figure_style(),
                            title=f"{subject.name}: layer {layer}" + (f", {('forward', 'backward')[direction]}"
                                                                       if D == 2 else ""))
st.plotly_chart(fig, width="stretch", key="export_fig")
fig_name = f"{base}-gates-l{layer}-d{direction}-s{b + 1}"
c1, c2 = st.columns(2)
if read.unknown:
    st.caption("In the heatmaps, a word the model read as <unk> is labelled word→unk.")
c1.download_button("Download as HTML (opens offline)",
                   partial(figure_to_html, fig, title=subject.name, caption=f"{subject.name}. {read.note()}"),
                   file_name=f"{fig_name}.html", mime="text/html", icon=":material/html:", key="export_html")
if importlib.util.find_spec("kaleido") is None:
    c2.info("PNG export needs the `kaleido` package and a Chromium: `pip install kaleido` and "
            "`apt-get install chromium` (or `plotly_get_chrome`). The HTML file works without them.")
else:
    png_key = (subject.name, id(subject), key, layer, direction, b, window.start)
    png = st.session_state.get("export_png")
    if png is None or png[0] != png_key:
        if c2.button("Make a PNG (a few seconds)", key="export_make_png"):
            with st.spinner("Drawing the PNG with kaleido..."):
                try:
                    st.session_state["export_png"] = png = (png_key, figure_to_png(fig))
                except ExportUnavailable as err:
                    c2.error(str(err))
    if png is not None and png[0] == png_key:
        c2.download_button("Download as PNG", png[1], file_name=f"{fig_name}.png", mime="image/png",
                           icon=":material/image:", key="export_png_download", on_click="ignore")
