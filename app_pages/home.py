"""Home: what the app is and where to start."""
import streamlit as st

from app_pages._view import share_view

st.title("lstm-viz")
st.markdown(
    """
See what happens **inside** an LSTM, GRU or plain RNN at every time step: the gates opening and closing,
the cell state carrying information along the sentence, and the gradient flowing back in time.

**Start here**
- **Tutorial tagger** trains the classic PyTorch sequence-model tagger in about a second and shows its
  gates on a sentence.

**In a lecture hall** switch on **Projector mode** in the sidebar (or add `?projector=1` to the address):
large dark text in every figure, one gate at a time, settings folded away. Every analysis page keeps its
view in the address, so a link you prepare opens the same view on the lecture-hall computer. On **Gates** and
**Cell anatomy**, *Step through the sentence* plays the cell update token by token.

Everything you see is recorded exactly from the model's own weights with `lstm_viz.trace`, the same
function you can call from a notebook on any `torch.nn.LSTM`, `GRU` or `RNN`.
"""
)
share_view()
