"""lstm-viz: record and visualise what happens inside LSTM, GRU and RNN modules."""
from .gradients import gate_grad_norms, gradient_flow
from .trace import trace
from .types import GATES_BY_KIND, GRU_GATES, LSTM_GATES, GradientFlow, Trace

__all__ = ["trace", "gradient_flow", "gate_grad_norms", "Trace", "GradientFlow",
           "LSTM_GATES", "GRU_GATES", "GATES_BY_KIND"]
