"""Word dropout by frequency (ModelConfig.word_dropout_alpha, `train --word-dropout-alpha`): each word's drop rate
in training, none in eval mode or on padding, the Trainer's counts, and model files with and without the field."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from lstm_viz.cli import main
from lstm_viz.data import tutorial_corpus
from lstm_viz.data.vocab import Vocab
from lstm_viz.training import TrainConfig, Trainer, build_encoder
from lstm_viz.training.checkpoint import checkpoint_bytes, load_checkpoint
from lstm_viz.training.models import ModelConfig, build_model
from lstm_viz.training.word_dropout import drop_probabilities

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[1]
# training text: "the" x40, "dog" x10, "cat" x3, "gnu" x1 (lowercase folds "The" into "the")
TEXT = [["the", "dog"]] * 10 + [["The", "cat"]] * 3 + [["the"]] * 27 + [["gnu"]]


def _dropped(model, tokens: torch.Tensor) -> torch.Tensor:
    """[B, T] True where embed_inputs fed the <unk> row instead of the token's own row."""
    return (model.embed_inputs(tokens) == model.embedding.weight[1]).all(-1)


def test_vocab_build_counts_each_entry():
    vocab = Vocab.build(TEXT, lowercase=True)
    assert dict(zip(vocab.itos, vocab.counts)) == {"<pad>": 0, "<unk>": 0, "the": 40, "dog": 10, "cat": 3, "gnu": 1}
    assert Vocab.from_dict(vocab.to_dict()).counts is None  # counts are not part of the saved vocabulary
    rare_out = Vocab.build(TEXT, lowercase=True, min_freq=2)
    assert rare_out.counts == [0, 0, 40, 10, 3]


def test_drop_probabilities_follow_alpha_over_alpha_plus_count():
    p = drop_probabilities([0, 0, 40, 10, 3, 1], 0.25)
    expected = [0, 0, 0.25 / 40.25, 0.25 / 10.25, 0.25 / 3.25, 0.2]
    torch.testing.assert_close(p, torch.tensor(expected))
    both = drop_probabilities([0, 0, 40, 1], 0.25, uniform=0.1)  # independent draws: kept if neither drops it
    torch.testing.assert_close(both, torch.tensor([0, 0, 1 - 0.9 * (1 - 0.25 / 40.25), 1 - 0.9 * 0.8]))
    with pytest.raises(ValueError, match="alpha"):
        drop_probabilities([0, 0, 1], 0.0)


def test_each_words_drop_rate_in_training_matches_its_count():
    vocab = Vocab.build(TEXT, lowercase=True)
    alpha = 0.5
    model = build_model(ModelConfig(embed_dim=4, hidden_size=3, word_dropout_alpha=alpha), len(vocab), 2)
    model.use_word_counts(vocab.counts)
    model.train()
    n = 20_000
    torch.manual_seed(0)
    tokens = torch.arange(len(vocab)).repeat(n, 1)  # [n, V]: every id n times, <pad> and <unk> included
    rate = _dropped(model, tokens).float().mean(0)  # [V]
    for i, (word, count) in enumerate(zip(vocab.itos, vocab.counts)):
        if i < 2:
            continue
        p = alpha / (alpha + count)
        assert abs(rate[i].item() - p) < 4 * math.sqrt(p * (1 - p) / n) + 1e-3, (word, count, rate[i].item(), p)
    # padding is never dropped (its row stays the zero padding row, not <unk>'s)
    pad_rows = model.embed_inputs(torch.zeros(200, 50, dtype=torch.long))
    assert (pad_rows == 0).all()
    # the rare word is dropped far more often than the frequent one: the point of the option
    assert rate[vocab.index("gnu")] > 5 * rate[vocab.index("the")]


def test_nothing_is_dropped_in_eval_mode_and_an_untrained_count_is_refused():
    vocab = Vocab.build(TEXT, lowercase=True)
    model = build_model(ModelConfig(embed_dim=4, hidden_size=3, word_dropout_alpha=100.0), len(vocab), 2)
    tokens = torch.arange(len(vocab)).repeat(500, 1)
    model.eval()  # a model read from a file: no counts, and none needed outside training
    torch.testing.assert_close(model.embed_inputs(tokens), model.embedding(tokens))
    model.train()
    with pytest.raises(ValueError, match="use_word_counts"):
        model.embed_inputs(tokens)
    model.use_word_counts(vocab.counts)  # alpha 100: every word dropped 70-99% of the time in training
    assert _dropped(model, tokens).float().mean() > 0.5
    model.eval()
    torch.testing.assert_close(model.embed_inputs(tokens), model.embedding(tokens))
    with pytest.raises(ValueError, match="word counts"):
        model.use_word_counts([0, 0, 1])


def test_the_trainer_uses_the_training_counts_and_saved_files_load_without_them():
    corpus = tutorial_corpus()
    config = ModelConfig(embed_dim=6, hidden_size=6, word_dropout_alpha=0.25)
    trainer = Trainer(config, TrainConfig(epochs=2, seed=0, probe_every=0), corpus)
    counts = Vocab.build([ex.tokens for ex in corpus.train]).counts
    torch.testing.assert_close(trainer.model.word_drop_prob, drop_probabilities(counts, 0.25))
    trainer.run()
    assert trainer.snapshot().status == "finished"
    data = checkpoint_bytes(trainer.model, config, trainer.encoder, {})
    loaded, bundle = load_checkpoint(data)
    assert bundle.model_config.word_dropout_alpha == 0.25 and loaded.word_drop_prob is None
    assert "word_drop_prob" not in loaded.state_dict()
    tokens = torch.tensor([trainer.encoder.vocab.encode(corpus.train[0].tokens)])
    torch.testing.assert_close(loaded(tokens), trainer.model.eval()(tokens))
    # an encoder read from a file has no counts: training with alpha says so
    with pytest.raises(ValueError, match="training count"):
        Trainer(config, TrainConfig(epochs=1), corpus, encoder=bundle.encoder)
    # a vocabulary built from the corpus has them, so an encoder of the same corpus trains
    Trainer(config, TrainConfig(epochs=1), corpus, encoder=build_encoder(config, corpus))


def test_model_files_without_the_field_still_load():
    path = ROOT / "lstm_viz" / "teaching" / "models" / "tutorial-tagger.pt"
    stored = torch.load(path, weights_only=True)["model_config"]
    assert "word_dropout_alpha" not in stored  # saved before the field existed
    model, bundle = load_checkpoint(path)
    assert bundle.model_config.word_dropout_alpha == 0.0
    assert ModelConfig.from_dict(stored) == ModelConfig(**stored)
    with pytest.raises(ValueError, match="word_dropout_alpha"):
        ModelConfig(word_dropout_alpha=-1.0)


def test_the_command_line_flag_sets_the_option_and_trains_with_it(capsys):
    from lstm_viz.cli import _model_config, build_parser

    args = build_parser().parse_args(["train", "--data", "x", "--preset", "ewt-bilstm-char",
                                      "--word-dropout-alpha", "0.25", "--word-dropout", "0"])
    model = _model_config(args, "pos", "x")
    assert (model.word_dropout_alpha, model.word_dropout, model.hidden_size) == (0.25, 0.0, 200)
    assert main(["train", "--data", "generated-pos", "--limit", "100", "--no-char", "--embed", "8", "--hidden", "8",
                 "--epochs", "1", "--word-dropout-alpha", "0.25", "--threads", "1", "--json", "--quiet"]) == 0
    assert '"status": "finished"' in capsys.readouterr().out
