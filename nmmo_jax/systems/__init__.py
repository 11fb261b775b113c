"""One module per rule system of docs/rules.md §3, composed in tick order by core.py.

spawn (1) -> timers (2) -> forage (3) -> vitals (4: heal or starve) -> move (5)
-> combat (6, with skills/XP) -> death (7) -> regrowth (8).
"""
