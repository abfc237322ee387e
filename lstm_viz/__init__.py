"""lstm-viz: record and visualise what happens inside LSTM, GRU and RNN modules.

    from lstm_viz import trace, gradient_flow, figures
    rec = trace(my_lstm, inputs)              # gates, cell and hidden states at every step
    figures.gate_heatmaps(rec).show()

Where is what (the flow of the README's diagram):
    data/      corpora, readers, vocabularies, batches, dev splits
    training/  models, configs, the Trainer and its monitoring, evaluation, checkpoints, run history
    record/    `trace` and `gradient_flow`: gates, c_t, h_t and dL/dh_t of any torch.nn recurrent module
    analysis/  truth table, saturation, unit ranking, paging (numpy/torch, no UI)
    figures/   pure figure builders: analysis data -> plotly Figure
    files/     reading and writing files safely: models, inputs, uploads, .npz, LSTMVis, HTML/PNG
    explore/   what the app's pages look at: subjects (a model + its inputs), page data, the cell demo
"""
from . import analysis, figures
from .analysis import Saturation, TruthTable, forget_product, rank_units, saturation, truth_table
from .explore import cell_step as cell  # `lstm_viz.cell`: one LSTM/GRU step spelled out (numpy)
from .record.gate_table import GATES_BY_KIND, GRU_GATES, LSTM_GATES
from .record.gradient_flow import gate_grad_norms, gradient_flow
from .record.results import GradientFlow, Trace
from .record.tracing import trace

__all__ = [
    "trace", "gradient_flow", "gate_grad_norms", "Trace", "GradientFlow",
    "LSTM_GATES", "GRU_GATES", "GATES_BY_KIND",
    "analysis", "cell", "figures",
    "truth_table", "saturation", "rank_units", "forget_product", "TruthTable", "Saturation",
]
