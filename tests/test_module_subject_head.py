"""A user's own model with a head: the head read off the file drives predictions and the Gradients loss of a
ModuleSubject; without the head's keys the stand-in loss stays."""
from __future__ import annotations

import io

import pytest
import torch
import torch.nn.functional as F

from lstm_viz.files.heads import build_head
from lstm_viz.files.model_files import inspect_model
from lstm_viz.explore.module_subject import HEAD_LOSS, module_subject
from lstm_viz.record.gradient_flow import gradient_flow

from .test_heads import Practitioner

VOCAB = ["<pad>", "<unk>"] + [f"w{i}" for i in range(48)]


def saved(model) -> bytes:
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.getvalue()


def test_a_head_from_the_file_predicts_like_the_model_and_gives_its_own_loss():
    torch.manual_seed(3)
    model = Practitioner().eval()
    found = inspect_model(saved(model), prefix="lstm.")
    assert found.heads and found.heads[0].layers[0][0] == "head.weight"
    subject = module_subject(found, "mine", embedding_key="embedding.weight", vocab=VOCAB)
    subject.set_head(build_head(found.heads[0], found.state_dict), "last", "sentiment", ["neg", "pos"])
    ids = torch.tensor([[5, 9, 13, 2, 40]])
    tokens = [VOCAB[i] for i in ids[0]]
    with torch.no_grad():
        logits = model(ids)
    assert subject.predict([tokens]) == [["neg", "pos"][int(logits.argmax())]]
    probe = subject.input_from_text(" ".join(tokens))
    flow = gradient_flow(subject.module, probe.inputs, subject.loss_fn(probe), lengths=probe.lengths)
    want = F.cross_entropy(logits, logits.argmax(-1))
    assert subject.loss == HEAD_LOSS and flow.loss == pytest.approx(float(want), rel=1e-5)


def test_a_per_step_head_and_bad_settings():
    torch.manual_seed(4)
    model = Practitioner("hidden2tag").eval()
    found = inspect_model(saved(model), prefix="lstm.")
    subject = module_subject(found, "tagger", embedding_key="embedding.weight", vocab=VOCAB)
    head = build_head(found.heads[0], found.state_dict)
    with pytest.raises(ValueError, match="does not fit"):
        subject.set_head(head, "last", "pos")
    with pytest.raises(ValueError, match="2 outputs"):
        subject.set_head(head, "per-step", "pos", ["A", "B", "C"])
    subject.set_head(head, "per-step", "pos", ["A", "B"])
    ids = torch.tensor([[7, 8, 9]])
    with torch.no_grad():
        out, _ = model.lstm(model.embedding(ids))
        want = model.hidden2tag(out).argmax(-1)[0].tolist()
    assert subject.predict([[VOCAB[i] for i in ids[0]]]) == [tuple("AB"[k] for k in want)]


def test_without_the_heads_keys_the_stand_in_loss_stays():
    model = Practitioner()
    sd = {k: v for k, v in model.state_dict().items() if not k.startswith("head.")}
    buf = io.BytesIO()
    torch.save(sd, buf)
    found = inspect_model(buf.getvalue(), prefix="lstm.")
    assert not found.heads
    subject = module_subject(found, "bare", embedding_key="embedding.weight", vocab=VOCAB)
    assert subject.predict([["w1"]]) is None and subject.loss == "last output"
