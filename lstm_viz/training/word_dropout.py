"""Word dropout: while training, a word becomes `<unk>` now and then, so that `<unk>` (with the char features,
where the model has them) learns to stand for the words the model will meet only at test time.

Two kinds, combined as independent draws (a word is kept when neither drops it):
- uniform (`ModelConfig.word_dropout`): every word with the same probability P;
- by frequency (`ModelConfig.word_dropout_alpha`, Kiperwasser & Goldberg 2016): a word seen c times in the
  training data with probability alpha / (alpha + c), so mostly the rare words, which stand in for unknown words,
  while the frequent words the model knows well are almost never hidden (alpha 0.25: c = 1 -> 20%, 2 -> 11%,
  10 -> 2.4%).
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch


def drop_probabilities(counts: Sequence[int], alpha: float, uniform: float = 0.0) -> torch.Tensor:
    """Each vocabulary entry's probability [V] of becoming `<unk>` in a training step, from its training count
    (counts[i] of entry i; `<pad>` and `<unk>`, indices 0 and 1, and entries never seen are never dropped)."""
    if not alpha > 0:
        raise ValueError(f"word dropout by frequency needs alpha > 0, got {alpha!r}")
    c = torch.as_tensor(list(counts), dtype=torch.float64)  # [V]
    if c.dim() != 1 or (c < 0).any():
        raise ValueError("counts must be one count >= 0 per vocabulary entry")
    by_frequency = torch.where(c > 0, alpha / (alpha + c), torch.zeros_like(c))
    p = 1.0 - (1.0 - uniform) * (1.0 - by_frequency)
    p[:2] = 0.0  # <pad>, <unk>
    return p.float()


def drop_words(token_ids: torch.Tensor, uniform: float, per_id: Optional[torch.Tensor]) -> torch.Tensor:
    """token_ids [B, T] with some words replaced by `<unk>` (index 1): each with its entry's probability in
    `per_id` [V] where given, else each word with probability `uniform`; `<pad>` (0) stays."""
    if per_id is not None:
        drop = torch.rand(token_ids.shape, device=token_ids.device) < per_id[token_ids]
    elif uniform > 0:
        drop = (torch.rand(token_ids.shape, device=token_ids.device) < uniform) & (token_ids > 1)
    else:
        return token_ids
    return token_ids.masked_fill(drop, 1)
