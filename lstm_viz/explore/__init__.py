"""What the app's pages look at, without Streamlit: a Subject (a recurrent model plus a way to turn text
or files into its inputs), the data a page draws, LSTM vs GRU vs RNN comparisons and the cell-anatomy demo."""
