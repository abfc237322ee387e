"""A user's own model as a Subject: loading, text and prepared inputs, parity with the user's nn.LSTM, losses."""
from __future__ import annotations

import io

import pytest
import torch
from torch import nn

from lstm_viz.record.gradient_flow import gradient_flow
from lstm_viz.files.model_files import ModelFileError, inspect_model
from lstm_viz.explore.module_subject import (
    LOSSES, MAX_BATCH, ModuleSubject, checkpoint_subject, module_subject, reinspect,
)
from lstm_viz.explore.subject import InputError, ModelSubject, AnalysisInput

pytestmark = pytest.mark.timeout(120)

VOCAB = ["<pad>", "<unk>", "the", "dog", "ate", "apple", ".", "everybody", "read", "that", "book"]
EMB, HIDDEN, TAGS = 7, 5, 3


class UserTagger(nn.Module):
    """Written the way a user would: embedding, 2-layer bidirectional batch-first LSTM, linear head."""

    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(len(VOCAB), EMB, padding_idx=0)
        self.lstm = nn.LSTM(EMB, HIDDEN, num_layers=2, bidirectional=True, batch_first=True)
        self.head = nn.Linear(2 * HIDDEN, TAGS)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.lstm(self.embedding(ids))[0])


def make_user_model() -> UserTagger:
    """Trained a few SGD steps, so the weights are not the initialisation."""
    torch.manual_seed(0)
    model = UserTagger()
    ids, tags = torch.randint(2, len(VOCAB), (4, 6)), torch.randint(0, TAGS, (4, 6))
    for _ in range(5):
        model.zero_grad()
        nn.functional.cross_entropy(model(ids).reshape(-1, TAGS), tags.reshape(-1)).backward()
        with torch.no_grad():
            for param in model.parameters():
                param -= 0.5 * param.grad
    return model.eval()


def state_dict_bytes(model: nn.Module) -> bytes:
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def user_model() -> UserTagger:
    return make_user_model()


@pytest.fixture(scope="module")
def subject(user_model) -> ModuleSubject:
    found = inspect_model(state_dict_bytes(user_model))
    assert found.prefix == "lstm." and found.embedding_keys == ("embedding.weight",)
    return module_subject(found, "user tagger", embedding_key="embedding.weight", vocab=VOCAB)


def _ids(words):
    return torch.tensor([[VOCAB.index(w) for w in words]])


# ------------------------------------------------------------------------------------- parity


def test_text_trace_matches_the_users_lstm(user_model, subject):
    assert (subject.kind, subject.task, subject.label_names, subject.accepts_text) == ("lstm", None, (), True)
    assert subject.module.batch_first is False  # rebuilt from weights: time first
    probe = subject.input_from_text("The dog ate the apple .")
    assert probe.tokens == (("The", "dog", "ate", "the", "apple", "."),) and probe.unknown == ()
    assert probe.inputs.shape == (6, 1, EMB)
    rec = subject.trace(probe)
    with torch.no_grad():
        out, (h_n, c_n) = user_model.lstm(user_model.embedding(_ids(["the", "dog", "ate", "the", "apple", "."])))
    torch.testing.assert_close(rec.output.transpose(0, 1), out, rtol=0, atol=1e-6)
    torch.testing.assert_close(rec.h_n, h_n, rtol=0, atol=1e-6)
    torch.testing.assert_close(rec.c_n, c_n, rtol=0, atol=1e-6)
    # the top layer's recorded h_t is the output, forward then backward features
    torch.testing.assert_close(torch.cat([rec.hidden[1, 0, 0], rec.hidden[1, 1, 0]], -1), out[0], rtol=0, atol=1e-6)
    assert subject.predict([["the"]]) is None


def test_subject_on_the_users_own_batch_first_module(user_model):
    own = ModuleSubject("own", user_model.lstm, VOCAB, user_model.embedding.weight)
    probe = own.input_from_text("everybody read that book")
    assert probe.inputs.shape == (1, 4, EMB)  # batch first, as the module takes it
    with torch.no_grad():
        out, _ = user_model.lstm(user_model.embedding(_ids(["everybody", "read", "that", "book"])))
    rec = own.trace(probe)
    assert rec.batch_first and torch.allclose(rec.output, out, atol=1e-6)


def test_unknown_words_and_text_errors(user_model, subject):
    probe = subject.input_from_text("the cat ate")
    assert probe.tokens == (("the", "cat", "ate"),) and probe.unknown == ("cat",)
    torch.testing.assert_close(probe.inputs[1, 0], user_model.embedding.weight[1].detach())  # the <unk> row
    for text, message in (("   ", "empty"), ("zebra giraffe", "unknown")):
        with pytest.raises(InputError, match=message):
            subject.input_from_text(text)
    # without an <unk> row, unknown words are left out and the note says so
    no_unk = ModuleSubject("x", user_model.lstm, ["the", "dog", "ate"], user_model.embedding.weight[2:5])
    probe = no_unk.input_from_text("the cat ate")
    assert probe.tokens == (("the", "ate"),) and "left out" in probe.note and "cat" in probe.note
    bare = ModuleSubject("bare", user_model.lstm)
    assert not bare.accepts_text
    with pytest.raises(InputError, match="no vocabulary"):
        bare.input_from_text("the dog")


def test_long_text_is_cut_with_a_note(subject):
    probe = subject.input_from_text("the dog " * 1500)
    assert probe.inputs.shape[0] == 2000 and "2,000" in probe.note


# ------------------------------------------------------------------------------------ prepared inputs


def test_prepared_and_random_inputs(user_model):
    x = torch.randn(3, 4, EMB)  # [B, T, F]
    subject = ModuleSubject("s", nn.GRU(EMB, 2), inputs={"batch.npy": x}, random_steps=6, random_seed=3)
    subject.add_inputs("time_first.pt", x.transpose(0, 1), time_first=True)
    presets = subject.preset_inputs()
    assert list(presets) == ["batch.npy (3 × 4 steps)", "time_first.pt (3 × 4 steps)",
                             "Random inputs (6 steps, seed 3)"]
    first = presets["batch.npy (3 × 4 steps)"]
    assert torch.equal(first.inputs, x.transpose(0, 1))  # time first, as this module takes it
    assert torch.equal(presets["time_first.pt (3 × 4 steps)"].inputs, first.inputs)
    assert first.tokens == (("0", "1", "2", "3"),) * 3 and first.lengths.tolist() == [4, 4, 4]
    rand = presets["Random inputs (6 steps, seed 3)"]
    expected = torch.randn(1, 6, EMB, generator=torch.Generator().manual_seed(3))
    assert torch.equal(rand.inputs, expected.transpose(0, 1)) and "random" in rand.note.lower()
    assert subject.preset_inputs()["batch.npy (3 × 4 steps)"] is first  # built once: pages can cache on it
    assert list(subject.preset_inputs(n=1)) == ["Random inputs (6 steps, seed 3)"]
    rec = subject.trace(rand)
    with torch.no_grad():
        torch.testing.assert_close(rec.output, subject.module(rand.inputs)[0], rtol=0, atol=1e-6)


def test_bad_prepared_inputs_name_the_problem():
    subject = ModuleSubject("s", nn.LSTM(4, 3))
    with pytest.raises(InputError, match=r"5 features per step.*expects input_size 4"):
        subject.add_inputs("x.npy", torch.randn(2, 6, 5))
    with pytest.raises(InputError, match="dtype torch.int64"):
        subject.add_inputs("ids.pt", torch.ones(6, 4, dtype=torch.int64))
    with pytest.raises(InputError, match="NaN"):
        subject.add_inputs("nan.pt", torch.full((2, 4), float("nan")))
    big = subject.probe_inputs(torch.randn(MAX_BATCH + 6, 2, 4))
    assert big.lengths.shape == (MAX_BATCH,) and f"first {MAX_BATCH}" in big.note
    with pytest.raises(ValueError, match="random_steps"):
        ModuleSubject("s", nn.LSTM(4, 3), random_steps=0)
    with pytest.raises(TypeError, match="LSTM, GRU or RNN"):
        ModuleSubject("s", nn.LSTMCell(4, 3))
    with pytest.raises(InputError, match="expects input_size 4"):
        ModuleSubject("s", nn.LSTM(4, 3), ["a", "b"], torch.randn(2, 5))
    with pytest.raises(InputError, match="only 2 rows"):
        ModuleSubject("s", nn.LSTM(4, 3), ["a", "b", "c"], torch.randn(2, 4))
    with pytest.raises(ValueError, match="both vocab and embedding"):
        ModuleSubject("s", nn.LSTM(4, 3), vocab=["a"])


# ------------------------------------------------------------------------------------------ losses


@pytest.mark.parametrize("loss", list(LOSSES))
def test_gradient_flow_with_each_loss(user_model, subject, loss):
    probe = subject.input_from_text("the dog ate the apple")
    flow = gradient_flow(subject.module, probe.inputs, subject.loss_fn(probe, loss))
    rec = subject.trace(probe)
    T = 5
    h_top = rec.hidden[1, :, 0]  # [D, T, H]
    with torch.no_grad():
        out, (h_n, _) = user_model.lstm(user_model.embedding(_ids(["the", "dog", "ate", "the", "apple"])))
    expected_loss = {"last output": 0.5 * out[0, -1].pow(2).sum(), "all outputs": 0.5 * out.pow(2).sum(),
                     "final state": 0.5 * h_n[-2:].pow(2).sum()}[loss]
    assert flow.loss == pytest.approx(float(expected_loss), rel=1e-5)
    # each loss is 0.5*|y|^2 of what it reads, so where nothing later in the graph reads h_t, dL/dh_t = h_t
    dh = flow.dh[1, :, 0]  # top layer [D, T]
    torch.testing.assert_close(dh[0, T - 1], h_top[0, T - 1].norm(), rtol=1e-5, atol=1e-6)  # forward, last step
    if loss == "last output":
        torch.testing.assert_close(dh[1, T - 1], h_top[1, T - 1].norm(), rtol=1e-5, atol=1e-6)
        assert torch.all(dh[1, : T - 1] == 0)  # backward steps before the last position never reach the loss
    elif loss == "final state":
        torch.testing.assert_close(dh[1, 0], h_top[1, 0].norm(), rtol=1e-5, atol=1e-6)  # backward's final step
    else:
        assert torch.all(dh > 0)
    assert torch.all(flow.dh[0] > 0) and flow.dc is not None  # it reaches the lower layer through the recurrence


def test_last_output_loss_follows_lengths(subject):
    x = torch.randn(5, 2, EMB)
    probe = AnalysisInput(tokens=(tuple("abcde"), tuple("abc")), inputs=x, lengths=torch.tensor([5, 3]))
    flow = gradient_flow(subject.module, x, subject.loss_fn(probe, "last output"), lengths=probe.lengths)
    rec = subject.trace(probe)
    torch.testing.assert_close(flow.dh[1, 0, 1, 2], rec.hidden[1, 0, 1, 2].norm(), rtol=1e-5, atol=1e-6)
    assert torch.all(flow.dh[1, :, 1, 3:] == 0)  # padding


def test_loss_choice_and_custom_loss(subject):
    probe = subject.input_from_text("the dog")
    custom = lambda output, state: output.sum()  # noqa: E731
    assert subject.loss_fn(probe, custom) is custom
    with pytest.raises(ValueError, match="loss must be one of"):
        subject.loss_fn(probe, "cross entropy")
    s = ModuleSubject("s", nn.RNN(3, 2), loss="final state")
    p = s.preset_inputs()[next(iter(s.preset_inputs()))]
    h_n = s.trace(p).h_n
    assert float(s.loss_fn(p)(torch.zeros(1), h_n)) == pytest.approx(float(0.5 * h_n.pow(2).sum()))


# ------------------------------------------------------------------------------------- other files


def test_reinspect_picks_another_layer_and_nonlinearity():
    torch.manual_seed(2)
    enc, dec = nn.LSTM(3, 4), nn.RNN(4, 2, nonlinearity="relu")
    sd = {**{f"enc.{k}": v for k, v in enc.state_dict().items()},
          **{f"dec.{k}": v for k, v in dec.state_dict().items()}}
    buf = io.BytesIO()
    torch.save(sd, buf)
    found = inspect_model(buf.getvalue())
    assert found.prefix == "enc." and found.prefixes == ("enc.", "dec.")
    other = reinspect(found, "dec.", "relu")
    assert other.spec.kind == "rnn" and other.spec.nonlinearity == "relu" and other.module.nonlinearity == "relu"
    x = torch.randn(6, 1, 4)
    s = ModuleSubject("dec", other.module)
    with torch.no_grad():
        torch.testing.assert_close(s.trace(s.probe_inputs(x.transpose(0, 1))).output, dec(x)[0], rtol=0, atol=1e-6)
    assert reinspect(found, "dec.").spec.nonlinearity == "tanh"  # torch's default until the user says relu
    with pytest.raises(ModelFileError, match="Prefixes that exist"):
        reinspect(found, "decoder.")
    with pytest.raises(ModelFileError, match="no key 'emb.weight'"):
        module_subject(found, "x", embedding_key="emb.weight", vocab=["a"])


def test_embedding_without_vocabulary_is_refused(user_model):
    found = inspect_model(state_dict_bytes(user_model))
    with pytest.raises(InputError, match="needs a vocabulary"):
        module_subject(found, "x", embedding_key="embedding.weight")
    assert not module_subject(found, "x").accepts_text


def test_lstm_viz_checkpoint_becomes_a_model_subject():
    from lstm_viz.data.batching import BatchEncoder
    from lstm_viz.training.checkpoint import checkpoint_dict
    from lstm_viz.data.vocab import Vocab
    from lstm_viz.training.models import ModelConfig, build_model

    torch.manual_seed(1)
    config = ModelConfig(arch="gru", embed_dim=4, hidden_size=3)
    vocab, labels = Vocab(["The", "dog", "ate"]), Vocab.labels(["DET", "NN", "V"])
    model = build_model(config, len(vocab), len(labels)).eval()
    ckpt = checkpoint_dict(model, config, BatchEncoder("pos", vocab, labels))
    buf = io.BytesIO()
    torch.save(ckpt, buf)
    found = inspect_model(buf.getvalue())
    assert found.is_checkpoint and found.prefix == "rnn."
    subject = checkpoint_subject(buf.getvalue(), "ckpt")
    assert isinstance(subject, ModelSubject) and subject.task == "pos" and subject.label_names == ("DET", "NN", "V")
    probe = subject.input_from_text("The dog ate")
    preds = subject.predict(probe.tokens)
    assert len(preds[0]) == 3 and set(preds[0]) <= {"DET", "NN", "V"}
    with torch.no_grad():
        expected = model.rnn(model.embedding(torch.tensor([[vocab.index(w) for w in ("The", "dog", "ate")]])))[0]
    torch.testing.assert_close(subject.trace(probe).output, expected, rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="not an lstm-viz checkpoint"):
        checkpoint_subject(state_dict_bytes(nn.LSTM(2, 2)), "plain")
