"""Compliance with the rules limiting distance learning: rule tables (data), measures, reports, weather days."""
