"""What the model read next to what was typed: a word outside the vocabulary is read as `<unk>`, and every
export says so (npz `tokens_read`, the LSTMVis word sequence, the HTML caption, the heatmap's labels)."""
from __future__ import annotations

from dataclasses import dataclass

from ..data.vocab import UNK
from .subject import AnalysisInput


@dataclass(frozen=True)
class TokensRead:
    typed: list[list[str]]  # per sequence, as typed
    read: list[list[str]]  # per sequence, as the model read them ("<unk>" where it read <unk>)

    @property
    def unknown(self) -> list[str]:
        """The typed words read as <unk>, each once, in order of appearance."""
        return list(dict.fromkeys(t for ts, rs in zip(self.typed, self.read) for t, r in zip(ts, rs) if t != r))

    @property
    def n_unknown(self) -> int:
        """Token steps read as <unk>."""
        return sum(t != r for ts, rs in zip(self.typed, self.read) for t, r in zip(ts, rs))

    @property
    def n_tokens(self) -> int:
        return sum(len(ts) for ts in self.typed)

    def labels(self, b: int = 0) -> list[str]:
        """Labels of sequence b for a figure: "dog→unk" where the model read <unk> (no angle brackets, which a
        plotly label would take for markup)."""
        return [t if t == r else f"{t}→{r.strip('<>')}" for t, r in zip(self.typed[b], self.read[b])]

    def note(self) -> str:
        """One sentence for a caption: which words the model read as <unk>, or that it knew them all."""
        if not self.unknown:
            return f"The model read all {self.n_tokens:,} tokens as typed (every word is in its vocabulary)."
        shown = ", ".join(self.unknown[:12]) + (" ..." if len(self.unknown) > 12 else "")
        return (f"The model read {self.n_unknown:,} of {self.n_tokens:,} tokens as {UNK} (not in its vocabulary): "
                f"{shown}.")


def tokens_read(probe: AnalysisInput) -> TokensRead:
    """The probe's tokens as typed and as the model read them (`probe.unknown` -> "<unk>")."""
    unknown = set(probe.unknown)
    typed = [list(seq) for seq in probe.tokens]
    return TokensRead(typed, [[UNK if t in unknown else t for t in seq] for seq in typed])


def read_rows(read: TokensRead, b: int = 0, limit: int = 200) -> list[dict]:
    """Table rows (position, typed, read) of the tokens of sequence b the model read differently."""
    rows = [{"position": t, "typed": typed, "the model read": r}
            for t, (typed, r) in enumerate(zip(read.typed[b], read.read[b])) if typed != r]
    return rows[:limit]


__all__ = ["TokensRead", "read_rows", "tokens_read"]
