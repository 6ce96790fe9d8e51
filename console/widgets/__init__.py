"""Reusable widgets; none of them queries the store."""
