"""Prebuilt IO networks: observation arrays -> vectors -> hierarchical action heads.

`Input` embeds each agent's `Inputs` into one hidden vector (plus the
per-entity embeddings the pointer head reuses); `Output` turns a hidden vector
into an `ActionDist` over (move, style, target row) that respects the action
masks. A user model goes between the two and never sees structured data.

`prepare` turns an observation into `Inputs` outside the gradient: the tile
window pooled into integer block counts and, optionally, the shortest paths
to food and water (`policies.navigation`). Both modules work on any number of
leading batch dims: every leaf is [..., A, ...] and they flatten the leading
dims into rows internally. Cost matters more than capacity here (the policy,
not the env, bounds training speed on a CPU), so nothing is learned per
cell, and entities are pooled by one attention query.

With NPCs on (`Config.num_npcs` > 0) the entity rows carry four more
features (kind and level, docs/rules.md §9.6) that `EntityEncoder` embeds,
and a listed NPC is a target like an agent (its row's `entity_slot` is
A + j). With NPCs off the parameters and outputs are v1.3's, bit for bit.
"""
from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

import nmmo_jax as nj
from nmmo_jax import Obs

from . import navigation as nav

# Logit of a masked-out choice: finite (entropy and gradients stay NaN-free) and
# far below anything a network outputs, so its probability is exactly 0.
MASKED = -1e9

# ----------------------------------------------------------------------------- actions
@struct.dataclass
class Choice:
    """What a policy picked, in entity-row space; int32 [..., A] each.

    move 0..4, style 0..2, target = row 0..K-1 of the entity list (0 = no attack).
    """

    move: jnp.ndarray
    style: jnp.ndarray
    target: jnp.ndarray


def _log_softmax(logits: jnp.ndarray) -> jnp.ndarray:
    return jax.nn.log_softmax(logits, axis=-1)


def _entropy(logits: jnp.ndarray) -> jnp.ndarray:
    """Entropy over the last axis; masked entries have p = 0 exactly and add 0."""
    logp = _log_softmax(logits)
    return -jnp.sum(jnp.exp(logp) * logp, axis=-1)


def _pick(values: jnp.ndarray, index: jnp.ndarray) -> jnp.ndarray:
    """values[..., index] along the last axis as a one-hot product (cheap to differentiate)."""
    return jnp.sum(values * jax.nn.one_hot(index, values.shape[-1], dtype=values.dtype), axis=-1)


def _sample(u: jnp.ndarray, logits: jnp.ndarray) -> jnp.ndarray:
    """Inverse-CDF draw from softmax(logits) [..., N] with uniforms u [...] (int32 [...]).

    One uniform per draw instead of N Gumbels (the random bits were a third of
    the forward pass). The pick is the first index whose cumulative
    probability exceeds u * total, so an entry with probability 0 (masked) is
    never drawn; if float rounding leaves no such index it returns 0, which is
    always valid (stay, melee, no attack).
    """
    cdf = jnp.cumsum(jax.nn.softmax(logits, axis=-1), axis=-1)
    return jnp.argmax(cdf > u[..., None] * cdf[..., -1:], axis=-1).astype(jnp.int32)


def _style_row(target: jnp.ndarray, style: jnp.ndarray) -> jnp.ndarray:
    """target[..., style, :]: the target logits [..., K] of the chosen style."""
    return jnp.take_along_axis(target, style[..., None, None], axis=-2)[..., 0, :]


@struct.dataclass
class ActionDist:
    """Masked logits of the hierarchical action: move, style, then a target given the style.

    move f32 [..., A, 5]; style f32 [..., A, 3]; target f32 [..., A, 3, K] (one
    row of target logits per style, masked by that style's target mask).
    Masked entries hold MASKED (finite), so they have probability exactly 0.
    """

    move: jnp.ndarray
    style: jnp.ndarray
    target: jnp.ndarray

    def sample(self, key: jax.Array) -> Choice:
        """Draw move and style, then a target valid for the drawn style."""
        u = jax.random.uniform(key, self.move.shape[:-1] + (3,))
        style = _sample(u[..., 1], self.style)
        return Choice(move=_sample(u[..., 0], self.move), style=style,
                      target=_sample(u[..., 2], _style_row(self.target, style)))

    def mode(self) -> Choice:
        """The greedy action (most likely move, style, and target for that style)."""
        style = jnp.argmax(self.style, axis=-1).astype(jnp.int32)
        return Choice(move=jnp.argmax(self.move, axis=-1).astype(jnp.int32), style=style,
                      target=jnp.argmax(_style_row(self.target, style), axis=-1).astype(jnp.int32))

    def log_prob(self, choice: Choice) -> jnp.ndarray:
        """f32 [..., A]: log p(move) + log p(style) + log p(target | style)."""
        style_hot = jax.nn.one_hot(choice.style, self.style.shape[-1], dtype=self.target.dtype)
        target_logits = jnp.sum(self.target * style_hot[..., None], axis=-2)
        return (_pick(_log_softmax(self.move), choice.move)
                + _pick(_log_softmax(self.style), choice.style)
                + _pick(_log_softmax(target_logits), choice.target))

    def entropy(self) -> jnp.ndarray:
        """f32 [..., A], exact: H(move) + H(style) + sum_s p(s) H(target | s)."""
        p_style = jax.nn.softmax(self.style, axis=-1)
        return (_entropy(self.move) + _entropy(self.style)
                + jnp.sum(p_style * _entropy(self.target), axis=-1))

    def probs(self) -> tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray]:
        """(p_move [..., 5], p_style [..., 3], p_target_given_style [..., 3, K])."""
        return (jax.nn.softmax(self.move, axis=-1), jax.nn.softmax(self.style, axis=-1),
                jax.nn.softmax(self.target, axis=-1))


def to_actions(choice: Choice, obs: Obs) -> nj.Actions:
    """Game actions from a row-space choice: target slot = obs.entity_slot[target row].

    Works for any leading dims ([A], [W, A], ...); int32 like the choice.
    """
    slot = jnp.take_along_axis(obs.entity_slot, choice.target[..., None], axis=-1)[..., 0]
    return nj.Actions(move=choice.move, style=choice.style, target=slot.astype(jnp.int32))


# ----------------------------------------------------------------------------- layers
def _block_counts(tiles: jnp.ndarray, counts: jnp.ndarray, block: int) -> jnp.ndarray:
    """Per block of block x block cells: how many cells of each tile type, and
    how many agents. [N, V, V] int8 -> uint8 [N, (V // block)^2, 7] (raw counts).

    The six type counts are packed 4 bits each into one uint32 per cell (a block
    holds at most 9 < 16 cells), so the pooling is one integer sum over the
    window instead of six float passes; agents go in the top 8 bits (clipped).
    """
    n, v = tiles.shape[0], tiles.shape[-1]
    b = -(-v // block)
    code = jnp.left_shift(jnp.uint32(1), 4 * tiles.astype(jnp.uint32))
    code = code + jnp.left_shift(jnp.minimum(counts, 255 // (block * block)).astype(jnp.uint32), 24)
    if b * block != v:  # pad the far edges with code 0: cells that count as nothing
        code = jnp.pad(code, ((0, 0), (0, b * block - v), (0, b * block - v)))
    total = code.reshape(n, b, block, b, block).sum(axis=(2, 4), dtype=jnp.uint32)
    shifts = jnp.asarray([4 * k for k in range(nj.NUM_TILE_TYPES)] + [24], jnp.uint32)
    widths = jnp.asarray([15] * nj.NUM_TILE_TYPES + [255], jnp.uint32)
    return (jnp.right_shift(total.reshape(n, b * b, 1), shifts) & widths).astype(jnp.uint8)


def tile_counts(tiles: jnp.ndarray, counts: jnp.ndarray, block: int = 3) -> jnp.ndarray:
    """The window as a short vector of small integers, from one integer pass over its cells.

    Per block x block block of the window (25 blocks of 3x3 for vision 7; a
    window that is not a multiple of `block` is padded with empty cells): the
    count of cells of each tile type and of agents; plus the exact one-hot
    tile types and agent counts of the 3x3 cells around the agent (the move
    head needs to see lava next to it). `Input` scales it (`cell_scale`) and
    follows it with one learned linear map, which gives every (tile type,
    block position) pair its own embedding and every block an agent-count
    weight: the linear core of "type embedding + agent count + position
    embedding", pooled by a stride-3 sum. Per-cell float embeddings
    (attention or convolution over the 225 cells) measured 4-40x slower on a
    2-core CPU, where the policy bounds training speed.
    [N, V, V] int8 (x2) -> uint8 [N, 7 * blocks + 63].
    """
    n, v = tiles.shape[0], tiles.shape[-1] // 2
    pooled = _block_counts(tiles, counts, block)
    near = tiles[:, v - 1: v + 2, v - 1: v + 2].reshape(n, 9)
    near_hot = near[..., None] == jnp.arange(nj.NUM_TILE_TYPES, dtype=near.dtype)
    near_agents = counts[:, v - 1: v + 2, v - 1: v + 2].reshape(n, 9)
    return jnp.concatenate([pooled.reshape(n, -1), near_hot.reshape(n, -1).astype(jnp.uint8),
                            near_agents.astype(jnp.uint8)], axis=-1)


def nav_steps(config: nj.Config) -> int:
    """The longest path the navigation features follow: the walking distance from
    the window's centre to its corner on open ground (14 for vision 7)."""
    return 2 * config.vision


def cell_scale(config: nj.Config, navigation: bool, block: int = 3) -> np.ndarray:
    """float32 [C]: what `Input` multiplies `Inputs.cells` by, so every column is
    about unit size: type counts as fractions of a block, agents / 4, one-hots
    as they are, navigation distances as fractions of `nav_steps`."""
    blocks = (-(-config.window // block)) ** 2
    per_block = [1.0 / block ** 2] * nj.NUM_TILE_TYPES + [0.25]
    scale = per_block * blocks + [1.0] * 9 * nj.NUM_TILE_TYPES + [0.25] * 9
    if navigation:
        goal = [1.0, 1.0 / (nav_steps(config) + 1)] + [1.0] * (nav.FEATURES_PER_GOAL - 2)
        scale += goal * len(nav.GOALS)
    return np.asarray(scale, np.float32)


@struct.dataclass
class Inputs:
    """What the network reads of an observation, computed outside the gradient
    (`prepare`) once per tick, so PPO can store it for its epochs. Every leaf
    keeps the observation's leading dims [..., A]:

    cells uint8 [..., C]: `tile_counts` and, with navigation,
    `navigation.features`; entities f32 [..., K, F] (F = 15, or 19 with NPCs
    on: `nmmo_jax.entity_feature_names`), entity_mask bool [..., K],
    move_mask bool [..., 5], target_mask bool [..., 3, K] as in the Obs.
    """

    cells: jnp.ndarray
    entities: jnp.ndarray
    entity_mask: jnp.ndarray
    move_mask: jnp.ndarray
    target_mask: jnp.ndarray


def prepare(obs: Obs, config: nj.Config, navigation: bool) -> Inputs:
    """The Inputs of an observation with any leading dims (Obs [..., A, ...])."""
    lead = obs.tiles.shape[:-2]
    v = obs.tiles.shape[-1]
    tiles, agents = obs.tiles.reshape((-1, v, v)), obs.tile_agents.reshape((-1, v, v))
    cells = tile_counts(tiles, agents)
    if navigation:
        cells = jnp.concatenate([cells, nav.features(tiles, agents, nav_steps(config))], axis=-1)
    return Inputs(cells=cells.reshape(lead + cells.shape[-1:]), entities=obs.entities,
                  entity_mask=obs.entity_mask, move_mask=obs.move_mask,
                  target_mask=obs.target_mask)


class EntityEncoder(nn.Module):
    """Per-entity embeddings and their masked one-query attention pool.

    Each row's attributes go through one linear map: the continuous ones
    (relative position, damage, time alive, food, water, health, freeze,
    immunity, levels) linearly, and the binary ones (is-self, same population,
    in reach of each style, from the target mask) by 2-row tables, which is the
    same thing as a bias plus bit times a learned vector, so they share the
    matmul (separate table lookups made the backward pass 4x slower). The
    pool attends from the observer's own row over the OTHER real rows only:
    padded rows get weight exactly 0 and the sum does not depend on the order
    of the rows. [N, K, F] -> (self [N, D], pooled others [N, D], rows [N, K, D]).

    With NPCs on (F = 19, `nmmo_jax.entity_feature_names`) the map also reads
    the kind one-hot (agent rows: all 0), the level, and the level less the
    observer's own (which row is prey is a comparison no linear map of one row
    can make). Their weights are a parameter of their own, `embed/npc_kernel`,
    beside v1.3's `embed/kernel` and `embed/bias`, so a v1.3 parameter tree is
    the NPC one without that leaf; the two kernels still go through one matmul.
    With F = 15 the module is exactly v1.3's (same parameters, same outputs).
    """

    dim: int = 16

    @nn.compact
    def __call__(self, entities: jnp.ndarray, mask: jnp.ndarray,
                 target_mask: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray]:
        d = self.dim
        reach = jnp.swapaxes(target_mask, -1, -2).astype(entities.dtype)  # [N, K, 3]
        if entities.shape[-1] == nj.NUM_ENTITY_FEATURES:
            emb = nn.Dense(d, name="embed")(jnp.concatenate([entities, reach], axis=-1))
        else:
            emb = NpcEmbed(d, name="embed")(jnp.concatenate(
                [entities[..., :nj.NUM_ENTITY_FEATURES], reach], axis=-1), npc_columns(entities))
        emb = jnp.where(mask[..., None], nn.relu(emb), 0.0)  # [N, K, D]

        me = emb[:, 0]
        query = nn.Dense(d, name="query")(me)
        score = jnp.einsum("nkd,nd->nk", emb, query) / math.sqrt(d)
        others = mask.at[:, 0].set(False)
        score = jnp.where(others, score, MASKED)
        weight = jnp.where(others, jnp.exp(score - score.max(axis=-1, keepdims=True)), 0.0)
        weight = weight / jnp.maximum(weight.sum(axis=-1, keepdims=True), 1e-9)
        pooled = jnp.einsum("nk,nkd->nd", weight, emb)
        return me, pooled, emb


# Where the NPC columns sit in a row with NPCs on.
_NPC_NAMES = nj.entity_feature_names(1)
_NPC_COLUMNS = slice(nj.NUM_ENTITY_FEATURES, len(_NPC_NAMES))  # after v1.3's 15
_LEVEL = _NPC_NAMES.index("level")


def npc_columns(entities: jnp.ndarray) -> jnp.ndarray:
    """What the encoder reads of the NPC features: [..., K, 19] -> [..., K, 5] =
    (npc_passive, npc_neutral, npc_hostile, level, level - the observer's level);
    row 0 of each list is the observer."""
    level = entities[..., _LEVEL]
    mine = level[..., :1]
    return jnp.concatenate([entities[..., _NPC_COLUMNS], (level - mine)[..., None]], axis=-1)


class NpcEmbed(nn.Module):
    """`nn.Dense(features)` of v1.3's columns x [..., I] (its `kernel` [I, D] and
    `bias` [D], initialised alike) plus `npc_kernel` [E, D] for the NPC columns
    extra [..., E], as one matmul: [..., I], [..., E] -> [..., D]."""

    features: int

    @nn.compact
    def __call__(self, x: jnp.ndarray, extra: jnp.ndarray) -> jnp.ndarray:
        fan_in = x.shape[-1] + extra.shape[-1]
        init = nn.initializers.lecun_normal()
        kernel = self.param("kernel", init, (x.shape[-1], self.features))
        bias = self.param("bias", nn.initializers.zeros_init(), (self.features,))
        # Drawn as the last rows of one [I + E, D] kernel, so the NPC columns start at
        # the same scale as the others.
        npc = self.param("npc_kernel", lambda key, shape: init(key, (fan_in, shape[1]))[-shape[0]:],
                         (extra.shape[-1], self.features))
        joined = jnp.concatenate([x, extra], axis=-1)
        return joined @ jnp.concatenate([kernel, npc], axis=0) + bias


def _rows(inputs: Inputs) -> tuple[tuple[int, ...], Inputs]:
    """Flatten every leading dim of the inputs into one row axis."""
    lead = inputs.move_mask.shape[:-1]
    n = int(np.prod(lead)) if lead else 1
    return lead, jax.tree.map(lambda x: x.reshape((n,) + x.shape[len(lead):]), inputs)


class Input(nn.Module):
    """Inputs -> (hidden [..., width], entity embeddings [..., K, entity_dim]).

    Takes Inputs with any leading dims (e.g. [A, ...] or [W, A, ...]).
    """

    config: nj.Config
    width: int = 32
    entity_dim: int = 16
    navigation: bool = True

    @nn.compact
    def __call__(self, inputs: Inputs) -> tuple[jnp.ndarray, jnp.ndarray]:
        nj.check_no_items(self.config, "policies.io.Input")
        lead, flat = _rows(inputs)
        cells = flat.cells.astype(jnp.float32) * cell_scale(self.config, self.navigation)
        me, others, emb = EntityEncoder(self.entity_dim, name="entities")(
            flat.entities, flat.entity_mask, flat.target_mask)
        # One matmul embeds the cells and merges them with the entity vectors
        # (separate layers cost more in per-op overhead than in flops).
        hidden = nn.relu(nn.Dense(self.width, name="embed")(
            jnp.concatenate([cells, me, others], axis=-1)))
        return hidden.reshape(lead + hidden.shape[-1:]), emb.reshape(lead + emb.shape[-2:])


class Output(nn.Module):
    """Hidden vectors + entity embeddings + masks -> ActionDist (and a value).

    hidden [..., H], entity_emb [..., K, D], move_mask [..., 5], target_mask
    [..., 3, K]. Move and style are logits of the hidden vector; the target
    head is a pointer: one query per style from the hidden vector, scored
    against every entity embedding. All heads (and, with value_head=True, the
    critic's value [...]) come from one matmul.
    """

    value_head: bool = False

    @nn.compact
    def __call__(self, hidden: jnp.ndarray, entity_emb: jnp.ndarray, move_mask: jnp.ndarray,
                 target_mask: jnp.ndarray):
        d = entity_emb.shape[-1]
        sizes = [nj.NUM_MOVES, nj.NUM_STYLES, nj.NUM_STYLES * d] + [1] * self.value_head
        # Policy columns start near zero (a near-uniform policy), the value column at unit scale.
        scale = jnp.asarray(sum(([0.01] * n for n in sizes[:3]), []) + [1.0] * self.value_head)
        init = lambda key, shape, dtype=jnp.float32: (
            jax.random.normal(key, shape, dtype) * scale / math.sqrt(shape[0]))
        out = nn.Dense(sum(sizes), kernel_init=init, name="heads")(hidden)
        cut = np.cumsum(sizes)[:-1].tolist()
        move, style, query, *value = jnp.split(out, cut, axis=-1)
        query = query.reshape(hidden.shape[:-1] + (nj.NUM_STYLES, d))
        target = jnp.einsum("...sd,...kd->...sk", query, entity_emb) / math.sqrt(d)
        dist = ActionDist(move=jnp.where(move_mask, move, MASKED), style=style,
                          target=jnp.where(target_mask, target, MASKED))
        return (dist, value[0][..., 0]) if self.value_head else dist
