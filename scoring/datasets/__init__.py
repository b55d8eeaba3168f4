"""Public and synthetic histories to train and evaluate on."""
