"""Recording: `trace` replays any torch.nn LSTM/GRU/RNN (or cell) with its own weights and returns every
gate, c_t and h_t per layer, direction and step; `gradient_flow` follows dL/dh_t and dL/dc_t back in time.
Also the one gate table (names, counts, torch classes, activations) and the result types."""
from .gate_table import GATES_BY_KIND, GRU_GATES, LSTM_GATES, SIGMOID_GATES, module_kind
from .gradient_flow import gate_grad_norms, gradient_flow
from .results import GradientFlow, Trace
from .tracing import trace

__all__ = ["trace", "gradient_flow", "gate_grad_norms", "Trace", "GradientFlow", "GATES_BY_KIND", "GRU_GATES",
           "LSTM_GATES", "SIGMOID_GATES", "module_kind"]
