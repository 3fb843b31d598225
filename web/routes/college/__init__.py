"""The college API (`/api/v1`): exams, candidates, sessions, recordings, events, verdicts, webhooks."""
