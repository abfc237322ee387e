"""lstm-viz: record and visualise what happens inside LSTM, GRU and RNN modules.

    from lstm_viz import trace, gradient_flow, figures
    rec = trace(my_lstm, inputs)              # gates, cell and hidden states at every step
    figures.gate_heatmaps(rec).show()
"""
from . import analysis, cell, figures
from .analysis import Saturation, TruthTable, forget_product, rank_units, saturation, truth_table
from .gradients import gate_grad_norms, gradient_flow
from .trace import trace
from .types import GATES_BY_KIND, GRU_GATES, LSTM_GATES, GradientFlow, Trace

__all__ = [
    "trace", "gradient_flow", "gate_grad_norms", "Trace", "GradientFlow",
    "LSTM_GATES", "GRU_GATES", "GATES_BY_KIND",
    "analysis", "cell", "figures",
    "truth_table", "saturation", "rank_units", "forget_product", "TruthTable", "Saturation",
]
