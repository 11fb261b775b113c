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

With items on (`Config.inventory_slots` = I > 0, docs/rules.md §10) the
inputs carry the inventory rows and gold, `Input` pools the rows by one
attention query as it pools the entities, and the action gains two pointer
heads over the inventory, use and destroy, each with a "nothing" choice
(row 0; slot i is row i + 1). With professions on the window's cells count
the resource tiles too. With items off none of this exists: v1.3's (or the
NPC world's) parameters and outputs, bit for bit.
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

    move 0..4, style 0..2, target = row 0..K-1 of the entity list (0 = no attack);
    with items on, use and destroy = row 0..I of the inventory (0 = nothing, i + 1
    = slot i), else None.
    """

    move: jnp.ndarray
    style: jnp.ndarray
    target: jnp.ndarray
    use: jnp.ndarray | None = None
    destroy: jnp.ndarray | None = None


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
    row of target logits per style, masked by that style's target mask). With
    items on, use and destroy f32 [..., A, I + 1] (row 0 = nothing, always
    valid; row i + 1 masked by the slot's use or destroy mask), drawn
    independently of the rest; else None.
    Masked entries hold MASKED (finite), so they have probability exactly 0.
    """

    move: jnp.ndarray
    style: jnp.ndarray
    target: jnp.ndarray
    use: jnp.ndarray | None = None
    destroy: jnp.ndarray | None = None

    def _items(self) -> tuple[jnp.ndarray, ...]:
        """The item heads' logits: (use, destroy), or () with items off."""
        return () if self.use is None else (self.use, self.destroy)

    def sample(self, key: jax.Array) -> Choice:
        """Draw move and style, then a target valid for the drawn style (and the item heads)."""
        items = self._items()
        u = jax.random.uniform(key, self.move.shape[:-1] + (3 + len(items),))
        style = _sample(u[..., 1], self.style)
        picks = [_sample(u[..., 3 + i], logits) for i, logits in enumerate(items)]
        return Choice(_sample(u[..., 0], self.move), style,
                      _sample(u[..., 2], _style_row(self.target, style)), *picks)

    def mode(self) -> Choice:
        """The greedy action (most likely move, style, target for that style, item rows)."""
        best = lambda logits: jnp.argmax(logits, axis=-1).astype(jnp.int32)
        style = best(self.style)
        return Choice(best(self.move), style, best(_style_row(self.target, style)),
                      *map(best, self._items()))

    def log_prob(self, choice: Choice) -> jnp.ndarray:
        """f32 [..., A]: log p(move) + log p(style) + log p(target | style) (+ log p(use)
        + log p(destroy))."""
        style_hot = jax.nn.one_hot(choice.style, self.style.shape[-1], dtype=self.target.dtype)
        target_logits = jnp.sum(self.target * style_hot[..., None], axis=-2)
        out = (_pick(_log_softmax(self.move), choice.move)
               + _pick(_log_softmax(self.style), choice.style)
               + _pick(_log_softmax(target_logits), choice.target))
        for logits, row in zip(self._items(), (choice.use, choice.destroy)):
            out = out + _pick(_log_softmax(logits), row)
        return out

    def entropy(self) -> jnp.ndarray:
        """f32 [..., A], exact: H(move) + H(style) + sum_s p(s) H(target | s) (+ H(use)
        + H(destroy))."""
        p_style = jax.nn.softmax(self.style, axis=-1)
        out = (_entropy(self.move) + _entropy(self.style)
               + jnp.sum(p_style * _entropy(self.target), axis=-1))
        for logits in self._items():
            out = out + _entropy(logits)
        return out

    def probs(self) -> tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray]:
        """(p_move [..., 5], p_style [..., 3], p_target_given_style [..., 3, K])."""
        return (jax.nn.softmax(self.move, axis=-1), jax.nn.softmax(self.style, axis=-1),
                jax.nn.softmax(self.target, axis=-1))


def to_actions(choice: Choice, obs: Obs) -> nj.Actions:
    """Game actions from a row-space choice: target slot = obs.entity_slot[target row].

    With items on, use and destroy = inventory row - 1 (row 0, nothing: -1).
    Works for any leading dims ([A], [W, A], ...); int32 like the choice.
    """
    slot = jnp.take_along_axis(obs.entity_slot, choice.target[..., None], axis=-1)[..., 0]
    actions = nj.Actions(move=choice.move, style=choice.style, target=slot.astype(jnp.int32))
    if choice.use is None:
        return actions
    return actions.replace(use=choice.use - 1, destroy=choice.destroy - 1)


# ----------------------------------------------------------------------------- layers
def tile_types(config: nj.Config) -> int:
    """How many tile kinds the window can hold: v1.3's 6, or 16 with professions
    (the resource tiles, docs/rules.md §10.6)."""
    return nj.NUM_PROFESSION_TILE_TYPES if config.professions else nj.NUM_TILE_TYPES


# Tile kinds counted per packed uint32 word after the first (4 bits each).
_TYPES_PER_WORD = 8


def _block_counts(tiles: jnp.ndarray, counts: jnp.ndarray, block: int,
                  num_types: int = nj.NUM_TILE_TYPES) -> jnp.ndarray:
    """Per block of block x block cells: how many cells of each tile type, and
    how many agents. [N, V, V] int8 -> uint8 [N, (V // block)^2, num_types + 1]
    (raw counts: v1.3's six types, agents, then any further types).

    The counts are packed 4 bits each into uint32 words per cell (a block
    holds at most 9 < 16 cells), so the pooling is one integer sum over the
    window per word instead of a float pass per type: the first word holds
    v1.3's six types and, in its top 8 bits, the agents (clipped); with more
    tile types (professions) each further word holds eight more.
    """
    n, v = tiles.shape[0], tiles.shape[-1]
    b = -(-v // block)
    kinds = tiles.astype(jnp.uint32)
    one = jnp.uint32(1)
    first = jnp.left_shift(one, 4 * kinds)
    if num_types > nj.NUM_TILE_TYPES:  # the resource tiles count in the later words only
        first = jnp.where(kinds < nj.NUM_TILE_TYPES, first, 0)
    first = first + jnp.left_shift(jnp.minimum(counts, 255 // (block * block)).astype(jnp.uint32), 24)
    words = [(first, [4 * k for k in range(nj.NUM_TILE_TYPES)] + [24],
              [15] * nj.NUM_TILE_TYPES + [255])]
    for low in range(nj.NUM_TILE_TYPES, num_types, _TYPES_PER_WORD):
        high = min(low + _TYPES_PER_WORD, num_types)
        code = jnp.where((kinds >= low) & (kinds < high), jnp.left_shift(one, 4 * (kinds - low)), 0)
        words.append((code, [4 * k for k in range(high - low)], [15] * (high - low)))
    out = []
    for code, shifts, widths in words:
        if b * block != v:  # pad the far edges with code 0: cells that count as nothing
            code = jnp.pad(code, ((0, 0), (0, b * block - v), (0, b * block - v)))
        total = code.reshape(n, b, block, b, block).sum(axis=(2, 4), dtype=jnp.uint32)
        out.append((jnp.right_shift(total.reshape(n, b * b, 1), jnp.asarray(shifts, jnp.uint32))
                    & jnp.asarray(widths, jnp.uint32)).astype(jnp.uint8))
    return out[0] if len(out) == 1 else jnp.concatenate(out, axis=-1)


def tile_counts(tiles: jnp.ndarray, counts: jnp.ndarray, block: int = 3,
                num_types: int = nj.NUM_TILE_TYPES) -> jnp.ndarray:
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
    2-core CPU, where the policy bounds training speed. num_types: `tile_types`.
    [N, V, V] int8 (x2) -> uint8 [N, (num_types + 1) * blocks + 9 * (num_types + 1)].
    """
    n, v = tiles.shape[0], tiles.shape[-1] // 2
    pooled = _block_counts(tiles, counts, block, num_types)
    near = tiles[:, v - 1: v + 2, v - 1: v + 2].reshape(n, 9)
    near_hot = near[..., None] == jnp.arange(num_types, dtype=near.dtype)
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
    blocks, extra = (-(-config.window // block)) ** 2, tile_types(config) - nj.NUM_TILE_TYPES
    per_block = [1.0 / block ** 2] * nj.NUM_TILE_TYPES + [0.25] + [1.0 / block ** 2] * extra
    scale = per_block * blocks + [1.0] * 9 * tile_types(config) + [0.25] * 9
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
    `navigation.features`; entities f32 [..., K, F] (F = 15, 19 with NPCs on,
    one more with items: `nmmo_jax.entity_feature_names`), entity_mask bool
    [..., K], move_mask bool [..., 5], target_mask bool [..., 3, K] as in the
    Obs. With items on (else None): inventory f32 [..., I, NUM_ITEM_FEATURES],
    use_mask and destroy_mask bool [..., I], gold int32 [...], as in the Obs.
    With a policy that sees the game's numbers (else None): world f32 [..., W],
    `policies.world.WorldInputs.features` of each world's numbers.
    """

    cells: jnp.ndarray
    entities: jnp.ndarray
    entity_mask: jnp.ndarray
    move_mask: jnp.ndarray
    target_mask: jnp.ndarray
    inventory: jnp.ndarray | None = None
    use_mask: jnp.ndarray | None = None
    destroy_mask: jnp.ndarray | None = None
    gold: jnp.ndarray | None = None
    world: jnp.ndarray | None = None


def prepare(obs: Obs, config: nj.Config, navigation: bool) -> Inputs:
    """The Inputs of an observation with any leading dims (Obs [..., A, ...])."""
    lead = obs.tiles.shape[:-2]
    v = obs.tiles.shape[-1]
    tiles, agents = obs.tiles.reshape((-1, v, v)), obs.tile_agents.reshape((-1, v, v))
    cells = tile_counts(tiles, agents, num_types=tile_types(config))
    if navigation:
        cells = jnp.concatenate([cells, nav.features(tiles, agents, nav_steps(config),
                                                     config.professions)], axis=-1)
    return Inputs(cells=cells.reshape(lead + cells.shape[-1:]), entities=obs.entities,
                  entity_mask=obs.entity_mask, move_mask=obs.move_mask,
                  target_mask=obs.target_mask, inventory=obs.inventory, use_mask=obs.use_mask,
                  destroy_mask=obs.destroy_mask, gold=obs.gold)


def _attend(rows: jnp.ndarray, query: jnp.ndarray, mask: jnp.ndarray) -> jnp.ndarray:
    """One-query attention pool: rows [N, R, D], query [N, D], mask [N, R] ->
    [N, D]. Masked rows get weight exactly 0 and the result does not depend on
    the order of the rows; with no row unmasked it is 0."""
    score = jnp.einsum("nrd,nd->nr", rows, query) / math.sqrt(rows.shape[-1])
    score = jnp.where(mask, score, MASKED)
    weight = jnp.where(mask, jnp.exp(score - score.max(axis=-1, keepdims=True)), 0.0)
    weight = weight / jnp.maximum(weight.sum(axis=-1, keepdims=True), 1e-9)
    return jnp.einsum("nr,nrd->nd", weight, rows)


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

    With NPCs on (`npcs`) the map also reads the kind one-hot (agent rows: all
    0), the level, and the level less the observer's own (which row is prey is
    a comparison no linear map of one row can make); with items on (`items`)
    the row's equipment level and the same less the observer's. Their weights
    are parameters of their own, `embed/npc_kernel` and `embed/item_kernel`,
    beside v1.3's `embed/kernel` and `embed/bias` (`Embed`), so a v1.3
    parameter tree is an NPC or item one without those leaves. With neither,
    the module is exactly v1.3's (same parameters, same outputs).
    """

    dim: int = 16
    npcs: bool = False
    items: bool = False

    @nn.compact
    def __call__(self, entities: jnp.ndarray, mask: jnp.ndarray,
                 target_mask: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray]:
        d = self.dim
        reach = jnp.swapaxes(target_mask, -1, -2).astype(entities.dtype)  # [N, K, 3]
        core = jnp.concatenate([entities[..., :nj.NUM_ENTITY_FEATURES], reach], axis=-1)
        extras = {}
        if self.npcs:
            extras["npc_kernel"] = npc_columns(entities)
        if self.items:
            extras["item_kernel"] = item_columns(entities)
        if extras:
            emb = Embed(d, name="embed")(core, extras)
        else:
            emb = nn.Dense(d, name="embed")(core)
        emb = jnp.where(mask[..., None], nn.relu(emb), 0.0)  # [N, K, D]

        me = emb[:, 0]
        query = nn.Dense(d, name="query")(me)
        pooled = _attend(emb, query, mask.at[:, 0].set(False))
        return me, pooled, emb


# Where the NPC columns sit in a row with NPCs on (they follow v1.3's 15); the
# item column is the last one of a row with items on.
_NPC_NAMES = nj.entity_feature_names(1)
_NPC_COLUMNS = slice(nj.NUM_ENTITY_FEATURES, len(_NPC_NAMES))
_LEVEL = _NPC_NAMES.index("level")


def npc_columns(entities: jnp.ndarray) -> jnp.ndarray:
    """What the encoder reads of the NPC features: [..., K, F] -> [..., K, 5] =
    (npc_passive, npc_neutral, npc_hostile, level, level - the observer's level);
    row 0 of each list is the observer."""
    level = entities[..., _LEVEL]
    mine = level[..., :1]
    return jnp.concatenate([entities[..., _NPC_COLUMNS], (level - mine)[..., None]], axis=-1)


def item_columns(entities: jnp.ndarray) -> jnp.ndarray:
    """What the encoder reads of the item feature (the last column, item_level):
    [..., K, F] -> [..., K, 2] = (item_level, item_level - the observer's)."""
    level = entities[..., -1]
    return jnp.stack([level, level - level[..., :1]], axis=-1)


class Embed(nn.Module):
    """`nn.Dense(features)` of v1.3's columns x [..., I] (its `kernel` [I, D] and
    `bias` [D], initialised alike) plus one kernel [E, D] per named group of
    extra columns {name: [..., E]} (`npc_kernel`, `item_kernel`), as one
    matmul: [..., I], {name: [..., E]} -> [..., D]."""

    features: int

    @nn.compact
    def __call__(self, x: jnp.ndarray, extras: dict[str, jnp.ndarray]) -> jnp.ndarray:
        fan_in = x.shape[-1] + sum(e.shape[-1] for e in extras.values())
        init = nn.initializers.lecun_normal()
        kernels = [self.param("kernel", init, (x.shape[-1], self.features))]
        bias = self.param("bias", nn.initializers.zeros_init(), (self.features,))
        for name, extra in extras.items():
            # Drawn as the last rows of one [fan_in, D] kernel, so the extra columns
            # start at the same scale as the others.
            kernels.append(self.param(
                name, lambda key, shape: init(key, (fan_in, shape[1]))[-shape[0]:],
                (extra.shape[-1], self.features)))
        joined = jnp.concatenate([x, *extras.values()], axis=-1)
        return joined @ jnp.concatenate(kernels, axis=0) + bias


class ItemEncoder(nn.Module):
    """Inventory rows -> (row embeddings [N, I, D], their attention pool [N, D]).

    Each row (kind one-hot, level, quantity, equipped; plus whether it may be
    used or destroyed now) goes through one linear map; empty slots are masked
    out of the pool, which one query from the observer's own entity embedding
    attends, as `EntityEncoder` pools the entities. The row embeddings are
    what the use and destroy heads point at (`Output`).
    inventory [N, I, F], use_mask, destroy_mask [N, I], me [N, De].
    """

    dim: int = 16

    @nn.compact
    def __call__(self, inventory: jnp.ndarray, use_mask: jnp.ndarray,
                 destroy_mask: jnp.ndarray, me: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
        held = inventory[..., :nj.NUM_ITEM_KINDS - nj.HAT].sum(axis=-1) > 0  # [N, I]
        rows = jnp.concatenate([inventory, use_mask[..., None].astype(inventory.dtype),
                                destroy_mask[..., None].astype(inventory.dtype)], axis=-1)
        emb = jnp.where(held[..., None], nn.relu(nn.Dense(self.dim, name="embed")(rows)), 0.0)
        query = nn.Dense(self.dim, name="query")(me)
        return emb, _attend(emb, query, held)


def gold_feature(gold: jnp.ndarray) -> jnp.ndarray:
    """Gold as the network reads it, about unit size: min(log2(1 + gold) / 10, 1),
    like the inventory's quantities. int32 [...] -> f32 [...]."""
    return jnp.minimum(jnp.log2(1.0 + gold.astype(jnp.float32)) / 10.0, 1.0)


def _rows(inputs: Inputs) -> tuple[tuple[int, ...], Inputs]:
    """Flatten every leading dim of the inputs into one row axis."""
    lead = inputs.move_mask.shape[:-1]
    n = int(np.prod(lead)) if lead else 1
    return lead, jax.tree.map(lambda x: x.reshape((n,) + x.shape[len(lead):]), inputs)


class Input(nn.Module):
    """Inputs -> (hidden [..., width], entity embeddings [..., K, entity_dim],
    item embeddings [..., I, entity_dim] or None with items off).

    Takes Inputs with any leading dims (e.g. [A, ...] or [W, A, ...]).
    """

    config: nj.Config
    width: int = 32
    entity_dim: int = 16
    navigation: bool = True

    @nn.compact
    def __call__(self, inputs: Inputs) -> tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray | None]:
        cfg = self.config
        lead, flat = _rows(inputs)
        cells = flat.cells.astype(jnp.float32) * cell_scale(cfg, self.navigation)
        me, others, emb = EntityEncoder(self.entity_dim, npcs=cfg.num_npcs > 0,
                                        items=cfg.inventory_slots > 0, name="entities")(
            flat.entities, flat.entity_mask, flat.target_mask)
        parts, items = [cells, me, others], None
        if cfg.inventory_slots:
            items, held = ItemEncoder(self.entity_dim, name="items")(
                flat.inventory, flat.use_mask, flat.destroy_mask, me)
            parts += [held, gold_feature(flat.gold)[:, None]]
            items = items.reshape(lead + items.shape[-2:])
        if flat.world is not None:
            parts.append(flat.world)
        # One matmul embeds the cells and merges them with the entity (and item)
        # vectors (separate layers cost more in per-op overhead than in flops).
        hidden = nn.relu(nn.Dense(self.width, name="embed")(jnp.concatenate(parts, axis=-1)))
        return hidden.reshape(lead + hidden.shape[-1:]), emb.reshape(lead + emb.shape[-2:]), items


# The item heads' "nothing" logits start this far above the slots' (which start
# near 0): an untrained policy uses an item now and then and destroys one rarely
# (with 4 usable items about 1 use in 6 ticks; with 12 destroyable items about 1
# destroy in 90 ticks), instead of emptying its inventory in its first ticks.
NOTHING_BIAS = {"use": 3.0, "destroy": 7.0}


class Output(nn.Module):
    """Hidden vectors + entity (and item) embeddings + masks -> ActionDist (and a value).

    hidden [..., H], entity_emb [..., K, D], move_mask [..., 5], target_mask
    [..., 3, K]; with items on, item_emb [..., I, D] and use_mask,
    destroy_mask [..., I]. Move and style are logits of the hidden vector; the
    target head is a pointer: one query per style from the hidden vector,
    scored against every entity embedding; the use and destroy heads are
    pointers over the item embeddings plus a "nothing" logit. All heads (and,
    with value_head=True, the critic's value [...]) come from one matmul.
    """

    value_head: bool = False

    @nn.compact
    def __call__(self, hidden: jnp.ndarray, entity_emb: jnp.ndarray, move_mask: jnp.ndarray,
                 target_mask: jnp.ndarray, item_emb: jnp.ndarray | None = None,
                 use_mask: jnp.ndarray | None = None, destroy_mask: jnp.ndarray | None = None):
        d = entity_emb.shape[-1]
        items = item_emb is not None
        item_sizes = [1, d, 1, d] if items else []  # use: nothing, query; destroy: the same
        sizes = [nj.NUM_MOVES, nj.NUM_STYLES, nj.NUM_STYLES * d] + item_sizes + [1] * self.value_head
        policy = len(sizes) - self.value_head
        # Policy columns start near zero (a near-uniform policy), the value column at unit scale.
        scale = jnp.asarray(sum(([0.01] * n for n in sizes[:policy]), [])
                            + [1.0] * self.value_head)
        init = lambda key, shape, dtype=jnp.float32: (
            jax.random.normal(key, shape, dtype) * scale / math.sqrt(shape[0]))
        dense = dict(kernel_init=init, name="heads")
        if items:
            cut = np.cumsum(sizes).tolist()
            nothing = [cut[2], cut[4]]  # the columns of the use and destroy "nothing" logits
            bias = np.zeros(cut[-1], np.float32)
            bias[nothing] = [NOTHING_BIAS["use"], NOTHING_BIAS["destroy"]]
            dense["bias_init"] = lambda key, shape, dtype=jnp.float32: jnp.asarray(bias, dtype)
        out = nn.Dense(sum(sizes), **dense)(hidden)
        move, style, query, *rest = jnp.split(out, np.cumsum(sizes)[:-1].tolist(), axis=-1)
        query = query.reshape(hidden.shape[:-1] + (nj.NUM_STYLES, d))
        target = jnp.einsum("...sd,...kd->...sk", query, entity_emb) / math.sqrt(d)
        heads = {}
        if items:
            use_none, use_q, destroy_none, destroy_q, *rest = rest
            for name, none, q, mask in (("use", use_none, use_q, use_mask),
                                        ("destroy", destroy_none, destroy_q, destroy_mask)):
                slots = jnp.einsum("...d,...id->...i", q, item_emb) / math.sqrt(d)
                heads[name] = jnp.concatenate([none, jnp.where(mask, slots, MASKED)], axis=-1)
        dist = ActionDist(move=jnp.where(move_mask, move, MASKED), style=style,
                          target=jnp.where(target_mask, target, MASKED), **heads)
        return (dist, rest[0][..., 0]) if self.value_head else dist
