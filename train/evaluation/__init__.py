"""Evaluation and tournaments: policies play held-out worlds (`matches`), alone for the
population evaluation (`population`, its yardstick `cache` and `report`) or together in
tournaments (`tournament`, `ratings`), with their figures (`*_plot`)."""
