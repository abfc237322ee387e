"""What the Saturation page measures over: a sample of the user's corpus (explore.corpus_view.corpus_sample) is
exactly the corpus's sequences traced through the model; prepared inputs name the user's tensors and say which
are random numbers."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from lstm_viz.analysis import saturation
from lstm_viz.data import tutorial_corpus
from lstm_viz.explore.corpus_view import corpus_sample, prepared_sample
from lstm_viz.explore.module_subject import ModuleSubject
from lstm_viz.explore.subject import ModelSubject
from lstm_viz.files.user_corpus import UserCorpus
from lstm_viz.training import TRAIN_PRESETS, Trainer
from lstm_viz.training.models import preset

from .test_inspect_subject import EMB, VOCAB, make_user_model

pytestmark = pytest.mark.timeout(120)

LINES = tuple(tuple(s.split()) for s in (
    "The dog ate the apple", "Everybody read that book", "The zebra read the book",
    "that dog ate", "Everybody ate the apple that the dog read"))


@pytest.fixture(scope="module")
def tagger() -> ModelSubject:
    trainer = Trainer(preset("tutorial"), TRAIN_PRESETS["tutorial"], tutorial_corpus())
    trainer.run()
    return ModelSubject("tagger", trainer.model.eval(), trainer.encoder)


def test_a_corpus_sample_is_the_corpus_traced(tagger):
    corpus = UserCorpus("mine.txt", "lines", LINES)
    sample = corpus_sample(tagger, corpus, 100, batch_size=2)
    assert sample.n_sequences == 5 and sample.n_tokens == corpus.n_tokens == 25
    assert sample.source == "all 5 sequences of your corpus 'mine.txt'"
    assert len(sample.traces) == 3  # batches of 2
    # saturation over the sample equals saturation over each sequence traced on its own, pooled
    one_by_one = [tagger.trace(tagger.probe([seq])) for seq in LINES]
    a, b = saturation(sample.traces), saturation(one_by_one)
    for gate in a.gate_names:
        torch.testing.assert_close(torch.as_tensor(a.left[gate]), torch.as_tensor(b.left[gate]))
        torch.testing.assert_close(torch.as_tensor(a.right[gate]), torch.as_tensor(b.right[gate]))
    part = corpus_sample(tagger, corpus, 2)
    assert part.n_sequences == 2 and part.source == "2 of the 5 sequences of your corpus 'mine.txt'"
    assert corpus_sample(tagger, corpus, 2).n_tokens == part.n_tokens  # seeded: the same pick again
    with pytest.raises(ValueError, match="positive int"):
        corpus_sample(tagger, corpus, 0)


def test_a_users_module_reads_the_corpus_through_its_vocabulary():
    model = make_user_model()
    subject = ModuleSubject("own", model.lstm, VOCAB, model.embedding.weight)
    corpus = UserCorpus("mine.txt", "lines", LINES)
    sample = corpus_sample(subject, corpus, 10)
    assert sample.n_sequences == 5 and sample.n_tokens == 25  # lowercase vocabulary, "zebra" read as <unk>
    bare = ModuleSubject("bare", nn.LSTM(EMB, 3))
    with pytest.raises(ValueError, match="no vocabulary and embedding"):
        corpus_sample(bare, corpus, 10)
    x = torch.randn(6, 4, EMB)
    tensors = UserCorpus("batch.npy", "tensor", tuple(tuple(f"t{t}" for t in range(4)) for _ in range(6)), inputs=x)
    sample = corpus_sample(bare, tensors, 3)
    assert sample.n_sequences == 3 and sample.n_tokens == 12
    with pytest.raises(ValueError, match="embedded vectors"):
        corpus_sample(ModelSubject("t", *_tiny()), tensors, 3)


def _tiny():
    trainer = Trainer(preset("tutorial"), TRAIN_PRESETS["tutorial"], tutorial_corpus())
    return trainer.model.eval(), trainer.encoder


def test_prepared_inputs_say_which_are_the_users_and_which_are_random():
    x = torch.randn(2, 9, EMB)
    subject = ModuleSubject("s", nn.LSTM(EMB, 3), inputs={"batch.npy": x}, random_steps=6, random_batch=2)
    sample = prepared_sample(subject, 20)
    assert sample.n_sequences == 4 and sample.n_tokens == 2 * 9 + 2 * 6
    assert sample.source.startswith("4 prepared sequences: your input batch.npy")
    assert "and standard-normal random numbers (not data): Random inputs (2 × 6 steps" in sample.source
    only_random = prepared_sample(ModuleSubject("r", nn.LSTM(EMB, 3)), 20)
    assert only_random.source.startswith("1 prepared sequences: standard-normal random numbers (not data)")
