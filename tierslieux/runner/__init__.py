"""Orchestration: the build as named phases, a whole run (lock, history, harvest then build)."""
