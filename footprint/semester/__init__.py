"""A semester of a college, generated: its catalogue and the statements its LMS sends (Moodle-shaped)."""
