"""Thin adapters: HTTP routes (one blueprint per resource) and event functions."""
