"""Trained teaching models the app opens with: the catalog (catalog.py), the build command
(`python -m lstm_viz.teaching build`, build.py), a cached loader and Subjects (builtin.py), and the
character model of Python code with its interpretable cells (char_data, char_model, char_cells, char_view)."""
