"""Home: what the app is and where to start."""
import streamlit as st

st.title("lstm-viz")
st.markdown(
    """
See what happens **inside** an LSTM, GRU or plain RNN at every time step: the gates opening and closing,
the cell state carrying information along the sentence, and the gradient flowing back in time.

**Start here**
- **Tutorial tagger** trains the classic PyTorch sequence-model tagger in about a second and shows its
  gates on a sentence.

Everything you see is recorded exactly from the model's own weights with `lstm_viz.trace`, the same
function you can call from a notebook on any `torch.nn.LSTM`, `GRU` or `RNN`.
"""
)
