"""xAPI resources under /xapi: statements, state, activity and agent profiles, activities, agents, about."""
