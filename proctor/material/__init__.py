"""Foreign material in written answers (order 187 of 2026): a college's answers compared with each other and with
the college's own reference sources, in Kazakh (Cyrillic or Latin) and Russian, with the matched passages.

It lives in `proctor/` because an answer belongs to one of the college's exams, whose policy holds the thresholds;
the text parts (`normalise`, `signatures`, `index`, `align`) import nothing of ours.
"""
