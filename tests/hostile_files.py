"""Builders of hostile and malformed files for the hostile-input catalogue (tests/test_hostile_*.py).

Each builder returns bytes (or writes a file) the way an attacker or a careless user would make it: stride-0
views that claim gigabytes, hand-deflated torch zips, checkpoints whose model_config lies about the weights.
"""
from __future__ import annotations

import functools
import io
import os
import pickle
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from lstm_viz.data.batching import BatchEncoder
from lstm_viz.data.vocab import Vocab
from lstm_viz.training.checkpoint import checkpoint_dict
from lstm_viz.training.models import ModelConfig, build_model


def deflated(name: str) -> zipfile.ZipInfo:
    """A zip entry that is written deflated (a bare ZipInfo would be stored as it is)."""
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def torch_bytes(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


class Evil:
    """Unpickling this would create a file; the safe loader must refuse it instead."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def code_pickle(marker: Path) -> bytes:
    return torch_bytes({"weight_ih_l0": torch.zeros(4, 2), "x": Evil(str(marker))})


def raw_code_pickle(marker: Path) -> bytes:
    return pickle.dumps(Evil(str(marker)), protocol=4)


def stride0_state_dict(hidden: int, input_size: int = 4) -> bytes:
    """An LSTM state_dict of ~2 KB whose stride-0 views claim hidden size `hidden` (gigabytes when used)."""
    one = torch.zeros(1)
    return torch_bytes({
        "weight_ih_l0": one.expand(4 * hidden, input_size), "weight_hh_l0": one.expand(4 * hidden, hidden),
        "bias_ih_l0": one.expand(4 * hidden), "bias_hh_l0": one.expand(4 * hidden)})


def stride0_inputs(steps: int = 50_000_000, features: int = 4) -> bytes:
    """A 1.6 KB input file whose tensor claims [1, steps, features] (800 MB of float32 for the default)."""
    return torch_bytes(torch.zeros(1).expand(1, steps, features))


def deflated_torch_file(path: Path, mib: int = 320) -> Path:
    """A torch.save file of `mib` MiB of zeros whose entries were deflated by hand: about 1/1000 of the size.
    torch.load inflates it (it reads deflated entries), so without a check it costs `mib` MiB of memory."""
    path.write_bytes(_deflated_torch_bytes(mib))
    return path


@functools.lru_cache(maxsize=4)
def _deflated_torch_bytes(mib: int) -> bytes:  # built once per test process: deflating takes a few seconds
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.pt"
        torch.save({"weight": torch.zeros(mib * 2**18)}, raw)  # zero pages: not touched until written
        out = io.BytesIO()
        with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                with src.open(info) as fin, dst.open(deflated(info.filename), "w", force_zip64=True) as fout:
                    while chunk := fin.read(1 << 22):
                        fout.write(chunk)
    return out.getvalue()


def npz_bomb(path: Path, mib: int = 300) -> Path:
    """An .npz whose one member inflates to `mib` MiB of zeros (np.savez_compressed writes it like this)."""
    path.write_bytes(_npz_bomb_bytes(mib))
    return path


@functools.lru_cache(maxsize=4)
def _npz_bomb_bytes(mib: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False,
                                                      "shape": (mib * 2**18,)})
        with zf.open(deflated("x.npy"), "w", force_zip64=True) as member:
            member.write(header.getvalue())
            zeros = bytes(1 << 22)
            for _ in range(mib // 4):
                member.write(zeros)
    return out.getvalue()


def small_checkpoint(**config_overrides) -> dict:
    """A real lstm-viz checkpoint dict of a tiny tagger (plain data), before any tampering."""
    config = ModelConfig(task="pos", arch="lstm", embed_dim=6, hidden_size=5)
    vocab = Vocab(["the", "dog", "ate"])
    labels = Vocab.labels(["DET", "NOUN", "VERB"])
    encoder = BatchEncoder("pos", vocab, labels)
    torch.manual_seed(0)
    model = build_model(config, len(vocab), len(labels))
    data = checkpoint_dict(model, config, encoder)
    data["model_config"].update(config_overrides)
    return data


def tampered_checkpoint(**config_overrides) -> bytes:
    """A 6 KB checkpoint whose model_config claims e.g. num_layers=10**6 while its weights hold one layer."""
    return torch_bytes(small_checkpoint(**config_overrides))


def nan_lstm(value: float = float("nan")) -> bytes:
    lstm = nn.LSTM(3, 4)
    with torch.no_grad():
        lstm.weight_hh_l0[0, 0] = value
    return torch_bytes(lstm.state_dict())


def make_fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path
