"""Readers for the public seed-set formats (Open Assistant, LIMA, Alpaca, generic JSONL); `humpback.data.seed`
picks one by name and samples the result."""
