"""Chargers already in Home Assistant: their profiles and logic (no Home Assistant)."""
