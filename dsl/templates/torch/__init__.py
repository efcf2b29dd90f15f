"""The PyTorch target: templates and the view computed from the IR."""
