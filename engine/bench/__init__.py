"""Measurements: the preprocess / train / read / classify / adapt benchmarks, Amdahl fits, plain readings, the demo."""
