"""Files in and out, read safely: one guarded torch.load with budgets checked before anything is expanded
(safe_load, budgets), a user's saved model (recurrent_weights, model_files), inputs (text through a vocabulary,
saved tensors), uploads, paths typed on the server (server_paths), and recordings taken away as .npz (npz),
LSTMVis projects (lstmvis), HTML or PNG (figure_files), written atomically into checked folders (out_paths)."""
from .budgets import APP, LIBRARY, Budget, BudgetError
from .figure_files import figure_to_html, figure_to_png
from .lstmvis import export_lstmvis, lstmvis_zip_bytes, read_lstmvis
from .model_files import InspectedModel, inspect_model
from .npz import load_npz_recording, load_npz_trace, npz_bytes, trace_to_npz
from .out_paths import ExportError, OutputNotWritable
from .recurrent_weights import RecurrentSpec
from .safe_load import ModelFileError, safe_load

__all__ = [
    "APP", "LIBRARY", "Budget", "BudgetError", "ExportError", "OutputNotWritable",
    "export_lstmvis", "figure_to_html", "figure_to_png", "load_npz_recording", "load_npz_trace",
    "lstmvis_zip_bytes", "npz_bytes", "read_lstmvis", "trace_to_npz",
    "InspectedModel", "ModelFileError", "RecurrentSpec", "inspect_model", "safe_load",
]
