"""Carsbot rules (seed 004; DOMAIN.md "Carsbot"): car-ad classification, extraction and post text, the operator's
sheets, subscriptions and publishing decisions. Pure: no I/O, no clock reads."""
