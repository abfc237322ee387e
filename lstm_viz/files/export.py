"""Former home of the exports, kept so that `lstm_viz.files.export.<name>` still works: the code now lives in
npz.py (.npz recordings), lstmvis.py (LSTMVis projects), figure_files.py (HTML/PNG) and out_paths.py
(safe file names, writable checks, atomic writes)."""
from .figure_files import figure_to_html, figure_to_png, write_figure_html
from .lstmvis import LSTMVisProject, export_lstmvis, lstmvis_zip_bytes, parse_lstm_yml, read_lstmvis
from .npz import NpzRecording, load_npz_recording, load_npz_trace, npz_bytes, trace_to_npz
from .out_paths import ExportError, ExportUnavailable, safe_filename

__all__ = [
    "ExportError", "ExportUnavailable", "LSTMVisProject", "NpzRecording", "export_lstmvis", "figure_to_html",
    "figure_to_png", "load_npz_recording", "load_npz_trace", "lstmvis_zip_bytes", "npz_bytes", "parse_lstm_yml",
    "read_lstmvis", "safe_filename", "trace_to_npz", "write_figure_html",
]
