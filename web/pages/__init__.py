"""Server-rendered pages: the candidate's exam page (and, later, the examiner's desk)."""
