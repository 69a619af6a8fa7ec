"""Foundations every layer uses: errors with locations, the message catalogue, exact amounts, formatting."""
