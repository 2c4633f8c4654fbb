"""Helpers for the fault and multi-worker tests: generated directories, child processes."""
