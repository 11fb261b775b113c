"""scripts.generalisation: its settings are valid Params changes, its command line
refuses bad names in one line, and its report's differences carry the right numbers."""
import math

import numpy as np
import pytest

import nmmo_jax as nj
from scripts.generalisation import SETTINGS, difference, parse_args, report


def row(fresh: float, fresh_se: float, settled: float, settled_se: float) -> dict:
    return {"fresh": {"mean_alive": fresh, "se_alive": fresh_se},
            "settled": {"mean_alive": settled, "se_alive": settled_se}}


def test_every_setting_is_a_valid_change_of_the_default_world():
    config = nj.Config.preset("default")
    for name, changes in SETTINGS.items():
        params = nj.default_params(config, **changes)
        nj.check_params(params, config)
        for field, value in changes.items():
            assert np.array_equal(getattr(params, field),
                                  np.asarray(value, getattr(params, field).dtype)), (name, field)
    assert SETTINGS["default"] == {}


def test_difference_is_b_minus_a_with_the_root_of_summed_variances():
    d, se = difference({"mean_alive": 100.0, "se_alive": 3.0}, {"mean_alive": 90.0, "se_alive": 4.0})
    assert (d, se) == (-10.0, 5.0)


def test_report_compares_each_later_trained_policy_with_the_first():
    results = {
        "default": {"a": row(100, 3, 120, 1), "b": row(96, 4, 121, 1), "c": row(101, 0, 120, 0),
                    "forager": row(90, 2, 110, 1)},
        "hard": {"a": row(50, 1, 60, 2), "b": row(56, 1, 66, 2), "c": row(52, 1, 60, 2),
                 "forager": row(40, 1, 45, 1)},
        "harder": {"a": row(30, 2, 40, 1), "b": row(38, 2, 44, 1), "c": row(30, 2, 40, 1),
                   "forager": row(20, 1, 25, 1)},
    }
    text = report(results, ["a", "b", "c"]).splitlines()
    assert text[0] == "| setting | a | b | c | forager |"
    assert text[2] == ("| default | 100.0 ± 3.0 \\| 120.0 ± 1.0 | 96.0 ± 4.0 \\| 121.0 ± 1.0 | "
                       "101.0 ± 0.0 \\| 120.0 ± 0.0 | 90.0 ± 2.0 \\| 110.0 ± 1.0 |")
    b_rows = text[text.index("| setting | b - a, fresh | settled |") + 2:]
    assert b_rows[:3] == ["| default | -4.0 ± 5.0 | +1.0 ± 1.4 |",
                          "| hard | +6.0 ± 1.4 | +6.0 ± 2.8 |",
                          "| harder | +8.0 ± 2.8 | +4.0 ± 1.4 |"]
    # The held-out mean leaves `default` out: (6 + 8) / 2 = 7, SE sqrt(2 + 8) / 2.
    assert b_rows[3] == f"| mean of 2 held-out | +7.0 ± {math.sqrt(10) / 2:.1f} | +5.0 ± 1.6 |"
    c_rows = text[text.index("| setting | c - a, fresh | settled |") + 2:]
    assert c_rows[3] == "| mean of 2 held-out | +1.0 ± 1.6 | +0.0 ± 1.6 |"
    assert not any("c - b" in line for line in text)
    # One trained policy: the table alone.
    assert "- a" not in report(results, ["a"])


@pytest.mark.parametrize("argv, message", [
    (["a=runs/x", "--settings", "default,windy"], "--settings: unknown ['windy']"),
    (["a=runs/x", "--yardsticks", "forager,psychic"], "--yardsticks: unknown ['psychic']"),
    (["runs/x"], "policies: each must be NAME=RUN"),
])
def test_bad_arguments_are_refused_in_one_line(capsys, argv, message):
    with pytest.raises(SystemExit):
        parse_args(argv)
    assert message in capsys.readouterr().err.strip().splitlines()[-1]


def test_arguments_read_back():
    args = parse_args(["default=runs/a", "randomized=runs/b", "--settings", "default,thirsty",
                       "--yardsticks", ""])
    assert args.policies == {"default": "runs/a", "randomized": "runs/b"}
    assert args.settings == ["default", "thirsty"] and args.yardsticks == []
