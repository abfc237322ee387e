"""Vocabularies, batching, the Tagger/Classifier around torch.nn recurrent modules, and GloVe loading."""
from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from lstm_viz.data.batching import IGNORE_INDEX, BatchEncoder, count_batches, make_batches
from lstm_viz.data.corpus import LabelledText, TaggedSentence
from lstm_viz.data.vocab import PAD, UNK, Vocab
from lstm_viz.training.models import Classifier, ModelConfig, Tagger, build_model, load_glove, preset

pytestmark = pytest.mark.timeout(120)

SENTS = [["The", "dog", "ate", "the", "apple"], ["Everybody", "read", "that", "book"], ["the", "dog"]]


# -- vocabularies --------------------------------------------------------------------------------------------
def test_vocab_build_min_freq_max_size_lowercase():
    v = Vocab.build(SENTS, min_freq=2)
    assert v.itos == [PAD, UNK, "dog", "the"]  # count 2 each; ties alphabetical
    assert v.encode(["the", "dog", "The", "cat"]) == [3, 2, 1, 1]
    low = Vocab.build(SENTS, lowercase=True)
    assert low.itos[2] == "the" and low.encode(["THE"]) == [2]  # "the" x3 after folding
    assert len(Vocab.build(SENTS, max_size=2)) == 4
    assert v.decode([0, 1, 2]) == [PAD, UNK, "dog"]
    with pytest.raises(ValueError, match="outside"):
        v.decode([99])
    with pytest.raises(TypeError, match="split"):
        v.encode("the dog")
    with pytest.raises(ValueError, match="min_freq"):
        Vocab.build(SENTS, min_freq=0)


def test_vocab_plain_data_round_trip():
    v = Vocab.build(SENTS, lowercase=True)
    assert Vocab.from_dict(v.to_dict()) == v
    assert Vocab.from_list(v.to_list(), lowercase=True) == v
    labels = Vocab.labels(["DET", "NN", "V"])
    again = Vocab.from_list(labels.to_list())
    assert again == labels and not again.specials
    with pytest.raises(ValueError, match="unknown label 'ADJ'"):
        labels.encode(["ADJ"])
    with pytest.raises(ValueError, match="unique"):
        Vocab(["a", "a"], specials=False)


def test_char_vocab_keeps_case():
    chars = Vocab.build_chars(SENTS)
    assert "T" in chars.stoi and "t" in chars.stoi and chars.itos[:2] == [PAD, UNK]


# -- batching ------------------------------------------------------------------------------------------------
def _encoder(task="pos", chars=False, max_word_len=20):
    words = Vocab.build(SENTS)
    labels = Vocab.labels(["DET", "NN", "V"] if task == "pos" else ["negative", "positive"])
    return BatchEncoder(task, words, labels, Vocab.build_chars(SENTS) if chars else None, max_word_len)


def test_collate_pads_with_ignore_index_and_chars():
    enc = _encoder(chars=True, max_word_len=4)
    items = enc.encode_all([TaggedSentence(("The", "dog"), ("DET", "NN")),
                            TaggedSentence(("Everybody", "read", "it"), ("NN", "V", "NN"))])
    b = enc.collate(items)
    assert b.tokens.shape == (2, 3) and b.lengths.tolist() == [2, 3] and b.padded and b.num_tokens == 5
    assert b.tokens[0, 2] == 0 and b.targets[0, 2] == IGNORE_INDEX and b.targets[1].tolist() == [1, 2, 1]
    assert b.chars.shape == (2, 3, 4)
    # "Everybody" is cut to its first 2 and last 2 characters
    assert enc.char_vocab.decode(b.chars[1, 0].tolist()) == list("Evdy")
    assert b.chars[0, 2].tolist() == [0, 0, 0, 0]
    assert b.model_lengths is b.lengths
    same = enc.collate(items[:1])
    assert not same.padded and same.model_lengths is None


def test_make_batches_covers_every_item_once():
    enc = _encoder()
    items = [enc.encode(TaggedSentence(tuple(["the"] * n), tuple(["DET"] * n))) for n in range(1, 40)]
    import random
    batches = make_batches(enc, items, 4, shuffle=True, rng=random.Random(1))
    assert sum(b.num_tokens for b in batches) == sum(range(1, 40))
    assert sorted(n for b in batches for n in b.lengths.tolist()) == list(range(1, 40))
    with pytest.raises(ValueError, match="batch_size"):
        make_batches(enc, items, 0)


def test_make_batches_bounds_padded_tokens_per_batch():
    import random
    enc = _encoder()
    rng = random.Random(0)
    lengths = [rng.randint(1, 20) for _ in range(100)] + [rng.randint(100, 300) for _ in range(100)] + [1200]
    items = [enc.encode(TaggedSentence(tuple(["the"] * n), tuple(["DET"] * n))) for n in lengths]
    for shuffle in (False, True):
        batches = make_batches(enc, items, 32, shuffle=shuffle, rng=random.Random(2), max_tokens=1000)
        assert sorted(n for b in batches for n in b.lengths.tolist()) == sorted(lengths)  # each item once
        for b in batches:
            assert b.tokens.shape[0] <= 32
            assert b.tokens.numel() <= 1000 or b.tokens.shape[0] == 1  # only a lone long item may exceed it
        assert any(b.tokens.shape[0] == 32 for b in batches)  # short items still fill whole batches
    assert count_batches(items, 32, max_tokens=1000) == len(make_batches(enc, items, 32, max_tokens=1000))
    assert count_batches(items, 32) == len(make_batches(enc, items, 32)) == 7  # 201 items
    with pytest.raises(ValueError, match="max_tokens"):
        make_batches(enc, items, 4, max_tokens=0)


def test_encoder_rejects_wrong_example_types():
    with pytest.raises(TypeError, match="TaggedSentence"):
        _encoder("pos").encode(LabelledText(("a",), "positive"))
    with pytest.raises(ValueError, match="2 tokens but 1 tags"):
        _encoder("pos").encode(TaggedSentence(("a", "b"), ("NN",)))
    with pytest.raises(ValueError, match="task"):
        BatchEncoder("ner", Vocab.build(SENTS), Vocab.labels(["A"]))


# -- models --------------------------------------------------------------------------------------------------
def test_presets():
    tut = preset("tutorial")
    assert (tut.embed_dim, tut.hidden_size, tut.num_layers, tut.bidirectional, tut.arch) == (6, 6, 1, False, "lstm")
    s = preset("sentiment-bilstm")
    assert (s.task, s.num_layers, s.bidirectional, s.embed_dim, s.hidden_size, s.dropout) == \
        ("sentiment", 2, True, 100, 256, 0.5)
    assert preset("pos-bilstm-char").char_features
    with pytest.raises(ValueError, match="unknown model preset"):
        preset("nope")


@pytest.mark.parametrize("kwargs, match", [
    ({"arch": "transformer"}, "arch"), ({"task": "ner"}, "task"), ({"hidden_size": 0}, "hidden_size"),
    ({"dropout": 1.0}, "dropout"), ({"char_embed_dim": 8}, "char_hidden"), ({"nonlinearity": "gelu"}, "nonlin"),
])
def test_model_config_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ModelConfig(**kwargs)


def test_config_from_dict_rejects_unknown_fields():
    data = ModelConfig().to_dict()
    assert ModelConfig.from_dict(data) == ModelConfig()
    with pytest.raises(ValueError, match="unknown model config fields"):
        ModelConfig.from_dict({**data, "bogus": 1})


def _batch(enc, token_lists):
    return enc.batch_tokens(token_lists)


@pytest.mark.parametrize("arch, bidirectional, layers, chars",
                         [("lstm", True, 2, True), ("gru", True, 1, False), ("rnn", False, 2, False),
                          ("lstm", False, 1, False)])
def test_tagger_packed_batch_equals_each_sentence_alone(arch, bidirectional, layers, chars):
    torch.manual_seed(0)
    enc = _encoder(chars=chars)
    cfg = ModelConfig(task="pos", arch=arch, embed_dim=5, hidden_size=7, num_layers=layers,
                      bidirectional=bidirectional, dropout=0.3, char_embed_dim=4 if chars else 0,
                      char_hidden=3 if chars else 0)
    model = build_model(cfg, len(enc.vocab), 3, len(enc.char_vocab) if chars else 0).eval()
    assert isinstance(model, Tagger) and isinstance(model.rnn, getattr(nn, arch.upper()))
    b = _batch(enc, SENTS)
    logits = model(b.tokens, b.lengths, b.chars)
    assert logits.shape == (3, 5, 3)
    for i, sent in enumerate(SENTS):
        alone = _batch(enc, [sent])
        ref = model(alone.tokens, None, alone.chars)[0]
        torch.testing.assert_close(logits[i, : len(sent)], ref, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("arch, bidirectional, layers", [("lstm", True, 2), ("gru", False, 1), ("rnn", True, 1)])
def test_classifier_uses_final_states_of_last_layer(arch, bidirectional, layers):
    torch.manual_seed(1)
    enc = _encoder("sentiment")
    cfg = ModelConfig(task="sentiment", arch=arch, embed_dim=4, hidden_size=6, num_layers=layers,
                      bidirectional=bidirectional)
    model = build_model(cfg, len(enc.vocab), 2).eval()
    assert isinstance(model, Classifier)
    b = _batch(enc, SENTS)
    logits = model(b.tokens, b.lengths)
    D, H = (2 if bidirectional else 1), 6
    for i, sent in enumerate(SENTS):
        alone = _batch(enc, [sent])
        out, _ = model.rnn(model.embed_inputs(alone.tokens))  # [1, T, D*H], no padding
        fwd = out[0, -1, :H]  # forward direction after the last token
        feats = torch.cat([fwd, out[0, 0, H:]]) if D == 2 else fwd  # backward direction after the first token
        torch.testing.assert_close(logits[i], model.output(feats), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("pooling", ["max", "mean", "mean+max"])
def test_classifier_pooling_ignores_padding(pooling):
    torch.manual_seed(3)
    enc = _encoder("sentiment")
    cfg = ModelConfig(task="sentiment", embed_dim=4, hidden_size=5, bidirectional=True, pooling=pooling)
    model = build_model(cfg, len(enc.vocab), 2).eval()
    b = _batch(enc, SENTS)
    logits = model(b.tokens, b.lengths)
    for i, sent in enumerate(SENTS):
        alone = _batch(enc, [sent])
        out, _ = model.rnn(model.embed_inputs(alone.tokens))  # [1, T, 2H]
        feats = {"max": out[0].amax(0), "mean": out[0].mean(0),
                 "mean+max": torch.cat([out[0].mean(0), out[0].amax(0)])}[pooling]
        torch.testing.assert_close(logits[i], model.output(feats), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(logits[i], model(alone.tokens)[0], atol=1e-5, rtol=1e-5)


def test_mean_max_head_reads_twice_the_features_as_files_heads_does():
    from lstm_viz.files.heads import head_logits
    from lstm_viz.record.tracing import trace

    torch.manual_seed(4)
    enc = _encoder("sentiment")
    cfg = ModelConfig(task="sentiment", embed_dim=4, hidden_size=5, bidirectional=True, pooling="mean+max")
    model = build_model(cfg, len(enc.vocab), 2).eval()
    assert cfg.output_features == 20 and model.output.in_features == 20  # [mean (2H), max (2H)]
    assert ModelConfig(hidden_size=5, bidirectional=True, pooling="max").output_features == 10
    b = _batch(enc, SENTS)
    tr = trace(model.rnn, model.embed_inputs(b.tokens), lengths=b.lengths)
    torch.testing.assert_close(head_logits(model.output, tr, "mean+max").float(), model(b.tokens, b.lengths),
                               atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match="pooling must be one of"):
        ModelConfig(task="sentiment", pooling="max+mean")


def test_embed_inputs_and_trace_replay_the_models_rnn():
    from lstm_viz.record.tracing import trace

    torch.manual_seed(2)
    enc = _encoder(chars=True)
    cfg = preset("pos-bilstm-char", embed_dim=6, hidden_size=5, char_embed_dim=3, char_hidden=4)
    model = build_model(cfg, len(enc.vocab), 3, len(enc.char_vocab)).eval()
    b = _batch(enc, SENTS)
    x = model.embed_inputs(b.tokens, b.chars)
    assert x.shape == (3, 5, 6 + 8)
    tr = trace(model.rnn, x, lengths=b.lengths)
    out, _ = model.run_rnn(x, b.lengths)
    torch.testing.assert_close(tr.output, out, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="char_ids"):
        model.embed_inputs(b.tokens)


def test_char_encoder_equals_each_word_alone_forward_and_backward():
    """Distinct words run once, in groups by length: features and gradients as if each word ran alone."""
    from lstm_viz.training.models import CharEncoder

    torch.manual_seed(5)
    enc = CharEncoder(num_chars=12, embed_dim=3, hidden=4)
    sents = [[[2], [3, 4, 5, 6], [2], [7, 8, 9, 10, 11, 2, 3, 4, 5]], [[3, 4, 5, 6], [2, 2, 2, 2, 2, 2, 2], [9, 9]]]
    width = max(len(w) for s in sents for w in s)
    chars = torch.tensor([[w + [0] * (width - len(w)) for w in s] + [[0] * width] * (4 - len(s)) for s in sents])
    out = enc(chars)  # [2, 4, 8]
    assert out.shape == (2, 4, 8) and out[1, 3].abs().sum() == 0  # padding position: no features
    reference = []
    for i, s in enumerate(sents):
        for j, w in enumerate(s):
            _, (h_n, _) = enc.rnn(enc.embedding(torch.tensor([w])))  # one word, no padding
            ref = torch.cat([h_n[0, 0], h_n[1, 0]])
            torch.testing.assert_close(out[i, j], ref, atol=1e-6, rtol=1e-5)
            reference.append(ref)
    weights = torch.randn(len(reference), 8)
    grads = torch.autograd.grad((torch.stack(reference) * weights).sum(), list(enc.parameters()))
    real = [(i, j) for i, s in enumerate(sents) for j in range(len(s))]
    picked = torch.stack([out[i, j] for i, j in real])
    ours = torch.autograd.grad((picked * weights).sum(), list(enc.parameters()))
    for g, r in zip(ours, grads):
        torch.testing.assert_close(g, r, atol=1e-5, rtol=1e-4)


def test_word_dropout_only_in_training():
    model = build_model(ModelConfig(embed_dim=3, hidden_size=3, word_dropout=0.5), 10, 2)
    tokens = torch.full((4, 50), 5)
    model.eval()
    torch.testing.assert_close(model.embed_inputs(tokens), model.embedding(tokens))
    model.train()
    dropped = (model.embed_inputs(tokens) == model.embedding.weight[1]).all(-1).float().mean()
    assert 0.3 < dropped < 0.7


def test_load_glove(tmp_path):
    vocab = Vocab.build([["The", "dog", "cat", "xyz"]])
    path = tmp_path / "vec.txt"
    path.write_text("3 2\nthe 1.0 2.0\ndog 3.5 -1\n<pad> 9 9\nunrelated 0 0\n", encoding="utf-8")
    w = load_glove(path, vocab, 2)
    assert w.shape == (len(vocab), 2)
    torch.testing.assert_close(w[vocab.stoi["The"]], torch.tensor([1.0, 2.0]))  # lowercase fallback
    torch.testing.assert_close(w[vocab.stoi["dog"]], torch.tensor([3.5, -1.0]))
    assert torch.equal(w[0], torch.zeros(2))  # <pad> stays zero
    model = build_model(ModelConfig(embed_dim=2, hidden_size=3), len(vocab), 2)
    model.set_embeddings(w)
    torch.testing.assert_close(model.embedding.weight[vocab.stoi["dog"]], torch.tensor([3.5, -1.0]))
    with pytest.raises(ValueError, match="vectors have 2 values but dim=3"):
        load_glove(path, vocab, 3)
    with pytest.raises(ValueError, match="embed_dim"):
        model.set_embeddings(torch.zeros(len(vocab), 5))
    with pytest.raises(FileNotFoundError):
        load_glove(tmp_path / "missing.txt", vocab, 2)


def test_every_arch_direction_layer_combination_builds_and_runs():
    enc = _encoder()
    b = _batch(enc, SENTS)
    for arch, bi, layers in itertools.product(("lstm", "gru", "rnn"), (False, True), (1, 2)):
        for task in ("pos", "sentiment"):
            m = build_model(ModelConfig(task=task, arch=arch, bidirectional=bi, num_layers=layers,
                                        embed_dim=3, hidden_size=4), len(enc.vocab), 3)
            out = m(b.tokens, b.lengths)
            assert out.shape == ((3, 5, 3) if task == "pos" else (3, 3))
            assert torch.isfinite(out).all()
