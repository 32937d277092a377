"""One module per figure: ``python -m experiments.<name> [--quick] [--backend ...]``."""
