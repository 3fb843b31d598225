"""The examiner desk: sign-in, the exam and session pages, review decisions, verdicts and the protocol PDF."""
