"""Inspect a model: open your own saved nn.LSTM/GRU/RNN weights and analyse them on every page."""
from pathlib import Path

import streamlit as st

from lstm_viz.files.budgets import APP
from lstm_viz.files.heads import build_head
from lstm_viz.files.inputs import MAX_INPUT_BYTES, MAX_VOCAB_BYTES, load_input_tensor, load_vocab_file
from lstm_viz.files.model_files import MAX_MODEL_BYTES, inspect_model
from lstm_viz.files.server_paths import ServerPathError, resolve_server_path, server_path_policy
from lstm_viz.explore.module_subject import (
    DEFAULT_LOSS, DEFAULT_RANDOM_STEPS, LOSSES, MAX_BATCH, module_subject, reinspect,
)
from lstm_viz.explore.subject import MAX_TOKENS
from lstm_viz.files.safe_load import read_bytes_limited
from lstm_viz.training.loaded_run import load_run
from app_pages._common import add_inspected, add_run, state

BAD_INPUT = (ValueError, TypeError, OSError)  # ModelFileError/InputError/CheckpointError are ValueErrors
FLASH = "inspect_flash"  # message shown after "Use this model" and the rerun that refreshes the model picker

st.title("Inspect a model")
st.markdown(
    "Open a file saved with `torch.save(model.state_dict(), path)` from any model holding an `nn.LSTM`, "
    "`nn.GRU` or `nn.RNN` (or a whole lstm-viz checkpoint). The weights are read as plain data "
    "(`torch.load(weights_only=True)`): no code from the file runs. The recurrent layer is rebuilt from its "
    "weights, and every page (Gates, Truth table, Saturation, Gradients, Export) then works on it.")
FLASH_NOTE = "inspect_flash_note"  # a warning that must survive that rerun too (e.g. why the head was left out)
if FLASH in st.session_state:
    st.success(st.session_state.pop(FLASH))
    if FLASH_NOTE in st.session_state:
        st.warning(st.session_state.pop(FLASH_NOTE))
    st.page_link("app_pages/gates.py", label="Open the Gates page", icon=":material/traffic:")


def cached(slot: str, key: tuple, compute):
    """One value per slot, recomputed only when its key (the file's identity) changes."""
    store = st.session_state.setdefault("inspect_cache", {})
    if slot not in store or store[slot][0] != key:
        store.pop(slot, None)  # free the old file before reading the new one
        store[slot] = (key, compute())
    return store[slot][1]


def content(data):
    """The bytes of an upload (copied only when a file is read, not on every rerun), or the typed Path."""
    return data.getvalue() if hasattr(data, "getvalue") else data


PATH_CHOICE = "Path on the machine running the app"


def file_source(what: str, key: str, max_bytes: int, help: str):
    """(identity, display name, upload or Path) of an uploaded file or a typed path; None when none is given.
    The upload's name is only shown and used for its extension, never as a path. Typed paths are offered only
    when the server-path policy allows them (bound to localhost, or folders named by the operator)."""
    policy = server_path_policy(st.get_option("server.address"))
    choices = ["Upload", PATH_CHOICE] if policy.enabled else ["Upload"]
    how = st.radio(what, choices, horizontal=True, key=f"{key}_how", help=f"{help}. {policy.describe()}")
    if how == "Upload":
        upload = st.file_uploader(what, key=f"{key}_upload", max_upload_size=max_bytes // 2**20,
                                  label_visibility="collapsed")
        if upload is None:
            return None
        if upload.size > max_bytes:
            st.error(f"{upload.name} is {upload.size / 2**20:.1f} MiB, over the limit of "
                     f"{max_bytes / 2**20:.0f} MiB.")
            return None
        return ("upload", upload.file_id, upload.size), upload.name, upload
    text = st.text_input("Path", key=f"{key}_path", placeholder="/home/me/runs/model.pt").strip()
    if not text:
        return None
    try:
        path = resolve_server_path(text, policy, "file", max_bytes=max_bytes)
        stat = path.stat()
    except (ServerPathError, OSError) as err:
        st.error(f"Cannot use this path: {err}")
        return None
    return ("path", str(path), stat.st_mtime_ns, stat.st_size), path.name, path


# ------------------------------------------------------------------------------------------- the file
st.subheader("1. The model file")
source = file_source("Model file", "inspect_model", MAX_MODEL_BYTES,
                     "A .pt/.pth file: a state_dict of an nn.LSTM/GRU/RNN or of a larger model, or an lstm-viz "
                     "checkpoint")
if source is None:
    st.info("Upload a file or type its path. Example: `torch.save(model.state_dict(), 'tagger.pt')`.")
    st.stop()
identity, file_name, data = source
try:
    found = cached("model", identity, lambda: inspect_model(content(data), budget=APP))
except BAD_INPUT as err:
    st.error(f"Cannot use {file_name}: {err}")
    st.stop()

# ----------------------------------------------------------------------------------- the architecture
st.subheader("2. The recurrent layer")
if len(found.prefixes) > 1:
    prefix = st.selectbox("Recurrent layer (prefix of its weights)", found.prefixes,
                          index=found.prefixes.index(found.prefix), key="inspect_prefix",
                          format_func=lambda p: p or "(top level)",
                          help="The file holds several recurrent layers; pick the one to analyse")
else:
    prefix = found.prefix
    st.caption(f"Recurrent weights found under `{prefix or '(top level)'}`.")
try:
    current = found if prefix == found.prefix else cached("view", (identity, prefix), lambda: reinspect(found, prefix))
    if current.spec.kind == "rnn":
        act = st.radio("Nonlinearity (the weights cannot tell)", ["tanh", "relu"], horizontal=True,
                       index=["tanh", "relu"].index(current.spec.nonlinearity), key="inspect_nonlinearity")
        if act != current.spec.nonlinearity:
            current = cached("view_act", (identity, prefix, act), lambda: reinspect(found, prefix, act))
except BAD_INPUT as err:
    st.error(f"Cannot rebuild the layer under {prefix!r}: {err}")
    st.stop()
spec = current.spec
for warning in found.warnings:
    st.warning(warning)
cols = st.columns(6)
for col, (label, value) in zip(cols, [("Kind", spec.kind.upper()), ("Input size", spec.input_size),
                                      ("Hidden size", spec.hidden_size), ("Layers", spec.num_layers),
                                      ("Directions", spec.num_directions), ("proj_size", spec.proj_size or "none")]):
    col.metric(label, value)
st.code(f"nn.{spec.describe()}", language="python")
if st.session_state.get("inspect_confirmed_for") != (identity, prefix, spec):  # a new file or layer: ask again
    st.session_state["inspect_confirm"] = False
    st.session_state["inspect_confirmed_for"] = (identity, prefix, spec)
confirmed = st.checkbox("This matches my model", key="inspect_confirm",
                        help="Sizes, layers and directions are read off the weight shapes; check them")
use_checkpoint = found.is_checkpoint and prefix == "rnn."  # the word-level layer of an lstm-viz model
head_choice = None  # (guess, pooling, task, labels) when the user keeps the head found after the layer
if use_checkpoint:
    st.info("This is an lstm-viz checkpoint: it opens with its own vocabulary, head and predictions.")
elif current.heads:  # what the weights after the layer say (lstm_viz/files/heads.py); the user confirms it
    guess = current.heads[0]
    st.caption(f"Head after this layer, read off the weights: {guess.describe()}")
    if st.checkbox("Use this head: predictions on every page, its own loss on Gradients", value=True,
                   key="inspect_head_on"):
        h1, h2, h3 = st.columns(3)
        tasks = {"pos": "a tag per token", "sentiment": "one label per text"}
        task = h1.radio("The head predicts", list(tasks), format_func=tasks.get, key="inspect_head_task",
                        index=1 if guess.task == "classification" else 0)
        poolings = ["per-step"] if task == "pos" else [
            p for p in (*guess.pooling_candidates, "last", "mean", "max") if p != "per-step"]
        pooling = h2.selectbox("Reading the layer's output", list(dict.fromkeys(poolings)), key="inspect_head_pool",
                               help="last: the final state of each direction; mean/max: over the valid steps")
        names = h3.text_input(f"Label names ({guess.out_features}, comma-separated)", "", key="inspect_head_labels",
                              placeholder=", ".join(f"class {k}" for k in range(min(guess.out_features, 3))))
        head_choice = (guess, pooling, task, [n.strip() for n in names.split(",") if n.strip()] or None)
else:
    st.caption("No head found after this layer: the Gradients page uses a stand-in loss (chosen below).")

# ------------------------------------------------------------------------------------------ the inputs
st.subheader("3. Inputs")
text_kwargs, tensor = {}, None
if not use_checkpoint:
    st.markdown("**Typed text** goes through an embedding matrix in the file and a vocabulary "
                "(the token of each of its rows).")
    if current.embedding_keys:
        none = "(no typed text)"
        emb_key = st.selectbox("Embedding matrix", [*current.embedding_keys, none], key="inspect_embedding",
                               format_func=lambda k: k if k == none else
                               f"{k} {tuple(current.state_dict[k].shape)}")
        if emb_key != none:
            vocab = current.vocab
            if vocab is not None:
                st.caption(f"The file stores a vocabulary of {len(vocab):,} tokens.")
            else:
                vocab_source = file_source("Vocabulary file", "inspect_vocab", MAX_VOCAB_BYTES,
                                           "One token per line (row i of the embedding on line i+1), a JSON list "
                                           "of tokens, or a JSON object {token: row}")
                if vocab_source is not None:
                    try:
                        vocab = cached("vocab", vocab_source[0], lambda: load_vocab_file(content(vocab_source[2])))
                        if vocab_source[0][0] == "upload":  # the user's own file: a preview helps
                            st.caption(f"{len(vocab):,} tokens: {', '.join(vocab[:8])}"
                                       f"{' ...' if len(vocab) > 8 else ''}")
                        else:  # a file on the server: its content is never echoed, only counted
                            st.caption(f"{len(vocab):,} tokens read from {vocab_source[1]}.")
                    except BAD_INPUT as err:
                        st.error(f"Cannot use {vocab_source[1]}: {err}")
            case = st.radio("Fold case before lookup", ["auto", "yes", "no"], horizontal=True, key="inspect_case",
                            help="auto: fold when the vocabulary has no capital letters")
            if vocab is not None:
                text_kwargs = dict(embedding_key=emb_key, vocab=vocab,
                                   lowercase={"auto": current.lowercase, "yes": True, "no": False}[case])
            else:
                st.warning("Typed text needs a vocabulary: add the file above, or use the inputs below.")
    else:
        st.caption(f"No matrix in the file has {spec.input_size} columns (the layer's input size), so there is "
                   "no typed text: use a saved input tensor or random inputs.")

    st.markdown("**A saved input tensor** `[time, features]` or `[batch, time, features]` "
                f"(features = {spec.input_size}), from `torch.save(x, 'x.pt')` or `np.save('x.npy', x)`.")
    if st.checkbox("Add a saved input tensor", key="inspect_tensor_on"):
        tensor_source = file_source("Input tensor", "inspect_tensor", MAX_INPUT_BYTES, ".pt/.pth/.npy/.npz")
        time_first = st.radio("A 3-D tensor is laid out as", ["[batch, time, features]", "[time, batch, features]"],
                              horizontal=True, key="inspect_layout") == "[time, batch, features]"
        if tensor_source is not None:
            try:
                loaded = cached("tensor", (tensor_source[0], spec.input_size),
                                lambda: load_input_tensor(content(tensor_source[2]), tensor_source[1],
                                                          spec.input_size, budget=APP))
                tensor = (tensor_source[1], loaded, time_first)
                st.caption(f"{tensor_source[1]}: shape {tuple(loaded.shape)}")
            except BAD_INPUT as err:
                st.error(f"Cannot use {tensor_source[1]}: {err}")

    st.markdown("**Random inputs** (standard normal), always offered on the analysis pages.")
    c1, c2, c3 = st.columns(3)
    steps = int(c1.number_input("Steps", 1, MAX_TOKENS, DEFAULT_RANDOM_STEPS, key="inspect_steps"))
    batch = int(c2.number_input("Sequences", 1, MAX_BATCH, 1, key="inspect_batch"))
    seed = int(c3.number_input("Seed", 0, 2**31 - 1, 0, key="inspect_seed"))
    loss = st.selectbox("Loss for the Gradients page when no head is used", list(LOSSES),
                        index=list(LOSSES).index(DEFAULT_LOSS), key="inspect_loss", help="; ".join(
                            f"{k}: {v}" for k, v in LOSSES.items()))
    st.caption(f"{loss}: {LOSSES[loss]}.")

# --------------------------------------------------------------------------------------------- use it
st.subheader("4. Use it")
default_name = Path(file_name).stem[:40] + (f" · {prefix.rstrip('.')}" if len(found.prefixes) > 1 else "")
name = st.text_input("Name in the model picker", default_name or "my model", max_chars=80, key="inspect_name")
if st.button("Use this model", type="primary", disabled=not confirmed, key="inspect_use",
             help=None if confirmed else "Tick 'This matches my model' first"):
    name = name.strip() or "my model"
    subject, run = None, None
    try:
        if use_checkpoint:  # the one path for checkpoints: a finished run, like one loaded on the Train page
            try:
                raw = data.getvalue() if hasattr(data, "getvalue") else read_bytes_limited(
                    data, MAX_MODEL_BYTES, "The checkpoint", APP)
                run = load_run(raw, file_name, budget=APP)
            except ValueError as err:
                st.session_state[FLASH_NOTE] = f"Opened the checkpoint's layer without its head: {err}"
        if run is None:
            subject = module_subject(current, name, **text_kwargs, **(dict(
                random_steps=steps, random_batch=batch, random_seed=seed, loss=loss) if not use_checkpoint else {}))
            if tensor is not None:
                subject.add_inputs(tensor[0], tensor[1], time_first=tensor[2])
            if head_choice is not None and not use_checkpoint:
                guess, pooling, task, labels = head_choice
                subject.set_head(build_head(guess, current.state_dict), pooling, task, labels)
    except BAD_INPUT as err:
        st.error(f"Cannot use this model: {err}")
        st.stop()
    if run is not None:
        run.name = added = state().unique_name(name)
        add_run(run)
    else:
        added = add_inspected(name, subject)
    st.session_state[FLASH] = (f"**{added}** ({spec.kind.upper()}, {spec.hidden_size} units) is now the active "
                               "model: Gates, Truth table, Saturation, Gradients and Export show it.")
    st.rerun()
if not confirmed:
    st.caption("Tick **This matches my model** above to use it.")
