"""AppTest of the Your corpus page in the real app: select and match on the model's own dataset, one unit and a
threshold, token drivers with co-clusters, and a cold start."""
from __future__ import annotations

import pytest

from lstm_viz.data import generated_pos_corpus
from lstm_viz.training import TrainConfig, Trainer
from lstm_viz.training.models import ModelConfig
from app_pages._common import Run

from .apptest_util import assert_clean
from .test_app_analysis_pages import cold_start, open_with

pytestmark = pytest.mark.timeout(240)
PAGE = "app_pages/corpus.py"


@pytest.fixture(scope="module")
def generated_run():
    corpus = generated_pos_corpus(n_train=300, n_dev=10, n_test=5)
    cfg = TrainConfig(device="cpu", batch_size=16, epochs=2, probe_every=0, grad_norm_every=0, eval_every=0,
                      threads=1)
    trainer = Trainer(ModelConfig(task="pos", embed_dim=16, hidden_size=12, bidirectional=True), cfg, corpus)
    trainer.run()
    return Run("generated tagger", trainer, "generated")


def test_select_and_match_on_the_models_dataset(generated_run):
    at = open_with(PAGE, generated_run)
    assert any("token steps" in c.value for c in at.caption)
    at.slider(key="corpus_threshold").set_value(0.0).run()  # about half the tanh units are above 0 at a token
    assert_clean(at)
    assert any("unit(s) on over the span" in m.value for m in at.markdown), [m.value for m in at.markdown]
    assert any("match(es)" in m.value for m in at.markdown)
    table = at.dataframe[0].value
    assert "context" in table.columns and len(table) >= 1
    assert list(table["rank"]) == list(range(1, len(table) + 1)) and (table["score"].diff().dropna() <= 1e-9).all()
    assert table["context"].str.contains(r"\[", regex=True).all()
    assert at.get("plotly_chart"), "no heatmap of the shown match"
    at.slider(key="corpus_threshold").set_value(1.0).run()  # nothing is above 1: a message, the page goes on
    assert_clean(at)
    assert any("no unit is above 1" in e.value for e in at.error)
    at.radio(key="corpus_mode").set_value("one unit and a threshold").run()
    at.number_input(key="corpus_unit").set_value(3).run()
    assert_clean(at)
    assert any("match(es)" in m.value for m in at.markdown)


def test_token_drivers_and_co_clusters(generated_run):
    at = open_with(PAGE, generated_run)
    frames = [f.value for f in at.dataframe]
    tokens_table = next(f for f in frames if "count" in f.columns)
    assert len(tokens_table) == 10 and (tokens_table["mean"].diff().dropna() <= 1e-9).all()
    units_table = next(f for f in frames if list(f.columns) == ["unit", "mean"])
    assert len(units_table) == 10
    clusters = next(f for f in frames if "cluster" in f.columns)
    assert len(clusters) >= 2
    assert any("co-clusters" in h.value for h in at.subheader)


def test_layers_directions_and_gates_can_be_chosen(generated_run):
    at = open_with(PAGE, generated_run)
    assert at.selectbox(key="corpus_name").options == ["i: input gate", "f: forget gate", "g: candidate",
                                                       "o: output gate", "c: cell state", "h: hidden state"]
    at.selectbox(key="corpus_name").set_value("f").run()
    at.radio(key="corpus_direction").set_value(1).run()
    assert_clean(at)
    assert any("token steps" in c.value for c in at.caption)


def test_cold_start_and_no_upload_yet():
    at = cold_start(PAGE)
    at.radio(key="corpus_source").set_value("Upload a file").run()
    assert_clean(at)
    assert any("Choose a file" in i.value for i in at.info)


def _saturation_caption(at) -> str:
    return next(c.value for c in at.caption if c.value.startswith("Measured over"))


def test_saturation_measures_over_the_uploaded_corpus(generated_run):
    lines = [" ".join(ex.tokens) for ex in generated_pos_corpus(seed=7, n_train=30, n_dev=1, n_test=1).train]
    lines[0] += " zebra"  # a word outside the vocabulary still counts as a step the model read (<unk>)
    n_tokens = sum(len(line.split()) for line in lines)
    at = open_with(PAGE, generated_run)
    at.radio(key="corpus_source").set_value("Upload a file").run()
    at.file_uploader(key="corpus_upload").upload("mine.txt", "\n".join(lines).encode())
    at.run()
    assert_clean(at)
    at.switch_page("app_pages/saturation.py")
    at.run()
    assert_clean(at)
    assert at.radio(key="sat_source").value == "your corpus 'mine.txt'"
    assert at.radio(key="sat_source").options == ["your corpus 'mine.txt'", "the model's dataset"]
    slider = at.slider(key="sat_corpus_n")
    assert slider.label == "Sample size (sequences of your corpus)" and slider.max == 30
    assert _saturation_caption(at) == f"Measured over all 30 sequences of your corpus 'mine.txt' ({n_tokens:,} tokens)."
    slider.set_value(5).run()
    assert_clean(at)
    assert _saturation_caption(at).startswith("Measured over 5 of the 30 sequences of your corpus 'mine.txt'")
    assert len(at.get("plotly_chart")) == 2
    at.radio(key="sat_source").set_value("the model's dataset").run()
    assert_clean(at)
    assert _saturation_caption(at).startswith("Measured over 10 dev sentences")


def test_saturation_of_a_model_without_data_names_its_prepared_inputs():
    """A user's bare LSTM with one uploaded tensor: no slider pretending to sample, and the caption says which
    sequences are the user's and which are random numbers."""
    import torch
    from torch import nn

    from lstm_viz.explore.module_subject import ModuleSubject
    from app_pages._common import STATE_KEY, SessionState

    from .apptest_util import open_page

    subject = ModuleSubject("mine", nn.LSTM(4, 3), inputs={"batch.npy": torch.randn(2, 9, 4)}, random_steps=6,
                            random_batch=2)
    at = open_page("app_pages/home.py")
    at.session_state[STATE_KEY] = SessionState(inspected={"mine": subject}, active="file:mine")
    at.switch_page("app_pages/saturation.py")
    at.run()
    assert_clean(at)
    assert not [s for s in at.slider if s.key in ("sat_n", "sat_corpus_n")]
    assert _saturation_caption(at) == (
        "Measured over 4 prepared sequences: your input batch.npy (2 × 9 steps) and standard-normal random numbers "
        "(not data): Random inputs (2 × 6 steps, seed 0) (30 tokens).")
