"""The examiner's review of exam sessions: who may see what, the exam and session views, decisions on events,
verdicts by signed-in examiners, re-weighting, and what the protocol of a session holds."""
