"""analysis: truth table, saturation, histograms, unit ranking, forget products, paging.

Most tests build Trace objects by hand, where the right answer is known; a few use real traces of torch.nn
modules with weights chosen so the answer is known too.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lstm_viz.analysis import (
    GRU_CATEGORIES,
    LSTM_CATEGORIES,
    PADDING,
    forget_product,
    gate_histogram,
    rank_units,
    saturation,
    select_units,
    truth_table,
    window_tokens,
)
from lstm_viz.record.results import GATES_BY_KIND, SIGMOID_GATES, Trace

pytestmark = pytest.mark.timeout(60)


def make_trace(kind: str = "lstm", L: int = 1, D: int = 1, B: int = 2, T: int = 5, H: int = 3,
               lengths=None, seed: int = 0, nonlinearity: str = "tanh", **given: torch.Tensor) -> Trace:
    """Random values in each gate's range (0 at padding); any of gates/cell/hidden can be given."""
    gen = torch.Generator().manual_seed(seed)
    lengths = torch.full((B,), T) if lengths is None else torch.as_tensor(lengths)
    mask = torch.arange(T)[None, :] < lengths[:, None]  # [B, T]
    m = mask[None, None, :, :, None]
    shape = (L, D, B, T, H)

    def rnd(name: str) -> torch.Tensor:
        if name in given:
            return torch.as_tensor(given[name], dtype=torch.float32).reshape(shape) * m
        u = torch.rand(shape, generator=gen)
        return (u if name in SIGMOID_GATES else 2 * u - 1) * m

    names = GATES_BY_KIND[kind]
    gates = {n: rnd(n) for n in names}
    cell = (given["cell"] if "cell" in given else 3 * torch.randn(shape, generator=gen)) * m if kind == "lstm" \
        else None
    hidden = rnd("hidden")
    return Trace(kind=kind, gate_names=names, output=hidden[-1, 0].transpose(0, 1), h_n=torch.zeros(L * D, B, H),
                 c_n=torch.zeros(L * D, B, H) if kind == "lstm" else None, gates=gates, hidden=hidden, cell=cell,
                 mask=mask, lengths=lengths, nonlinearity=nonlinearity)


# ---------------------------------------------------------------- truth table

def test_lstm_truth_table_hand_made_cells_and_padding() -> None:
    # one unit, sequence 0 walks through the five categories; sequence 1 has 2 valid steps
    i = torch.tensor([[0.05, 0.95, 0.05, 0.95, 0.50], [0.95, 0.10, 0.0, 0.0, 0.0]])
    f = torch.tensor([[0.95, 0.95, 0.05, 0.05, 0.95], [0.95, 0.95, 0.0, 0.0, 0.0]])
    tr = make_trace(H=1, lengths=[5, 2], i=i, f=f)
    table = truth_table(tr)
    assert table.names == LSTM_CATEGORIES
    np.testing.assert_array_equal(table.codes[0, 0, :, :, 0],
                                  [[0, 1, 2, 3, 4], [1, 4, PADDING, PADDING, PADDING]])  # i = 0.1 is not < 0.1
    np.testing.assert_array_equal(table.shares_per_token[0, 0, 0, 2], [0, 0, 1, 0, 0])
    assert np.isnan(table.shares_per_token[0, 0, 1, 2:]).all()
    # 7 valid cells: remember 1, add 2, erase 1, overwrite 1, in between 2 (padding i=f=0 would be "erase")
    np.testing.assert_allclose(table.shares_per_layer[0, 0], np.array([1, 2, 1, 1, 2]) / 7)
    assert table.share("erase") == pytest.approx(1 / 7)
    # with low = 0.6, i = 0.5 counts as closed, so (i=0.5, f=0.95) becomes "remember"
    assert truth_table(tr, low=0.6, high=0.9).codes[0, 0, 0, 4, 0] == 0


def test_lstm_truth_table_matches_an_independent_loop() -> None:
    tr = make_trace(L=2, D=2, B=3, T=6, H=4, lengths=[6, 3, 1], seed=3)
    table = truth_table(tr, low=0.3, high=0.7)
    i, f, mask = tr.gates["i"].numpy(), tr.gates["f"].numpy(), tr.mask.numpy()
    counts = np.zeros((2, 2, 5))
    for idx in np.ndindex(i.shape):
        l, d, b, t, u = idx
        if not mask[b, t]:
            assert table.codes[idx] == PADDING
            continue
        iv, fv = i[idx], f[idx]
        name = ("remember" if iv < 0.3 and fv > 0.7 else "add" if iv > 0.7 and fv > 0.7 else
                "erase" if iv < 0.3 and fv < 0.3 else "overwrite" if iv > 0.7 and fv < 0.3 else "in between")
        assert table.names[table.codes[idx]] == name
        counts[l, d, table.names.index(name)] += 1
    np.testing.assert_allclose(table.shares_per_layer, counts / counts.sum(-1, keepdims=True))
    np.testing.assert_allclose(np.nansum(table.shares_per_token, -1)[:, :, mask], 1.0)


def test_gru_truth_table_categories() -> None:
    z = torch.tensor([[0.95, 0.05, 0.05, 0.05, 0.50]])
    r = torch.tensor([[0.05, 0.95, 0.05, 0.50, 0.05]])
    table = truth_table(make_trace("gru", B=1, H=1, z=z, r=r))
    assert table.names == GRU_CATEGORIES
    assert [table.names[c] for c in table.codes[0, 0, 0, :, 0]] == [
        "keep", "overwrite", "reset+overwrite", "in between", "in between"]


def test_truth_table_on_a_real_lstm_that_only_remembers() -> None:
    trace = pytest.importorskip("lstm_viz.record.tracing").trace
    lstm = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    with torch.no_grad():
        for name, p in lstm.named_parameters():
            p.zero_()
            if name.startswith("bias_ih"):
                p[:4] = -8.0  # input gate shut
                p[4:8] = 8.0  # forget gate open
    tr = trace(lstm, torch.randn(7, 2, 3), lengths=torch.tensor([7, 4]))
    table = truth_table(tr)
    np.testing.assert_allclose(table.shares_per_layer[..., table.code("remember")], 1.0)
    assert (table.codes[:, :, 1, 4:] == PADDING).all()


def test_truth_table_rejects_rnn_and_bad_arguments() -> None:
    with pytest.raises(ValueError, match="plain 'rnn' RNN has none"):
        truth_table(make_trace("rnn"))
    with pytest.raises(ValueError, match="0 <= low <= high <= 1"):
        truth_table(make_trace(), low=0.9, high=0.1)
    with pytest.raises(TypeError, match="Trace"):
        truth_table({"kind": "lstm"})
    with pytest.raises(ValueError, match="unknown category"):
        truth_table(make_trace()).share("forget")


# ---------------------------------------------------------------- saturation

def test_saturation_fractions_sigmoid_and_tanh_with_padding() -> None:
    i = torch.tensor([[0.05, 0.5, 0.95, 0.99, 0.0]])  # last step is padding (0 would count as left)
    g = torch.tensor([[-0.9, -0.5, 0.85, 0.7, 0.0]])
    sat = saturation(make_trace(B=1, H=1, lengths=[4], i=i, g=g))
    assert sat.n_steps == 4
    assert sat.left["i"][0, 0, 0] == pytest.approx(0.25) and sat.right["i"][0, 0, 0] == pytest.approx(0.5)
    assert sat.bounds("g") == pytest.approx((-0.8, 0.8))
    assert sat.left["g"][0, 0, 0] == pytest.approx(0.25) and sat.right["g"][0, 0, 0] == pytest.approx(0.25)
    assert sat.mean["i"][0, 0, 0] == pytest.approx(np.mean([0.05, 0.5, 0.95, 0.99]))
    assert sat.std["g"][0, 0, 0] == pytest.approx(np.std([-0.9, -0.5, 0.85, 0.7]), rel=1e-6)


def test_saturation_aggregates_traces_of_different_lengths() -> None:
    a = make_trace("gru", L=2, B=3, T=7, H=5, lengths=[7, 2, 5], seed=1)
    b = make_trace("gru", L=2, B=2, T=4, H=5, lengths=[4, 1], seed=2)
    sat = saturation([a, b], low=0.2, high=0.8)
    assert sat.n_steps == 7 + 2 + 5 + 4 + 1 and sat.n_traces == 2
    for gate in ("r", "z", "n"):
        vals = np.concatenate([t.gates[gate][:, 0].numpy()[:, t.mask.numpy()] for t in (a, b)], axis=1)  # [L, N, H]
        lo, hi = (0.2, 0.8) if gate != "n" else (-0.6, 0.6)
        np.testing.assert_allclose(sat.left[gate][:, 0], (vals < lo).mean(axis=1))
        np.testing.assert_allclose(sat.right[gate][:, 0], (vals > hi).mean(axis=1))
        np.testing.assert_allclose(sat.std[gate][:, 0], vals.std(axis=1), rtol=1e-5)


def test_saturation_flags_always_saturated_and_never_moving_units() -> None:
    f = torch.rand(1, 1, 2, 6, 3)
    f[..., 1] = 0.999  # unit 1: constant and saturated
    f[..., 2] = torch.tensor([0.01, 0.99] * 3)  # unit 2: saturated on both sides, moving a lot
    sat = saturation(make_trace(T=6, f=f))
    flagged = {(u.gate, u.unit) for u in sat.always_saturated}
    assert ("f", 1) in flagged and ("f", 2) in flagged and ("f", 0) not in flagged
    dead = [u for u in sat.never_moving if u.gate == "f"]
    assert [u.unit for u in dead] == [1] and dead[0].value < 1e-3


def test_saturation_errors() -> None:
    with pytest.raises(ValueError, match="RNN has none"):
        saturation(make_trace("rnn"))
    with pytest.raises(ValueError, match="same kind and size"):
        saturation([make_trace(H=3), make_trace(H=4)])
    with pytest.raises(ValueError, match="no traces"):
        saturation([])
    with pytest.raises(ValueError, match="no valid steps"):
        saturation(make_trace(lengths=[0, 0]))


def test_gate_histogram_counts_only_valid_steps() -> None:
    tr = make_trace(B=2, T=6, H=4, lengths=[6, 2], seed=5)
    h = gate_histogram(tr, "o", bins=10)
    valid = tr.gates["o"][0, 0].numpy()[tr.mask.numpy()].ravel()
    np.testing.assert_array_equal(h.counts, np.histogram(valid, bins=10, range=(0, 1))[0])
    assert h.n_values == 8 * 4 and h.value_range == (0.0, 1.0)
    assert gate_histogram(tr, "g").value_range == (-1.0, 1.0)
    c = gate_histogram([tr, tr], "cell", bins=4)
    m = np.abs(tr.cell[0, 0].numpy()[tr.mask.numpy()]).max()
    assert c.value_range == pytest.approx((-m, m)) and c.counts.sum() == 2 * 8 * 4
    with pytest.raises(ValueError, match="bins"):
        gate_histogram(tr, "o", bins=0)
    with pytest.raises(ValueError, match="unknown gate or state 'x'"):
        gate_histogram(tr, "x")


# ---------------------------------------------------------------- ranking

def test_rank_by_variance_and_saturation() -> None:
    hidden = torch.zeros(1, 1, 2, 4, 3)
    hidden[..., 0] = 0.1 * torch.tensor([1.0, -1.0, 1.0, -1.0])
    hidden[..., 1] = 0.95 * torch.tensor([1.0, -1.0, 1.0, -1.0])
    hidden[..., 2] = torch.tensor([0.5, 0.9, 0.5, 0.9])
    tr = make_trace(T=4, lengths=[4, 2], hidden=hidden)
    r = rank_units(tr, "h", by="variance")
    assert r.indices.tolist() == [1, 2, 0] and r.n_tokens == 6
    np.testing.assert_allclose(r.scores, hidden[0, 0].numpy()[tr.mask.numpy()].var(axis=0)[[1, 2, 0]], rtol=1e-6)
    s = rank_units(tr, "hidden", by="saturation")
    assert s.indices[0] == 1 and s.scores[0] == 1.0 and s.scores[1] == pytest.approx(3 / 6)  # 0.9 > 0.8
    with pytest.raises(ValueError, match="unbounded"):
        rank_units(tr, "cell", by="saturation")


def test_rank_by_correlation_with_a_tag() -> None:
    tags = [["DET", "NN", "V", "DET", "NN"], ["NN", "V", "DET"]]
    nn = torch.tensor([[0, 1, 0, 0, 1], [1, 0, 0, 0, 0]], dtype=torch.float32)
    gen = torch.Generator().manual_seed(0)
    hidden = 0.3 * torch.rand(1, 1, 2, 5, 4, generator=gen)
    hidden[0, 0, :, :, 2] += nn  # unit 2 follows the NN tag
    hidden[0, 0, :, :, 3] -= nn  # unit 3 is its mirror image
    hidden[0, 0, 1, 3:] = 0
    tr = make_trace(T=5, H=4, lengths=[5, 3], hidden=hidden)
    r = rank_units(tr, "hidden", by="correlation", tags=tags, tag="NN")
    assert set(r.indices[:2].tolist()) == {2, 3}
    valid = tr.mask.numpy()
    ind = nn.numpy()[valid]
    for k, u in enumerate(r.indices):
        expected = np.corrcoef(hidden[0, 0].numpy()[valid][:, u], ind)[0, 1]
        assert r.scores[k] == pytest.approx(expected, abs=1e-6)
    assert r.scores[list(r.indices).index(3)] < -0.9
    same = rank_units(tr, "hidden", by="correlation", tags=nn.bool())  # an indicator array works too
    np.testing.assert_allclose(same.scores, r.scores)
    with pytest.raises(ValueError, match="never occurs"):
        rank_units(tr, "hidden", by="correlation", tags=tags, tag="ADJ")
    with pytest.raises(ValueError, match="tags\\[1\\] has 2 labels"):
        rank_units(tr, "hidden", by="correlation", tags=[tags[0], ["NN", "V"]], tag="NN")
    with pytest.raises(ValueError, match="needs tags"):
        rank_units(tr, "hidden", by="correlation")
    with pytest.raises(ValueError, match="by must be one of"):
        rank_units(tr, "hidden", by="magic")
    with pytest.raises(ValueError, match="layer=3 is out of range"):
        rank_units(tr, "hidden", layer=3)


def test_rank_one_sequence_only() -> None:
    hidden = torch.zeros(1, 1, 2, 3, 2)
    hidden[0, 0, 0, :, 0] = torch.tensor([0.0, 1.0, 0.0])  # unit 0 varies in sequence 0
    hidden[0, 0, 1, :, 1] = torch.tensor([0.0, 1.0, 0.0])  # unit 1 varies in sequence 1
    tr = make_trace(T=3, H=2, hidden=hidden)
    assert rank_units(tr, "hidden", batch_index=0).indices[0] == 0
    assert rank_units(tr, "hidden", batch_index=1).indices[0] == 1


# ---------------------------------------------------------------- forget product

def test_forget_product_both_directions_and_anchors() -> None:
    f = torch.zeros(1, 2, 2, 4, 2)
    seq = torch.tensor([0.5, 0.8, 0.9, 0.6])
    f[0, :, 0, :, 0] = seq
    f[0, :, 0, :, 1] = 1.0
    f[0, :, 1, :3, :] = seq[:3, None]  # sequence 1 has 3 valid steps
    tr = make_trace(D=2, T=4, H=2, lengths=[4, 3], f=f)
    s = seq.double().numpy()
    fwd_end = forget_product(tr, 0, 0)
    np.testing.assert_allclose(fwd_end[0], (np.array([s[1] * s[2] * s[3], s[2] * s[3], s[3], 1]) + 1) / 2)
    np.testing.assert_allclose(fwd_end[1, :3], [s[1] * s[2], s[2], 1], rtol=1e-6)
    assert np.isnan(fwd_end[1, 3])
    fwd_start = forget_product(tr, 0, 0, anchor="start")
    np.testing.assert_allclose(fwd_start[0], (np.cumprod(s) + 1) / 2)
    bwd_end = forget_product(tr, 0, 1)  # processed t = len-1 .. 0, so t = 0 is last
    np.testing.assert_allclose(bwd_end[0], (np.array([1, s[0], s[0] * s[1], s[0] * s[1] * s[2]]) + 1) / 2)
    np.testing.assert_allclose(bwd_end[1, :3], [1, s[0], s[0] * s[1]], rtol=1e-6)
    bwd_start = forget_product(tr, 0, 1, anchor="start")
    np.testing.assert_allclose(bwd_start[1, :3], [s[0] * s[1] * s[2], s[1] * s[2], s[2]], rtol=1e-6)


def test_forget_product_gru_uses_update_gate_and_rnn_raises() -> None:
    z = torch.full((1, 1, 1, 3, 1), 0.5)
    np.testing.assert_allclose(forget_product(make_trace("gru", B=1, T=3, H=1, z=z), anchor="start")[0],
                               [0.5, 0.25, 0.125])
    with pytest.raises(ValueError, match="no forget/update gate"):
        forget_product(make_trace("rnn"))
    with pytest.raises(ValueError, match="anchor"):
        forget_product(make_trace(), anchor="middle")


# ---------------------------------------------------------------- paging

def test_window_tokens_pages_and_clamps() -> None:
    w = window_tokens(250, max_tokens=100, page=1)
    assert (w.start, w.stop, w.n_pages, w.slice) == (100, 200, 3, slice(100, 200))
    assert w.note == "showing tokens 101-200 of 250 (page 2 of 3)"
    last = window_tokens(250, 100, page=7)  # stale widget value
    assert (last.page, last.start, last.stop) == (2, 200, 250)
    assert window_tokens(40, 100).note == "" and window_tokens(0).stop == 0
    with pytest.raises(ValueError, match="max_tokens must be at least 1"):
        window_tokens(10, 0)
    with pytest.raises(ValueError, match="n_tokens"):
        window_tokens(-1)


def test_select_units_top_k_with_note() -> None:
    hidden = torch.zeros(1, 1, 1, 4, 10)
    hidden[0, 0, 0, :, 7] = torch.tensor([1.0, -1.0, 1.0, -1.0])
    hidden[0, 0, 0, :, 2] = torch.tensor([0.5, -0.5, 0.5, -0.5])
    hidden[0, 0, 0, :, 5] = torch.tensor([0.1, -0.1, 0.1, -0.1])
    tr = make_trace(B=1, T=4, H=10, hidden=hidden)
    sel = select_units(tr, "hidden", max_units=3)
    assert sel.indices.tolist() == [2, 5, 7] and sel.total == 10
    assert sel.note == "showing 3 of 10 units, the top 3 by variance"
    assert select_units(tr, "hidden", max_units=3, order="rank").indices.tolist() == [7, 2, 5]
    assert select_units(tr, "hidden", max_units=64).note == ""
    assert select_units(tr, "hidden", units=[9, 0]).indices.tolist() == [9, 0]
    with pytest.raises(ValueError, match="unit=10 is out of range"):
        select_units(tr, "hidden", units=[10])
