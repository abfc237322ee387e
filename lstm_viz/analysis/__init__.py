"""Analysis of recorded traces (numpy/torch, no UI): truth table, saturation, unit ranking, paging, forget
products, and over a corpus: select-and-match (LSTMVis) and the tokens that drive each unit (RNNVis)."""
from .forget import forget_product
from .paging import TokenWindow, UnitSelection, select_units, window_tokens
from .ranking import UnitRanking, rank_units, tag_indicator
from .saturation import Histogram, Saturation, UnitFlag, gate_histogram, saturation
from .truth_table import CATEGORY_DESCRIPTIONS, GRU_CATEGORIES, LSTM_CATEGORIES, PADDING, TruthTable, truth_table

__all__ = [
    "truth_table", "TruthTable", "LSTM_CATEGORIES", "GRU_CATEGORIES", "CATEGORY_DESCRIPTIONS", "PADDING",
    "saturation", "Saturation", "UnitFlag", "gate_histogram", "Histogram",
    "rank_units", "UnitRanking", "tag_indicator",
    "forget_product",
    "window_tokens", "TokenWindow", "select_units", "UnitSelection",
]
