"""Your corpus: run the model over many sequences, then select units over a span and find where else in the
corpus they fire together (LSTMVis), and see which tokens drive which units (RNNVis)."""
from pathlib import Path

import streamlit as st

from lstm_viz.analysis.corpus_match import find_matches, match_selection
from lstm_viz.analysis.token_drivers import co_cluster, token_unit_means, top_tokens_per_unit, top_units_per_token
from lstm_viz.explore.corpus_view import match_rows, record_corpus
from lstm_viz.figures.corpus import match_heatmap
from lstm_viz.figures.heatmaps import LONG_NAMES
from lstm_viz.files.uploads import save_upload
from lstm_viz.files.user_corpus import TEXT_SUFFIXES, UserCorpus, load_user_corpus
from lstm_viz.record.gate_table import GATES_BY_KIND
from app_pages._common import guarded, layer_direction, require_subject, session_cached
from app_pages._corpus_state import remember_corpus
from app_pages._view import controls, figure_style

ROOT = Path(__file__).resolve().parents[1]
UPLOAD_DIR = ROOT / "runs" / "uploads"  # an upload lives here under a random name only while it is parsed
MAX_CORPUS_MB = 50

st.title("Your corpus")
st.caption("Run the model over many sequences of your own. **Select and match**: pick units that are on over "
           "a span of tokens and list every other place in the corpus where they are on together (as in "
           "LSTMVis). **Token drivers**: which tokens make each unit fire (as in RNNVis).")
subject = require_subject("the Corpus page")


def read_upload(upload, text_column: str) -> UserCorpus:
    path = save_upload(upload.getvalue(), upload.name, UPLOAD_DIR, allowed=TEXT_SUFFIXES,
                       max_bytes=MAX_CORPUS_MB * 2**20)
    try:
        return load_user_corpus(path, upload.name, text_column=text_column or None)
    finally:
        path.unlink(missing_ok=True)  # parsed into memory: nothing of the user's stays on disk


source = st.radio("Corpus", ["The model's own dataset", "Upload a file"], horizontal=True, key="corpus_source")
corpus = None
if source == "Upload a file":
    c1, c2 = st.columns([3, 1])
    upload = c1.file_uploader("One sequence per line (.txt), CSV/TSV with a text column, or CoNLL-U",
                              type=[s.lstrip(".") for s in TEXT_SUFFIXES], key="corpus_upload")
    column = c2.text_input("Text column (CSV/TSV)", "", key="corpus_column", placeholder="text")
    if upload is None:
        st.info(f"Choose a file (at most {MAX_CORPUS_MB} MB).")
        st.stop()
    corpus_key = (upload.file_id, column)
    corpus = guarded(session_cached, "corpus_file", subject, corpus_key, lambda: read_upload(upload, column))
    if corpus is not None:
        remember_corpus(corpus)  # the session's corpus: Saturation measures over it too
else:
    examples = subject.examples("train", n=2000, max_len=200) if hasattr(subject, "examples") else []
    if not examples:
        st.info("This model has no dataset here: upload a file instead.")
        st.stop()
    corpus_key = ("dataset",)
    corpus = session_cached("corpus_file", subject, corpus_key, lambda: UserCorpus(
        "dataset sample", "lines", tuple(tuple(ex.tokens) for ex in examples)))
if corpus is None:
    st.stop()

module = subject.module  # names, layers and directions from the recurrent layer itself
names = list(GATES_BY_KIND[subject.kind]) + (["cell"] if subject.kind == "lstm" else []) + ["hidden"]
with controls("What to record"):
    c1, c2 = st.columns([1, 2])
    name = c1.selectbox("Gate or state", names, index=len(names) - 1, key="corpus_name", format_func=LONG_NAMES.get)
    with c2:
        layer, direction = layer_direction(getattr(module, "num_layers", 1),
                                           2 if getattr(module, "bidirectional", False) else 1, key="corpus")
with st.spinner(f"Running the model over {len(corpus.sequences):,} sequences..."):
    recorded = guarded(session_cached, "corpus_record", subject, (corpus_key, name, layer, direction),
                       lambda: record_corpus(subject, corpus, name, layer, direction))
if recorded is None:
    st.stop()
acts = recorded.activations
st.caption(f"{corpus.name}: {recorded.sequences:,} sequences, {acts.values.shape[0]:,} token steps, "
           f"{acts.units} units; {recorded.unknown:,} tokens read as <unk>"
           + (f"; {recorded.note}" if recorded.note else ".")
           + (" The Saturation page now measures over this corpus too." if source == "Upload a file" else ""))

style = figure_style()
match_tab, drivers_tab = st.tabs(["Select and match", "Token drivers"])
with match_tab:
    mode = st.radio("Select by", ["a span of tokens", "one unit and a threshold"], horizontal=True, key="corpus_mode")
    c1, c2 = st.columns(2)
    threshold = c2.slider("On above", -1.0, 1.0, 0.5, step=0.05, key="corpus_threshold")
    if mode == "a span of tokens":
        first_rows = {}
        for row, s in enumerate(acts.sequence[:20000]):
            first_rows.setdefault(int(s), row)
        shown = list(first_rows)[:200]
        seq = c1.selectbox("Sequence", shown, key="corpus_seq", format_func=lambda s: " ".join(
            acts.tokens(first_rows[s], first_rows[s] + 12)) + " ...")
        length = int((acts.sequence == seq).sum())
        toks = acts.tokens(first_rows[seq], first_rows[seq] + length)
        span = st.select_slider("Span", options=list(range(length)), value=(0, 0),
                                format_func=lambda t: f"{t}: {toks[t]}", key="corpus_span") \
            if length > 1 else (0, 0)
        start = first_rows[seq] + int(span[0])
        units, matches = guarded(match_selection, acts, start, first_rows[seq] + int(span[1]) + 1, threshold,
                                 top=50) or ([], [])
        st.markdown(f"**{len(units)} unit(s) on over the span:** {', '.join(map(str, units[:40]))}"
                    + (" ..." if len(units) > 40 else ""))
    else:
        unit = c1.number_input("Unit", 0, acts.units - 1, 0, key="corpus_unit")
        units = [int(unit)]
        matches = guarded(find_matches, acts, units, threshold, top=50) or []
    st.markdown(f"**{len(matches)} match(es)**" + (" (the best 50)" if len(matches) == 50 else ""))
    if matches:
        st.dataframe(match_rows(matches), hide_index=True, width="stretch", height=300)
        best = st.selectbox("Show match", list(range(min(len(matches), 50))), key="corpus_show",
                            format_func=lambda k: f"#{k + 1}: " + " ".join(matches[k].tokens))
        st.plotly_chart(match_heatmap(matches[best], list(units)[:40], name, style=style), width="stretch")

with drivers_tab:
    table = guarded(session_cached, "corpus_means", recorded, 0, lambda: token_unit_means(acts, min_count=2))
    if table is None:
        st.stop()
    c1, c2 = st.columns(2)
    unit = c1.number_input("Unit", 0, acts.units - 1, 0, key="corpus_driver_unit")
    c1.dataframe([{"token": t, "mean": round(v, 3), "count": n} for t, v, n in top_tokens_per_unit(table, int(unit))],
                 hide_index=True, width="stretch")
    token = c2.selectbox("Token", list(table.tokens[:300]), key="corpus_driver_token")
    c2.dataframe([{"unit": u, "mean": round(v, 3)} for u, v in top_units_per_token(table, token)],
                 hide_index=True, width="stretch")
    if acts.units >= 2 and len(table.tokens) >= 2:
        clusters = guarded(co_cluster, table)
        if clusters is not None:
            st.subheader(f"Units and the tokens that drive them: {clusters.n_clusters} co-clusters")
            rows = []
            for k in range(clusters.n_clusters):
                toks, us = clusters.members(k)
                rows.append({"cluster": k, "units": ", ".join(map(str, us[:30])), "tokens": " ".join(toks[:30])})
            st.dataframe(rows, hide_index=True, width="stretch")
