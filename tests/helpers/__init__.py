"""Helpers shared by several test modules (never imported from another test module)."""
