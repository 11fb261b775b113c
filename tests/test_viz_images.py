"""viz.images: the GIF and PNG frames are the drawn frames."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import nmmo_jax as nj
from tests.test_viz_record import synthetic_recording
from viz.images import write_gif, write_pngs


def test_gif_and_pngs_hold_the_rendered_frames(tmp_path):
    rec = synthetic_recording(nj.Config.small(), 40)
    gif = Image.open(write_gif(rec, tmp_path / "r.gif", scale=3, every=5))
    assert gif.n_frames == 9  # frames 0, 5, ..., 40
    gif.seek(2)
    assert (np.asarray(gif.convert("RGB")) == rec.frame_image(10, scale=3)).all()
    paths = write_pngs(rec, tmp_path / "png", every=15, scale=2)
    assert [p.name for p in paths] == ["tick_000000.png", "tick_000015.png", "tick_000030.png",
                                       "tick_000040.png"]
    assert (np.asarray(Image.open(paths[1]).convert("RGB")) == rec.frame_image(15, scale=2)).all()
    with pytest.raises(ValueError, match="every"):
        write_gif(rec, tmp_path / "x.gif", every=0)
