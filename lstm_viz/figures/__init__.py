"""Pure figure builders: analysis data -> plotly.graph_objects.Figure (no Streamlit).

Colour scales never autoscale: sigmoid gates on [0, 1] (one shared coloraxis), tanh values on [-1, 1]
centred at 0, the raw cell state on [-m, m] (m = max |c|), gradient norms on a log axis.
"""
from ._style import DEFAULT_STYLE, FONT_SIZE, PROJECTOR, TRUTH_COLOURS, Style
from .gradients import gradient_flow_figure
from .heatmaps import gate_heatmaps, state_heatmap, unit_line
from .html_heatmap import gate_heatmap_html
from .saturation import gate_histograms, saturation_scatter
from .training import gate_grad_norm_curves, training_curves, truth_shares_over_training
from .truth_table import gru_truth_table_diagram, truth_table_diagram, truth_table_heatmap, truth_table_shares

__all__ = [
    "gate_heatmaps", "state_heatmap", "unit_line", "gate_heatmap_html",
    "truth_table_heatmap", "truth_table_shares", "truth_table_diagram", "gru_truth_table_diagram",
    "saturation_scatter", "gate_histograms",
    "gradient_flow_figure", "training_curves", "gate_grad_norm_curves", "truth_shares_over_training",
    "FONT_SIZE", "TRUTH_COLOURS", "Style", "DEFAULT_STYLE", "PROJECTOR",
]
