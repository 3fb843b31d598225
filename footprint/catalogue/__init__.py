"""The catalogue a college imports: programmes, curricula, people, timetable, assignments, distance episodes."""
