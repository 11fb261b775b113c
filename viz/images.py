"""Pictures of a Recording: an animated GIF and PNG frames, drawn by viz/draw.py."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

import nmmo_jax as nj

from .draw import (DEATH_COLOR, HEALTH_EMPTY_COLOR, HEALTH_FULL_COLOR, NPC_COLORS, OUTLINE_COLOR,
                   PROFESSION_TILE_COLORS, STYLE_COLORS, TILE_COLORS, population_colors)
from .record import Recording


def _palette_image(config: nj.Config):
    """A PIL 'P' image whose palette holds every colour `render` uses in a world of
    `config` (exact GIF colours); with professions on the resource tiles' colours come
    last, so without them the palette, and the GIF's bytes, are v1.3's."""
    resources = PROFESSION_TILE_COLORS[len(TILE_COLORS):] if config.professions else np.zeros((0, 3))
    colors = np.concatenate([TILE_COLORS, population_colors(16), STYLE_COLORS,
                             np.stack([OUTLINE_COLOR, DEATH_COLOR, HEALTH_FULL_COLOR,
                                       HEALTH_EMPTY_COLOR]), NPC_COLORS, resources]).astype(np.uint8)
    pal = Image.new("P", (1, 1))
    flat = colors.reshape(-1).tolist()
    pal.putpalette(flat + flat[:3] * (256 - len(colors)))
    return pal


def write_gif(rec: Recording, path: str | Path, scale: int = 4, fps: float = 10.0,
              every: int = 1) -> Path:
    """An animated GIF of every `every`-th frame at `scale` pixels per tile."""
    if not isinstance(every, int) or every < 1:
        raise ValueError(f"every={every!r}: must be an integer >= 1")
    if not fps > 0:
        raise ValueError(f"fps={fps!r}: must be > 0")
    pal = _palette_image(rec.config)
    frames = [Image.fromarray(rec.frame_image(f, scale, tiles)).quantize(palette=pal, dither=0)
              for f, tiles in enumerate(rec.iter_tiles()) if f % every == 0]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=int(1000 / fps),
                   loop=0, optimize=False)
    return path


def write_pngs(rec: Recording, directory: str | Path, every: int, scale: int = 8) -> list[Path]:
    """PNG frames tick_<f>.png of every `every`-th frame (and the last) into directory."""
    if not isinstance(every, int) or every < 1:
        raise ValueError(f"every={every!r}: must be an integer >= 1")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    last = rec.num_frames - 1
    paths = []
    for f, tiles in enumerate(rec.iter_tiles()):
        if f % every == 0 or f == last:
            p = directory / f"tick_{f:06d}.png"
            Image.fromarray(rec.frame_image(f, scale, tiles)).save(p)
            paths.append(p)
    return paths
