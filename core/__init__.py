"""The inference library behind Next-Token Explorer: torch/transformers/numpy only, usable from a notebook."""
