"""Yilian: remote imaging consultation and training for a regional medical alliance."""
