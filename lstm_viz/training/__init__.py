"""Training: Tagger and Classifier models around torch.nn.LSTM/GRU/RNN, configs and presets, the Trainer
(a plain thread, immutable snapshots, a stop event) with its monitoring, evaluation, checkpoints of plain
data, and the history of what a run recorded on its probe sentences."""
