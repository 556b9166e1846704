"""The ``lgwan`` command: one module per sub-command, each a thin layer over the pipeline."""
