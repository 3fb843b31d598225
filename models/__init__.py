"""Registry of the model files the project uses, and their loading."""
