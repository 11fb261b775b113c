"""nmmo_jax.config: the scale presets and the validation of every field."""
import pytest

import nmmo_jax as nj


def test_presets_by_name():
    assert nj.Config.PRESETS == ("small", "default", "large")
    assert nj.Config.preset("default") == nj.Config()
    small = nj.Config.preset("small")
    assert (small.map_size, small.num_agents, small.num_populations, small.max_entities) == (32, 16, 4, 8)
    assert small == nj.Config.small()
    large = nj.Config.preset("large", vision=5)
    assert (large.map_size, large.num_agents, large.num_populations, large.vision) == (256, 1024, 16, 5)
    assert large == nj.Config.large(vision=5)


def test_unknown_preset_lists_the_names():
    with pytest.raises(ValueError, match="unknown preset 'huge': choose one of small, default, large"):
        nj.Config.preset("huge")
