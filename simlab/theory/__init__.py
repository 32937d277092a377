"""Closed forms and exact recursions, no simulation: each is the theory twin of a simulator."""
