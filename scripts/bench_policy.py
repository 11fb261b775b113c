"""Policy throughput: forward, and forward+backward of a PPO-style loss, in agent-steps/s.

    python -m scripts.bench_policy [--preset default] [--worlds 64] [--ticks 4] [--width 32]
                                   [--minibatch-rows 8] [--repeats 3] [--shared]

Measured the way the fused trainer runs the policy: inside one jitted
`lax.scan`, so buffers are allocated once per call and every iteration sees
new data (nothing can be hoisted out of the loop). Observations come from
`--ticks` ticks of random play on `--worlds` worlds after `--warmup` ticks, so
masks and entity lists look like training data.

* forward: one rollout tick per iteration = apply + sample + log_prob over
  all worlds ([worlds, A] agents).
* forward+backward: one minibatch per iteration = the gradient of a clipped
  policy loss + value loss - entropy bonus, then an SGD step, over all
  ticks*worlds rows in minibatches of `--minibatch-rows` rows (x A agents).

Numbers are the median over `--repeats` timed calls after one compiling call.
"""
from __future__ import annotations

import argparse
import statistics
import time

import jax
import jax.numpy as jnp

import nmmo_jax as nj
from policies.baseline import ActorCritic
from policies.scripted import random_policy


def _timed(fn, *args, repeats: int) -> tuple[float, float]:
    """(compile+first-call seconds, median seconds of later calls)."""
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return first, statistics.median(times)


def sample_obs(config: nj.Config, worlds: int, ticks: int, warmup: int, seed: int = 0) -> nj.Obs:
    """Observations [ticks, worlds, A, ...] of random play, after `warmup` ticks."""

    @jax.jit
    def play(key):
        keys = jax.random.split(key, worlds)
        obs, state = jax.vmap(nj.reset, in_axes=(0, None))(keys, config)

        def tick(carry, k):
            obs, state = carry
            ks = jax.random.split(k, worlds)
            actions = jax.vmap(random_policy)(ks, obs)
            obs, state, *_ = jax.vmap(nj.step, in_axes=(0, 0, 0, None))(ks, state, actions, config)
            return (obs, state), obs

        carry, _ = jax.lax.scan(tick, (obs, state), jax.random.split(key, warmup))
        _, seq = jax.lax.scan(tick, carry, jax.random.split(jax.random.fold_in(key, 1), ticks))
        return seq

    return play(jax.random.PRNGKey(seed))


def make_benchmarks(model: ActorCritic, minibatch_rows: int):
    """Jitted (forward(params, obs_seq, key), make_data(params, obs_seq, key),
    train(params, minibatches)); forward and train are scans."""

    def rollout(params, obs_seq, key):
        def tick(total, xs):
            obs, k = xs
            dist, value = model.apply(params, obs)
            choice = dist.sample(k)
            return total + dist.log_prob(choice).sum() + value.sum(), choice

        keys = jax.random.split(key, obs_seq.move_mask.shape[0])
        return jax.lax.scan(tick, 0.0, (obs_seq, keys))

    def loss(params, obs, choice, old_logp, adv, target):
        dist, value = model.apply(params, obs)
        ratio = jnp.exp(dist.log_prob(choice) - old_logp)
        pg = -jnp.minimum(ratio * adv, jnp.clip(ratio, 0.8, 1.2) * adv).mean()
        return pg + 0.5 * ((value - target) ** 2).mean() - 0.01 * dist.entropy().mean()

    def make_data(params, obs_seq, key):
        """PPO-shaped minibatches [M, minibatch_rows, A, ...] from the observations."""
        dist, value = jax.vmap(model.apply, in_axes=(None, 0))(params, obs_seq)
        choice = dist.sample(key)
        data = (obs_seq, choice, dist.log_prob(choice), jax.random.normal(key, value.shape), value)
        rows = value.shape[0] * value.shape[1]
        return jax.tree.map(lambda x: x.reshape((rows // minibatch_rows, minibatch_rows)
                                                + x.shape[2:]), data)

    def train(params, minibatches):
        def step(params, batch):
            grads = jax.grad(loss)(params, *batch)
            return jax.tree.map(lambda p, g: p - 1e-4 * g, params, grads), None

        return jax.lax.scan(step, params, minibatches)[0]

    return jax.jit(rollout), jax.jit(make_data), jax.jit(train)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=nj.Config.PRESETS, default="default")
    parser.add_argument("--worlds", type=int, default=64)
    parser.add_argument("--ticks", type=int, default=4)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--minibatch-rows", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--shared", action="store_true")
    args = parser.parse_args(argv)
    rows = args.worlds * args.ticks
    if rows % args.minibatch_rows:
        raise ValueError(f"--minibatch-rows={args.minibatch_rows} must divide "
                         f"--worlds * --ticks = {rows}")

    config = nj.Config.preset(args.preset)
    model = ActorCritic(config, width=args.width, shared=args.shared)
    obs_seq = sample_obs(config, args.worlds, args.ticks, args.warmup)
    params = model.init(jax.random.PRNGKey(0), jax.tree.map(lambda x: x[0, 0], obs_seq))
    a = config.num_agents
    print(f"device {jax.devices()[0].device_kind} x{jax.device_count()}, jax {jax.__version__}, "
          f"preset {args.preset} ({a} agents), {args.worlds} worlds x {args.ticks} ticks")
    print(model.describe(params))

    forward, make_data, train = make_benchmarks(model, args.minibatch_rows)
    key = jax.random.PRNGKey(1)
    n = rows * a
    first, sec = _timed(forward, params, obs_seq, key, repeats=args.repeats)
    print(f"forward           batch {args.worlds * a:>6} agents: {n / sec:>10,.0f} agent-steps/s "
          f"({sec / n * 1e6:.2f} us/agent; compile+first {first:.1f} s)")
    minibatches = make_data(params, obs_seq, key)
    first, sec = _timed(train, params, minibatches, repeats=args.repeats)
    print(f"forward+backward  batch {args.minibatch_rows * a:>6} agents: {n / sec:>10,.0f} "
          f"agent-steps/s ({sec / n * 1e6:.2f} us/agent; compile+first {first:.1f} s)")


if __name__ == "__main__":
    main()
