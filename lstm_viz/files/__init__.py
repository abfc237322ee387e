"""Files in and out, read safely: a user's saved model (torch.load with weights_only=True, sizes checked
first), inputs (text through a vocabulary, saved tensors), uploads, and recordings taken away as .npz,
LSTMVis projects, HTML or PNG."""
from .export import (
    export_lstmvis, figure_to_html, figure_to_png, load_npz_recording, load_npz_trace, lstmvis_zip_bytes,
    npz_bytes, read_lstmvis, trace_to_npz,
)
from .model_files import InspectedModel, ModelFileError, RecurrentSpec, inspect_model, safe_load

__all__ = [
    "export_lstmvis", "figure_to_html", "figure_to_png", "load_npz_recording", "load_npz_trace",
    "lstmvis_zip_bytes", "npz_bytes", "read_lstmvis", "trace_to_npz",
    "InspectedModel", "ModelFileError", "RecurrentSpec", "inspect_model", "safe_load",
]
