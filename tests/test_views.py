"""views: the page-side data preparation (units, paging, labels, thresholds, samples), on real traces."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from lstm_viz.explore import page_data
from lstm_viz.data import generated_pos_corpus
from lstm_viz.training.models import build_model, preset
from lstm_viz.explore.subject import ModelSubject, AnalysisInput
from lstm_viz.record.tracing import trace
from lstm_viz.training import build_encoder

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def lstm_trace():
    torch.manual_seed(0)
    m = nn.LSTM(8, 80, batch_first=True)
    return trace(m, torch.randn(1, 250, 8))


@pytest.fixture(scope="module")
def subject():
    corpus = generated_pos_corpus(seed=0, n_train=60, n_dev=45, n_test=5)
    config = preset("tutorial", hidden_size=5, embed_dim=4)
    encoder = build_encoder(config, corpus)
    torch.manual_seed(0)
    model = build_model(config, len(encoder.vocab), len(encoder.labels)).eval()
    return ModelSubject("tiny", model, encoder, corpus)


def test_token_labels_put_tags_under_tokens_and_mark_wrong_ones():
    assert page_data.token_labels(["a", "b"]) == ["a", "b"]
    assert page_data.token_labels(["The", "dog"], ["DET", "NN"]) == ["The<br>DET", "dog<br>NN"]
    assert page_data.token_labels(["The", "dog"], ["DET", "V"], gold=["DET", "NN"]) == ["The<br>DET", "dog<br>V ✗ NN"]
    assert page_data.token_labels(["dog"], ["NN"], compact=True) == ["dog/NN"]
    with pytest.raises(ValueError, match="one per token"):
        page_data.token_labels(["a", "b"], ["X"])


def test_correlation_tags_keep_only_tags_that_vary():
    assert page_data.correlation_tags(["NN", "V", "NN"], ("DET", "NN", "V")) == ["NN", "V"]
    assert page_data.correlation_tags(["NN", "NN"], ("DET", "NN")) == []
    assert page_data.correlation_tags(None, ("DET",)) == []


def test_ordered_thresholds_enforce_low_below_high():
    assert page_data.ordered_thresholds(0.1, 0.9) == (0.1, 0.9, "")
    low, high, note = page_data.ordered_thresholds(0.5, 0.5)
    assert (low, high) == (0.5, 0.51) and "below" in note
    low, high, note = page_data.ordered_thresholds(1.0, 1.0)
    assert (low, high) == (0.99, 1.0) and note
    assert page_data.ordered_thresholds(0.8, 0.2)[:2] == (0.2, 0.8)
    assert page_data.ordered_thresholds(-3, 7)[:2] == (0.0, 1.0)
    with pytest.raises(ValueError, match="finite"):
        page_data.ordered_thresholds(float("nan"), 0.9)


@pytest.mark.parametrize("batch_first", [True, False])
def test_truncate_probe_cuts_every_field(batch_first):
    T = 7
    x = torch.arange(T * 2.0).reshape(1, T, 2)
    inputs = x if batch_first else x.transpose(0, 1)
    probe = AnalysisInput(tokens=(tuple("abcdefg"),), inputs=inputs, lengths=torch.tensor([T]),
                  targets=(tuple("ABCDEFG"),), note="cut before")
    assert page_data.truncate_probe(probe, 7, batch_first) is probe
    short = page_data.truncate_probe(probe, 3, batch_first)
    assert short.tokens == (("a", "b", "c"),) and short.targets == (("A", "B", "C"),)
    assert short.lengths.tolist() == [3]
    got = short.inputs if batch_first else short.inputs.transpose(0, 1)
    assert torch.equal(got, x[:, :3])
    assert short.note.startswith("cut before") and "first 3 of 7" in short.note
    label = AnalysisInput(tokens=(tuple("abcd"),), inputs=inputs[:, :4] if batch_first else inputs[:4],
                  lengths=torch.tensor([4]), targets=("positive",))
    assert page_data.truncate_probe(label, 2, batch_first).targets == ("positive",)
    with pytest.raises(ValueError, match="positive int"):
        page_data.truncate_probe(probe, 0, batch_first)


def test_probe_key_follows_the_input_values():
    x = torch.zeros(1, 3, 2)
    a = AnalysisInput((("a", "b", "c"),), x, torch.tensor([3]))
    b = AnalysisInput((("a", "b", "c"),), x.clone(), torch.tensor([3]))
    c = AnalysisInput((("a", "b", "c"),), x + 1, torch.tensor([3]))
    assert page_data.input_key(a) == page_data.input_key(b) != page_data.input_key(c)
    hash(page_data.input_key(a))


def test_choose_units_index_order_keeps_the_top_variance_units_sorted(lstm_trace):
    u = page_data.choose_units(lstm_trace, max_units=64)
    h = lstm_trace.hidden[0, 0, 0].double().numpy()  # [T, U]
    expected = np.sort(np.argsort(-h.var(axis=0), kind="stable")[:64])
    assert u.by == "index" and u.total == 80 and np.array_equal(u.ids, expected)
    assert "64 of 80" in u.note and u.scores is None
    small = page_data.choose_units(lstm_trace, max_units=100)
    assert np.array_equal(small.ids, np.arange(80)) and small.note == ""


def test_choose_units_by_ranking_is_best_first(lstm_trace):
    u = page_data.choose_units(lstm_trace, by="variance", of="f", max_units=10)
    f = lstm_trace.gates["f"][0, 0, 0].double().numpy()
    var = f.var(axis=0)
    assert np.array_equal(u.ids, np.argsort(-var, kind="stable")[:10])
    assert np.allclose(u.scores, var[u.ids]) and "top 10 of 80" in u.note
    tags = ["X" if t % 3 == 0 else "Y" for t in range(250)]
    c = page_data.choose_units(lstm_trace, by="correlation", of="hidden", tags=tags, tag="X", max_units=5)
    ind = np.array([t % 3 == 0 for t in range(250)], dtype=float)
    h = lstm_trace.hidden[0, 0, 0].double().numpy()
    r = np.array([np.corrcoef(h[:, k], ind)[0, 1] for k in range(80)])
    assert np.array_equal(c.ids, np.argsort(-np.abs(r), kind="stable")[:5])
    assert np.allclose(c.scores, r[c.ids])
    with pytest.raises(ValueError, match="never occurs"):
        page_data.choose_units(lstm_trace, by="correlation", tags=tags, tag="Z")
    with pytest.raises(ValueError, match="one tag per token"):
        page_data.choose_units(lstm_trace, by="correlation", tags=tags[:10], tag="X")
    with pytest.raises(ValueError, match="needs the tags"):
        page_data.choose_units(lstm_trace, by="correlation")
    with pytest.raises(ValueError, match="by must be"):
        page_data.choose_units(lstm_trace, by="magic")


def test_build_gates_view_pages_tokens_and_caps_units(lstm_trace):
    tokens = [f"w{k}" for k in range(250)]
    tags = ["T"] * 250
    v = page_data.build_gates_view(lstm_trace, tokens, tags, page=2, unit=9999)
    assert (v.window.start, v.window.stop, v.window.n_pages) == (200, 250, 3)
    heat = [t for t in v.heatmaps.data if t.type == "heatmap"]
    assert len(heat) == 6  # i, f, g, o, c, h
    assert all(np.asarray(t.z).shape == (64, 50) for t in heat)
    assert heat[0].x[0] == "w200/T"  # 50 tokens on the page: one-line labels
    assert v.unit == int(v.units.ids[0])  # a unit that is not drawn falls back to the first drawn one
    assert any("tokens 201-250 of 250" in n for n in v.notes) and any("64 of 80" in n for n in v.notes)
    assert list(v.line.data[0].x) == list(range(200, 250))
    # a ranking that cannot be computed falls back to index order with a note
    bad = page_data.build_gates_view(lstm_trace, tokens, by="correlation", tags=tags, tag="T", unit=3,
                                 names=["f", "hidden"])
    assert bad.units.by == "index" and bad.unit == 3 and "Could not order" in bad.notes[0]
    assert len([t for t in bad.heatmaps.data if t.type == "heatmap"]) == 2
    # a cell state cannot saturate: same fallback
    assert page_data.build_gates_view(lstm_trace, tokens, by="saturation", of="cell").units.by == "index"


def test_rank_targets_put_hidden_first(lstm_trace):
    assert page_data.rank_targets(lstm_trace) == ("hidden", "i", "f", "g", "o", "cell")


def test_sample_traces_batches_dataset_sentences(subject):
    s = page_data.sample_traces(subject, n=40, batch_size=16)
    assert len(s.traces) == 3 and s.n_sequences == 40 and s.source == "40 dev sentences"
    picked = subject.examples("dev", 40)
    assert s.n_tokens == sum(len(ex.tokens) for ex in picked)
    assert [t.batch_size for t in s.traces] == [16, 16, 8]
    lens = [int(x) for t in s.traces for x in t.lengths]
    assert lens == sorted(lens)  # similar lengths share a batch
    # the recorded values are the subject's own: compare one sentence with a direct trace
    one = subject.trace(subject.probe([picked[0].tokens]))
    tokens = sorted((tuple(ex.tokens) for ex in picked), key=len)
    b = tokens.index(tuple(picked[0].tokens))
    tr, row = s.traces[b // 16], b % 16
    n = len(picked[0].tokens)
    assert torch.allclose(tr.gates["f"][0, 0, row, :n], one.gates["f"][0, 0, 0, :n], atol=1e-6)


def test_sample_traces_without_a_dataset_uses_prepared_inputs(subject):
    class Bare:
        def __init__(self, probes):
            self.probes = probes

        def preset_inputs(self, n=20):
            return self.probes

        def trace(self, probe):
            return subject.trace(probe)

    probes = {f"p{k}": subject.probe([("the", "dog")]) for k in range(3)}
    s = page_data.sample_traces(Bare(probes), n=2)
    assert len(s.traces) == 2 and s.n_sequences == 2 and s.n_tokens == 4 and "prepared" in s.source
    with pytest.raises(ValueError, match="no dataset"):
        page_data.sample_traces(Bare({}), n=5)
    with pytest.raises(ValueError, match="positive int"):
        page_data.sample_traces(subject, n=0)
