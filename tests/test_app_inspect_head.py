"""AppTest: the practitioner's file (embedding + 2-layer BiLSTM + linear head) opens on 'Inspect a model' with
its head; Gates then shows the head's predictions. Without the head's keys, no head is offered."""
from __future__ import annotations

import io

import pytest
import torch

from .apptest_util import assert_clean, open_page
from .test_heads import Practitioner
from .test_module_subject_head import VOCAB

pytestmark = pytest.mark.timeout(240)


def _bytes(sd) -> bytes:
    buf = io.BytesIO()
    torch.save(sd, buf)
    return buf.getvalue()


def _open(data: bytes):
    at = open_page("app_pages/inspect_model.py")
    at.file_uploader(key="inspect_model_upload").upload("mine.pt", data)
    at.run()
    assert_clean(at)
    at.checkbox(key="inspect_confirm").check().run()
    at.file_uploader(key="inspect_vocab_upload").upload("vocab.txt", "\n".join(VOCAB).encode())
    at.run()
    assert_clean(at)
    return at


def test_the_head_is_offered_confirmed_and_used_for_predictions():
    torch.manual_seed(6)
    at = _open(_bytes(Practitioner().state_dict()))
    assert any("head.weight (2, 128)" in c.value for c in at.caption), [c.value for c in at.caption]
    assert at.checkbox(key="inspect_head_on").value is True
    at.radio(key="inspect_head_task").set_value("sentiment").run()
    assert at.selectbox(key="inspect_head_pool").value == "last"
    at.text_input(key="inspect_head_labels").set_value("negative, positive").run()
    at.button(key="inspect_use").click().run()
    assert_clean(at)
    assert not at.error, [e.value for e in at.error]
    at.switch_page("app_pages/gates.py")
    at.run()
    assert_clean(at)
    at.text_input(key="gates_text").set_value("w1 w2 w3").run()
    assert any(m.value.startswith("**Predicted sentiment:** ") and m.value.split()[-1] in ("negative", "positive")
               for m in at.markdown), [m.value for m in at.markdown]


def test_without_head_keys_the_stand_in_loss_is_named():
    sd = {k: v for k, v in Practitioner().state_dict().items() if not k.startswith("head.")}
    at = _open(_bytes(sd))
    assert any("No head found after this layer" in c.value for c in at.caption)
    assert not [c for c in at.checkbox if c.key == "inspect_head_on"]
