"""Shared dashboard components."""
