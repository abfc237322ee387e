"""`python -m lstm_viz ...`: the command line (see lstm_viz/cli.py)."""
from .cli import main

raise SystemExit(main())
