"""Loading a user's own saved model, rebuilding its recurrent layer, and turning user input into inputs."""
from __future__ import annotations

import io
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from lstm_viz.files.inputs import InputError, load_input_tensor, load_vocab_file, random_inputs, text_to_inputs
from lstm_viz.files.model_files import (
    ModelFileError,
    RecurrentSpec,
    as_state_dict,
    build_module,
    find_embeddings,
    find_recurrent_prefixes,
    find_vocab,
    infer_architecture,
    inspect_model,
    safe_load,
)

pytestmark = pytest.mark.timeout(120)

VOCAB = ["<pad>", "<unk>", "the", "dog", "ate", "apple", ".", "everybody", "read", "that", "book"]


class Encoder(nn.Module):
    def __init__(self, vocab: int, emb: int, hidden: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab, emb, padding_idx=0)
        self.lstm = nn.LSTM(emb, hidden, num_layers=2, bidirectional=True, batch_first=True)


class UserTagger(nn.Module):
    """Written the way a user would: embedding, 2-layer bidirectional LSTM, linear head."""

    def __init__(self, vocab: int = len(VOCAB), emb: int = 7, hidden: int = 5, tags: int = 3):
        super().__init__()
        self.encoder = Encoder(vocab, emb, hidden)
        self.head = nn.Linear(2 * hidden, tags)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        out, _ = self.encoder.lstm(self.encoder.embedding(ids))
        return self.head(out)


@pytest.fixture(scope="module")
def user_model() -> UserTagger:
    torch.manual_seed(0)
    model = UserTagger()
    ids = torch.randint(2, len(VOCAB), (4, 6))
    tags = torch.randint(0, 3, (4, 6))
    for _ in range(5):  # a few real SGD steps, so weights are not the initialisation (torch.optim's import is slow)
        model.zero_grad()
        loss = nn.functional.cross_entropy(model(ids).reshape(-1, 3), tags.reshape(-1))
        loss.backward()
        with torch.no_grad():
            for param in model.parameters():
                param -= 0.5 * param.grad
    return model.eval()


@pytest.fixture()
def saved(user_model, tmp_path) -> Path:
    path = tmp_path / "tagger.pt"
    torch.save(user_model.state_dict(), path)
    return path


def _bytes_of(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


# ------------------------------------------------------------------------------------- a user's model


def test_user_model_roundtrip(user_model, saved):
    sd = safe_load(saved)
    assert find_recurrent_prefixes(sd) == ["encoder.lstm."]
    spec = infer_architecture(sd, "encoder.lstm.")
    assert spec == RecurrentSpec(kind="lstm", input_size=7, hidden_size=5, num_layers=2, bidirectional=True,
                                 bias=True, proj_size=0)
    assert spec.gate_count == 4 and spec.output_size == 5
    module = build_module(spec, sd, "encoder.lstm.")
    assert isinstance(module, nn.LSTM) and not module.training and module.batch_first is False
    ids = torch.tensor([[2, 3, 4, 2, 5, 6]])
    x = user_model.encoder.embedding(ids).detach()  # [1, T, 7], batch-first like the user's module
    with torch.no_grad():
        want, (want_h, want_c) = user_model.encoder.lstm(x)
        got, (got_h, got_c) = module(x.transpose(0, 1))
    assert torch.equal(got.transpose(0, 1), want)
    assert torch.equal(got_h, want_h) and torch.equal(got_c, want_c)
    assert find_embeddings(sd, spec.input_size, "encoder.lstm.")[0] == "encoder.embedding.weight"

    from lstm_viz.record.tracing import trace

    rec = trace(module, x.transpose(0, 1))
    torch.testing.assert_close(rec.output.transpose(0, 1), want, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(rec.c_n, want_c, rtol=1e-5, atol=1e-6)


def test_text_inputs_use_the_users_embedding(user_model, saved):
    sd = safe_load(saved)
    emb = sd["encoder.embedding.weight"]
    tokens, x, unknown = text_to_inputs("The dog ate the zebra.", VOCAB, emb)
    assert tokens == ["The", "dog", "ate", "the", "zebra", "."]  # "zebra." split: "." is known
    assert unknown == 1
    ids = torch.tensor([2, 3, 4, 2, 1, 6])  # lowercased lookup; zebra -> <unk>
    assert torch.equal(x, user_model.encoder.embedding(ids).detach())


def test_inspect_model_one_call(saved):
    found = inspect_model(saved.read_bytes())
    assert found.prefix == "encoder.lstm." and found.spec.bidirectional and found.vocab is None
    assert found.embedding_keys[0] == "encoder.embedding.weight" and not found.is_checkpoint


# --------------------------------------------------------------------------------- other architectures


@pytest.mark.parametrize("make, spec", [
    (lambda: nn.GRU(4, 6, num_layers=2, bias=False),
     RecurrentSpec("gru", 4, 6, 2, False, False)),
    (lambda: nn.RNN(3, 5, num_layers=1, bidirectional=True, nonlinearity="relu"),
     RecurrentSpec("rnn", 3, 5, 1, True, True)),
    (lambda: nn.LSTM(4, 6, num_layers=2, bidirectional=True, proj_size=3),
     RecurrentSpec("lstm", 4, 6, 2, True, True, proj_size=3)),
    (lambda: nn.LSTM(3, 3, num_layers=3),  # square weights: 4H rows and H columns still tell LSTM
     RecurrentSpec("lstm", 3, 3, 3)),
])
def test_other_kinds(make, spec):
    torch.manual_seed(1)
    original = make().eval()
    sd = original.state_dict()
    assert find_recurrent_prefixes(sd) == [""]
    got = infer_architecture(sd, "")
    assert got == spec
    act = original.nonlinearity if isinstance(original, nn.RNN) else None
    rebuilt = build_module(got, sd, "", nonlinearity=act)
    x = torch.randn(5, 2, spec.input_size)
    with torch.no_grad():
        want, got_out = original(x)[0], rebuilt(x)[0]
    assert torch.equal(want, got_out)


def test_rnn_nonlinearity_is_the_users_choice():
    torch.manual_seed(2)
    relu = nn.RNN(3, 4, nonlinearity="relu").eval()
    spec = infer_architecture(relu.state_dict(), "")
    assert spec.nonlinearity == "tanh"  # weights cannot tell; torch's default until the user picks
    x = torch.randn(6, 1, 3)
    with torch.no_grad():
        assert torch.equal(build_module(spec, relu.state_dict(), "", nonlinearity="relu")(x)[0], relu(x)[0])
        assert not torch.equal(build_module(spec, relu.state_dict(), "")(x)[0], relu(x)[0])
    with pytest.raises(ValueError, match="tanh' or 'relu"):
        build_module(spec, relu.state_dict(), "", nonlinearity="sigmoid")


@settings(max_examples=20, deadline=None)
@given(kind=st.sampled_from(["lstm", "gru", "rnn"]), layers=st.integers(1, 3), bidi=st.booleans(),
       bias=st.booleans(), hidden=st.integers(1, 6), inp=st.integers(1, 6), proj=st.integers(0, 5))
def test_inferred_spec_matches_any_module(kind, layers, bidi, bias, hidden, inp, proj):
    proj = proj if kind == "lstm" and proj < hidden else 0
    cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[kind]
    extra = {"proj_size": proj} if kind == "lstm" else {}
    module = cls(inp, hidden, num_layers=layers, bidirectional=bidi, bias=bias, **extra)
    spec = infer_architecture({f"net.{k}": v for k, v in module.state_dict().items()}, "net.")
    assert spec == RecurrentSpec(kind, inp, hidden, layers, bidi, bias, proj)


# ------------------------------------------------------------------------------- containers and prefixes


def test_lstm_viz_checkpoint_and_nested_dicts():
    gru = nn.GRU(4, 3)
    ckpt = {"format": "lstm-viz-checkpoint", "state_dict": {f"rnn.{k}": v for k, v in gru.state_dict().items()},
            "model_config": {"kind": "gru", "hidden_size": 3}, "vocab": ["<pad>", "<unk>", "a"]}
    loaded = safe_load(_bytes_of(ckpt))
    assert find_recurrent_prefixes(loaded) == ["rnn."]
    assert infer_architecture(loaded, "rnn.").kind == "gru"
    assert find_vocab(loaded) == ["<pad>", "<unk>", "a"]
    found = inspect_model(_bytes_of(ckpt))
    assert found.is_checkpoint and found.vocab == ["<pad>", "<unk>", "a"]

    training = {"model": {f"encoder.{k}": v for k, v in gru.state_dict().items()},
                "optimizer": {"state": {0: {"step": torch.tensor(3.0)}}, "param_groups": [{"lr": 0.1}]}, "epoch": 4}
    loaded = safe_load(_bytes_of(training))
    assert find_recurrent_prefixes(loaded) == ["model.encoder."]
    assert as_state_dict(loaded)["model.encoder.weight_hh_l0"].shape == (9, 3)


def test_project_checkpoint_with_char_encoder():
    from lstm_viz.data.batching import BatchEncoder
    from lstm_viz.training.checkpoint import checkpoint_dict
    from lstm_viz.data.vocab import Vocab
    from lstm_viz.training.models import ModelConfig, build_model

    torch.manual_seed(3)
    config = ModelConfig(arch="rnn", nonlinearity="relu", embed_dim=4, hidden_size=3, bidirectional=True,
                         char_embed_dim=2, char_hidden=2, lowercase=True)
    vocab, labels, chars = Vocab(["the", "dog"], lowercase=True), Vocab.labels(["DET", "NOUN"]), Vocab(list("thedog"))
    model = build_model(config, len(vocab), len(labels), len(chars)).eval()
    ckpt = checkpoint_dict(model, config, BatchEncoder("pos", vocab, labels, chars))
    ckpt["torch_version"] = str(ckpt["torch_version"])  # a TorchVersion object would be refused as a global
    found = inspect_model(_bytes_of(ckpt))
    # the character BiLSTM comes first in the file; the word-level layer is the less nested one
    assert found.prefixes == ("char_encoder.rnn.", "rnn.") and found.prefix == "rnn."
    assert found.spec == RecurrentSpec("rnn", 4 + 2 * 2, 3, 1, True, True, nonlinearity="relu")
    assert found.is_checkpoint and found.vocab == ["<pad>", "<unk>", "the", "dog"] and found.lowercase is True
    assert found.embedding_keys == ()  # words + char features feed the rnn: no single matrix embeds its input
    x = torch.randn(2, 5, 8)
    with torch.no_grad():
        assert torch.equal(found.module(x.transpose(0, 1))[0].transpose(0, 1), model.rnn(x)[0])


def test_several_recurrent_layers_need_a_choice():
    sd = {**{f"enc.{k}": v for k, v in nn.LSTM(2, 3).state_dict().items()},
          **{f"dec.{k}": v for k, v in nn.GRU(3, 4).state_dict().items()}}
    assert find_recurrent_prefixes(sd) == ["enc.", "dec."]
    with pytest.raises(ModelFileError, match="choose one prefix of 'enc.', 'dec.'"):
        infer_architecture(sd)
    assert infer_architecture(sd, "dec.").kind == "gru"
    with pytest.raises(ModelFileError, match=r"No recurrent weights under prefix 'encoder\.'.*'enc\.', 'dec\.'"):
        infer_architecture(sd, "encoder.")


def test_embedding_search_prefers_embeddings_next_to_the_layer():
    sd = {"head.weight": torch.zeros(3, 8), "head.bias": torch.zeros(3),  # a Linear: has a bias, not an embedding
          "proj.weight": torch.zeros(4, 8),  # width fits, no bias, but not named like an embedding
          "other.embedding.weight": torch.zeros(10, 8),
          "encoder.embedding.weight": torch.zeros(12, 8),
          "encoder.char_embedding.weight": torch.zeros(12, 5)}  # wrong width
    sd.update({f"encoder.rnn.{k}": v for k, v in nn.RNN(8, 2).state_dict().items()})
    assert find_embeddings(sd, 8, "encoder.rnn.") == ["encoder.embedding.weight", "other.embedding.weight",
                                                      "proj.weight"]


# ---------------------------------------------------------------------------------------- bad files


def test_empty_large_and_foreign_files(tmp_path):
    with pytest.raises(ModelFileError, match="empty"):
        safe_load(b"")
    with pytest.raises(ModelFileError, match="over the limit"):
        safe_load(_bytes_of(nn.LSTM(20, 20).state_dict()), max_bytes=1000)
    big = tmp_path / "big.pt"
    big.write_bytes(b"x" * 2048)
    with pytest.raises(ModelFileError, match="over the limit"):
        safe_load(big, max_bytes=1024)
    with pytest.raises(ModelFileError, match="does not exist"):
        safe_load(tmp_path / "missing.pt")
    for junk in (b"hello, this is text", b"PK\x03\x04broken zip", pickle.dumps({"a": 1})):
        with pytest.raises(ModelFileError, match="Not a PyTorch file"):
            safe_load(junk)
    with pytest.raises(ModelFileError, match="truncated"):
        safe_load(_bytes_of(nn.LSTM(2, 2).state_dict())[:300])
    with pytest.raises(TypeError, match="path, bytes or a binary file"):
        safe_load(12)  # type: ignore[arg-type]


class _Evil:
    """Unpickling this would create a file: the loader must refuse it, never run it."""

    marker = ""

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_code_running_pickle_is_refused(tmp_path):
    evil = _Evil()
    evil.marker = str(tmp_path / "ran.txt")
    data = _bytes_of({"weight_ih_l0": torch.zeros(4, 2), "payload": evil})
    with pytest.raises(ModelFileError, match="Not a plain-data file: it contains Python objects"):
        safe_load(data)
    with pytest.raises(ModelFileError, match="save a state_dict instead"):
        safe_load(io.BytesIO(data))
    with pytest.raises(InputError, match="Python objects"):
        load_input_tensor(data, "inputs.pt", 2)
    assert not Path(evil.marker).exists()
    # a whole module (not its state_dict) needs its class to load: refused the same way
    with pytest.raises(ModelFileError, match="torch.save\\(model.state_dict\\(\\), path\\)"):
        safe_load(_bytes_of(nn.LSTM(2, 3)))


def test_no_recurrent_weights_lists_keys():
    with pytest.raises(ModelFileError, match=r"No recurrent weights found.*Found 2 keys: weight \(3, 2\), bias"):
        infer_architecture(nn.Linear(2, 3).state_dict())
    assert find_recurrent_prefixes(nn.Linear(2, 3).state_dict()) == []
    with pytest.raises(ModelFileError, match="LSTMCell"):
        infer_architecture(nn.LSTMCell(2, 3).state_dict())
    with pytest.raises(ModelFileError, match="Expected a state_dict.*got Tensor"):
        find_recurrent_prefixes(torch.zeros(3))
    with pytest.raises(ModelFileError, match="holds no tensors"):
        find_recurrent_prefixes({"epoch": 3})


def _lstm_sd(**kwargs) -> dict:
    return dict(nn.LSTM(4, 3, num_layers=2, **kwargs).state_dict())


@pytest.mark.parametrize("edit, message", [
    (lambda sd: sd.pop("weight_ih_l1_reverse"),
     r"weight_ih_l1_reverse is missing: expected shape \(12, 6\) \(the reverse direction"),
    (lambda sd: sd.pop("bias_hh_l1"), r"bias_hh_l1 is missing: expected shape \(12,\) \(biases are present"),
    (lambda sd: sd.update(weight_hh_l1=torch.zeros(12, 4)),
     r"weight_hh_l1 has shape \(12, 4\), expected \(12, 3\)"),
    (lambda sd: sd.update(weight_ih_l1=torch.zeros(12, 3)),
     r"weight_ih_l1 has shape \(12, 3\), expected \(12, 6\) \(input weights: \[gates\*hidden, previous layer"),
    (lambda sd: sd.update(weight_ih_l0=torch.zeros(15, 4), weight_hh_l0=torch.zeros(15, 3)),
     r"rows must be 4x \(LSTM\), 3x \(GRU\) or 1x \(RNN\) its width 3, found 15"),
    (lambda sd: sd.update(weight_ih_l3=torch.zeros(12, 6)), r"weight_ih_l2 is missing"),
    (lambda sd: sd.update(bias_ih_l0=torch.zeros(12, 1)), r"bias_ih_l0 has 2 dimensions"),
    (lambda sd: sd.update(weight_hh_l0=torch.zeros(12, 3, dtype=torch.int64)), r"weight_hh_l0 has dtype torch.int64"),
    (lambda sd: sd.update(weight_hr_l1=torch.zeros(2, 3)), r"weight_hr_l0 is missing|weight_hr_l1"),
])
def test_inconsistent_weights_name_the_key(edit, message):
    sd = _lstm_sd(bidirectional=True)
    edit(sd)
    with pytest.raises(ModelFileError, match=message):
        infer_architecture(sd, "")


def test_bias_missing_in_one_layer_only():
    sd = _lstm_sd(bias=False)
    sd["bias_ih_l1"] = torch.zeros(12)
    with pytest.raises(ModelFileError, match=r"bias_ih_l1 does not fit .*without bias"):
        infer_architecture(sd, "")


# ------------------------------------------------------------------------------------------- inputs


def test_text_to_inputs_errors_and_options():
    emb = torch.arange(12.0).reshape(4, 3)
    with pytest.raises(InputError, match="text is empty"):
        text_to_inputs("   ", ["a", "b"], emb)
    with pytest.raises(InputError, match="Every word of the text is unknown"):
        text_to_inputs("zebra giraffe", ["<unk>", "a", "b"], emb)
    with pytest.raises(InputError, match="5 tokens but the embedding has only 4 rows"):
        text_to_inputs("a", ["a", "b", "c", "d", "e"], emb)
    tokens, x, unknown = text_to_inputs("Cat a zebra", ["Cat", "a", "b"], emb)  # capitals: case kept
    assert tokens == ["Cat", "a"] and unknown == 1  # no <unk> in this vocabulary: unknown words left out
    assert torch.equal(x, emb[[0, 1]])
    tokens, _, unknown = text_to_inputs("cat", ["Cat", "a"], emb, lowercase=True)
    assert tokens == ["cat"] and unknown == 0


def test_load_vocab_file(tmp_path):
    assert load_vocab_file(b"<pad>\n<unk>\nthe\n\n") == ["<pad>", "<unk>", "the"]
    assert load_vocab_file("\ufeffa\r\nb\r\n".encode()) == ["a", "b"]
    assert load_vocab_file(json.dumps(["x", "y"]).encode()) == ["x", "y"]
    assert load_vocab_file(json.dumps({"y": 1, "x": 0}).encode()) == ["x", "y"]
    path = tmp_path / "vocab.txt"
    path.write_text("één\ntwee\n", encoding="utf-8")
    assert load_vocab_file(path) == ["één", "twee"]
    with pytest.raises(InputError, match="Line 2 of the vocabulary file is empty"):
        load_vocab_file(b"a\n\nb\n")
    with pytest.raises(InputError, match="not UTF-8"):
        load_vocab_file(b"caf\xe9\n")
    with pytest.raises(InputError, match="over the limit"):
        load_vocab_file(b"a\n" * 100, max_bytes=50)
    with pytest.raises(InputError, match="each row id 0..N-1"):
        load_vocab_file(b'{"a": 0, "b": 5}')
    with pytest.raises(InputError, match="empty"):
        load_vocab_file(b"")


def _npy(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=allow_pickle)
    return buf.getvalue()


def test_load_input_tensor_formats_and_errors():
    a = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    got = load_input_tensor(_npy(a), "x.npy", 3)
    assert got.shape == (1, 5, 3) and torch.equal(got[0], torch.from_numpy(a))
    b = torch.randn(2, 4, 3)
    assert torch.equal(load_input_tensor(_bytes_of(b), "x.pt", 3), b)
    assert torch.equal(load_input_tensor(_bytes_of({"inputs": b, "labels": torch.zeros(2)}), "x.pth", 3), b)
    buf = io.BytesIO()
    np.savez(buf, x=a)
    assert load_input_tensor(buf.getvalue(), "x.npz", 3).shape == (1, 5, 3)
    with pytest.raises(InputError, match=r"expected \[\.\.\., 4\], found \[\.\.\., 3\]"):
        load_input_tensor(_npy(a), "x.npy", 4)
    with pytest.raises(InputError, match="not a plain numeric NumPy file"):
        load_input_tensor(_npy(np.array([{"a": 1}], dtype=object), allow_pickle=True), "x.npy", 3)
    with pytest.raises(InputError, match="token ids"):
        load_input_tensor(_npy(np.arange(6).reshape(2, 3)), "x.npy", 3)
    with pytest.raises(InputError, match="NaN"):
        load_input_tensor(_npy(np.full((2, 3), np.nan, dtype=np.float32)), "x.npy", 3)
    with pytest.raises(InputError, match=r"shape \(2, 3, 3, 3\); expected \[time, features\]"):
        load_input_tensor(_npy(np.zeros((2, 3, 3, 3), dtype=np.float32)), "x.npy", 3)
    with pytest.raises(InputError, match="unsupported file type .csv"):
        load_input_tensor(b"1,2,3", "x.csv", 3)
    with pytest.raises(InputError, match="not a NumPy file|not a plain numeric"):
        load_input_tensor(b"garbage", "x.npy", 3)


def test_random_inputs():
    x = random_inputs(4, 7, batch=2, seed=3)
    assert x.shape == (2, 7, 4) and x.dtype == torch.float32
    assert torch.equal(x, random_inputs(4, 7, batch=2, seed=3))
    assert not torch.equal(x, random_inputs(4, 7, batch=2, seed=4))
    with pytest.raises(InputError, match="steps must be a positive integer"):
        random_inputs(4, 0)


def test_inspect_model_reports_the_head_after_the_layer():
    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(11, 4)
            self.lstm = nn.LSTM(4, 6, bidirectional=True)
            self.tag = nn.Linear(12, 5)

    found = inspect_model(_bytes(Tagger().state_dict()))
    assert found.heads and found.heads[0].layers[0][0] == "tag.weight" and found.heads[0].out_features == 5
    assert inspect_model(_bytes(nn.LSTM(4, 6).state_dict())).heads == ()


def _bytes(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()
