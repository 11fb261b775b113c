"""A short scripted demo: random masked play on the default map, printed per tick.

    python -m scripts.demo --ticks 100 --preset default
"""
from __future__ import annotations

import argparse

import jax
import numpy as np

import nmmo_jax as nj
from policies.scripted import random_policy


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ticks", type=int, default=100)
    p.add_argument("--preset", choices=nj.Config.PRESETS, default="default")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.ticks < 1:
        p.error("--ticks must be >= 1")
    config = nj.Config.preset(args.preset)

    @jax.jit
    def tick(key, obs, state):
        k_act, k_step = jax.random.split(key)
        return nj.step(k_step, state, random_policy(k_act, obs), config)

    key = jax.random.PRNGKey(args.seed)
    obs, state = jax.jit(nj.reset, static_argnums=1)(key, config)
    lives: list[int] = []
    for t in range(1, args.ticks + 1):
        obs, state, _, done, info = tick(jax.random.fold_in(key, t), obs, state)
        lives += np.asarray(info["lifetime"])[np.asarray(done)].tolist()
        mean = f"{np.mean(lives):6.2f}" if lives else "   n/a"
        print(f"tick {t:5d}  alive {int(info['alive'].sum()):4d}  deaths {len(lives):5d}  "
              f"mean lifetime {mean}")


if __name__ == "__main__":
    main()
