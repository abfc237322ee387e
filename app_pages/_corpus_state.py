"""The session's corpus: the file last read on the "Your corpus" page, which the other analysis pages (e.g.
Saturation) measure over. One slot per browser session (st.session_state), never shared."""
from __future__ import annotations

from typing import Optional

import streamlit as st

from lstm_viz.files.user_corpus import UserCorpus

CORPUS_KEY = "lstm_viz_user_corpus"


def remember_corpus(corpus: UserCorpus) -> None:
    st.session_state[CORPUS_KEY] = corpus


def session_corpus() -> Optional[UserCorpus]:
    """The user's corpus of this session, or None before one was read on the "Your corpus" page."""
    corpus = st.session_state.get(CORPUS_KEY)
    return corpus if isinstance(corpus, UserCorpus) else None
