"""One module per rule system of docs/rules.md §3, composed in tick order by core.py.

spawn (1) -> timers (2) -> forage (3) -> vitals (4: heal or starve) -> move (5)
-> combat (6, with skills/XP) -> death (7) -> regrowth (8).
With NPCs on (docs/rules.md §9): npc_spawn (1), npc upkeep (2, 4), npc_decide
and npc_move (5), one combat for all (6), npc_death (7).
With items on (§10): items.spawn_gold and npc_spawn_gold (1),
items.use_and_destroy (after 2), harvest (after 3, with professions),
equipment in combat (6), loot (7), the resource tiles' regrowth (8, with professions).
"""
