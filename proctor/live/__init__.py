"""Live analysis: worker processes that run the session pipeline on frames and audio as they arrive."""
