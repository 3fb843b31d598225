"""Exam sessions as a service: colleges' exams, candidates, sessions, kept recordings, events, verdicts."""
