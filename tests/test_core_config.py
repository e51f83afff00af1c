"""Typed configs: validation on construction and on replace, flags and spec options derived from the fields."""

from __future__ import annotations

import argparse
import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracklift.core.config import add_config_flags, config, config_from_args, config_from_spec, option


@config
class Example:
    voxel: float = option(0.03, "voxel size, metres", low=1e-4, high=10.0)
    count: int = option(3, "how many", low=1)
    mode: str = option("fused", "association", choices=("fused", "spatial"))
    enabled: bool = option(True, "whether on")
    sizes: tuple[int, ...] = option((1, 2), "sizes in pixels", low=0)
    limit: float | None = option(None, "optional limit", low=0.0)


def test_defaults_are_valid_and_frozen():
    c = Example()
    assert (c.voxel, c.count, c.mode, c.enabled, c.sizes, c.limit) == (0.03, 3, "fused", True, (1, 2), None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.count = 4


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"voxel": -1.0}, "Example.voxel must be ≥ 0.0001, got -1.0"),
        ({"voxel": 11.0}, "Example.voxel must be ≤ 10.0, got 11.0"),
        ({"count": 1.5}, "Example.count must be int, got 1.5"),
        ({"count": True}, "Example.count must be int, got True"),
        ({"mode": "x"}, "Example.mode must be one of fused, spatial, got 'x'"),
        ({"sizes": (1, -1)}, "Example.sizes must be ≥ 0, got -1"),
        ({"voxel": float("nan")}, "Example.voxel must be a number, got NaN"),
        ({"count": None}, "Example.count must be set, got None"),
    ],
)
def test_out_of_bounds_is_a_clear_error(bad, message):
    with pytest.raises(ValueError) as err:
        Example(**bad)
    assert str(err.value) == message


def test_replace_validates_again():
    with pytest.raises(ValueError, match="Example.count must be ≥ 1, got 0"):
        dataclasses.replace(Example(), count=0)
    assert dataclasses.replace(Example(), count=7).count == 7


def test_flags_from_fields():
    parser = argparse.ArgumentParser()
    add_config_flags(parser, Example, dest_prefix="ex_")
    assert config_from_args(Example, parser.parse_args([]), dest_prefix="ex_") == Example()
    args = parser.parse_args(["--voxel", "0.05", "--no-enabled", "--mode", "spatial", "--limit", "2"])
    assert config_from_args(Example, args, dest_prefix="ex_") == Example(
        voxel=0.05, enabled=False, mode="spatial", limit=2.0
    )
    assert not hasattr(args, "ex_sizes")  # tuples have no flag


def test_flags_can_be_renamed_and_selected():
    parser = argparse.ArgumentParser()
    add_config_flags(parser, Example, {"count": "--how-many"})
    args = parser.parse_args(["--how-many", "9"])
    assert config_from_args(Example, args, voxel=0.1) == Example(count=9, voxel=0.1)
    with pytest.raises(SystemExit):
        parser.parse_args(["--voxel", "1"])


def test_spec_options():
    assert config_from_spec(Example, "count=5, enabled=false", "demo spec") == Example(count=5, enabled=False)
    assert config_from_spec(Example, "", "demo spec") == Example()
    for text, message in [
        ("count=-5", "demo spec: Example.count must be ≥ 1, got -5"),
        ("zz=1", "demo spec: unknown option 'zz' (options: count, enabled, limit, mode, voxel)"),
        ("count=x", "demo spec: option count must be int, got 'x'"),
        ("count", "demo spec: option 'count' is not key=value"),
        ("enabled=maybe", "demo spec: option enabled must be true or false, got 'maybe'"),
    ]:
        with pytest.raises(ValueError) as err:
            config_from_spec(Example, text, "demo spec")
        assert str(err.value) == message


@given(st.integers(-5, 5), st.floats(-1, 20, allow_nan=False))
def test_validation_matches_the_bounds(count, voxel):
    valid = count >= 1 and 1e-4 <= voxel <= 10.0
    try:
        Example(count=count, voxel=voxel)
        assert valid
    except ValueError:
        assert not valid


OTHER_CONFIGS = {"ScanRealism", "DepthNoise", "Corruption"}


def test_every_config_class_is_typed():
    """Every `*Config` class of the library is a frozen dataclass validated on construction and built from
    `option` fields (nested configs aside), so no config can be changed after it is built or hold a bad value."""
    import importlib
    import pkgutil

    import tracklift

    checked = []
    for info in pkgutil.walk_packages(tracklift.__path__, "tracklift."):
        module = importlib.import_module(info.name)
        for name, cls in vars(module).items():
            if not (
                isinstance(cls, type)
                and cls.__module__ == info.name
                and (name.endswith("Config") or name in OTHER_CONFIGS)
            ):
                continue
            checked.append(name)
            assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen, name
            for f in dataclasses.fields(cls):
                nested = f.default_factory is not dataclasses.MISSING or f.default is dataclasses.MISSING
                assert nested or "help" in f.metadata, f"{name}.{f.name} is not an option()"
                assert not isinstance(f.default, (list, dict, set)), f"{name}.{f.name} has a mutable default"
    assert len(checked) == 32, sorted(checked)
