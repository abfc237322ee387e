"""lstm-viz: record and visualise what happens inside LSTM, GRU and RNN modules."""
from .types import GATES_BY_KIND, GRU_GATES, LSTM_GATES, GradientFlow, Trace

__all__ = ["Trace", "GradientFlow", "LSTM_GATES", "GRU_GATES", "GATES_BY_KIND"]
