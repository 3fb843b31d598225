"""Real-time analysis core: frames and audio in, typed observations, events and a score out."""
