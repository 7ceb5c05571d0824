"""Evaluation: candidate against champion on a fixed evaluation set, metrics with paired
intervals, the gate, the signature diff, and `report.json`. Makes no network call."""
