"""Fuzz tests: hypothesis-generated hostile input against real parts."""
