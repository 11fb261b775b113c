"""Record a policy on one world and write a self-contained HTML replay (plus optional GIF / PNGs).

    python -m scripts.replay --policy random --ticks 1000 --out replay.html
    python -m scripts.replay --policy runs/ppo --ticks 500 --out replay.html --gif replay.gif --png-every 100
    python -m scripts.replay --policy combat --preset small --params melee_damage=5,90 --params food_decay=2
    python -m scripts.replay --policy hunter --preset small --num-npcs 16
    python -m scripts.replay --policy gear_forager --preset nmmo2 --ticks 300

--policy is a scripted policy's name (`random`, `forager`, `combat`, ...:
policies/scripted.py), `pretrained` (the checkpoint under policies/pretrained/)
or a checkpoint file / run directory written by `python -m train`
(policies/resolve.py). --params FIELD=VALUE (repeatable) changes one of the
game's numbers from v1.3's (a field of nmmo_jax.Params; "BASE,PER_LEVEL" for a
damage pair). --num-npcs N puts N NPC slots in a scripted policy's world (a
checkpoint brings its own, NPCs included). --preset nmmo2 is nmmo 2.1.2's world:
NPCs, items and professions (docs/rules.md §10.10); the page then shows each
agent's inventory and gold and the resource tiles. Open the HTML file in any
browser: it needs no network and no install. With NPCs on, the printed summary
also gives the NPCs killed by agents and the agents' deaths by NPCs
(`npc_summary`); with items on, the items held and gold at the end
(`item_summary`).
"""
from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

import numpy as np

import nmmo_jax as nj
from envs.spaces import check_seed
from policies.resolve import PolicyError, Resolved, resolve
from train.run.paths import output_path
from train.run.policy import load_trained

if TYPE_CHECKING:
    from viz.record import Recording


def load_policy(spec: str) -> Resolved:
    """The policy a --policy value names (its `policy(game=...)`, its checkpoint's env
    Config or None, its label); PolicyError (naming --policy) when it names nothing
    that can be played."""
    try:
        return resolve(spec, load_trained)
    except PolicyError as e:
        raise PolicyError(f"--policy {e}") from None


def npc_summary(rec: Recording) -> str | None:
    """One line on the NPCs of a recording with NPCs on (None without): the NPCs
    that died (only agents' hits kill NPCs), the NPC kills credited to agents
    (info["npc_kill"]: one for each agent whose hit landed on an NPC in the tick
    it died, so one NPC can count for several agents) and the agents' deaths
    with cause npc (nj.CAUSE_NPC), over frames 1..F-1."""
    from viz.record import DIED, NPC_KILLS  # viz is imported once the flags are checked
    if rec.npcs is None:
        return None
    npc_died = int(((rec.npcs["flags"] & DIED) > 0).sum())
    ag = rec.agents
    died = (ag["flags"] & DIED) > 0
    by_npc = int((died & (ag["cause"] == nj.CAUSE_NPC)).sum())
    # Each life's NPC kills are its NPC_KILLS at its last row: the frame it died,
    # or the last frame for a life still going.
    last = np.arange(len(died)) >= rec.agent_off[-2]
    credited = int(ag[NPC_KILLS][died | last].sum())
    return (f"NPCs: {npc_died} killed by agents ({credited} agent kills of NPCs, one for each "
            f"agent that hit a dying NPC); {by_npc} agents killed by NPCs")


def item_summary(rec: Recording) -> str | None:
    """One line on the items of a recording with items on (None without): the items
    held by the agents alive in the last frame, how many of them are equipped,
    and their gold."""
    if rec.items is None:
        return None
    last = rec.num_frames - 1
    items, agents = rec.items_at(last), rec.agents_at(last)
    return (f"items: {len(items['kind'])} held at the end ({int(items['equipped'].sum())} "
            f"equipped), {int(agents['gold'].sum())} gold")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m scripts.replay", description=__doc__.splitlines()[0])
    p.add_argument("--policy", required=True,
                   help="random | forager | combat | ... | pretrained | CHECKPOINT")
    p.add_argument("--ticks", type=int, default=1000, help="ticks to record (default 1000)")
    p.add_argument("--out", default="replay.html", help="HTML file to write")
    p.add_argument("--gif", help="also write an animated GIF here")
    p.add_argument("--png-every", type=int, metavar="K", help="also write a PNG of every K-th tick")
    p.add_argument("--png-dir", help="folder for the PNGs (default: OUT's name + _frames)")
    p.add_argument("--preset", choices=nj.Config.PRESETS, help="world preset for scripted policies "
                   "(default: default; a checkpoint brings its own)")
    p.add_argument("--num-npcs", type=int, default=None, metavar="N",
                   help="NPC slots in a scripted policy's world (default: the preset's, "
                   "0 but for nmmo2; a checkpoint brings its own)")
    p.add_argument("--seed", type=int, default=0, help="world and policy seed")
    p.add_argument("--params", action="append", default=[], metavar="FIELD=VALUE",
                   help="change one of the game's numbers (repeatable), e.g. food_decay=2 or "
                   "melee_damage=5,90 (fields: nmmo_jax/params.py)")
    p.add_argument("--scale", type=int, default=4, help="pixels per tile in the GIF and PNGs")
    p.add_argument("--fps", type=float, default=10.0, help="GIF frames per second")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for name in ("ticks", "png_every", "scale"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1 (got {value})")
    if args.num_npcs is not None and args.num_npcs < 0:
        parser.error(f"--num-npcs must be >= 0 (got {args.num_npcs})")
    if not args.fps > 0:
        parser.error(f"--fps must be > 0 (got {args.fps})")
    try:
        check_seed(args.seed, "--seed")
        changes = nj.params.parse_assignments(args.params)
        args.out = output_path(args.out, "--out")
        if args.gif is not None:
            args.gif = output_path(args.gif, "--gif")
        if args.png_every:
            args.png_dir = output_path(args.png_dir or str(args.out.with_name(args.out.stem + "_frames")),
                                       "--png-dir", folder=True)
    except ValueError as e:
        parser.error(str(e))
    try:
        named = load_policy(args.policy)
        ckpt_config, label = named.config, named.name
    except PolicyError as e:
        parser.error(str(e))
    for flag, value in (("--preset", args.preset), ("--num-npcs", args.num_npcs)):
        if ckpt_config is not None and value is not None:
            print(f"replay: {flag} {value} ignored: the checkpoint brings its own world config",
                  file=sys.stderr)
    try:  # values are checked against the world's config, known only now
        npcs = {} if args.num_npcs is None else {"num_npcs": args.num_npcs}
        config = ckpt_config or nj.Config.preset(args.preset or "default", **npcs)
        params = nj.default_params(config, **changes)
    except ValueError as e:
        parser.error(str(e))

    from viz import record, write_gif, write_html, write_pngs
    start = time.time()
    progress = lambda done, total: print(f"recorded {done}/{total} ticks ({time.time() - start:.1f} s)",
                                         file=sys.stderr)
    rec = record(named.policy(game=params), config, args.ticks, args.seed, name=label, progress=progress,
                 params=params)
    out = write_html(rec, args.out)
    life = rec.mean_lifetime[-1]
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB, {rec.num_frames} frames; "
          f"{int(rec.alive[-1])} alive at the end, {int(rec.lives_ended[-1])} lives ended, "
          f"mean lifetime {life:.1f})")
    for line in (npc_summary(rec), item_summary(rec)):
        if line is not None:
            print(line)
    if args.gif:
        print(f"wrote {write_gif(rec, args.gif, args.scale, args.fps)}")
    if args.png_every:
        paths = write_pngs(rec, args.png_dir, args.png_every, args.scale)
        print(f"wrote {len(paths)} PNGs to {args.png_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
