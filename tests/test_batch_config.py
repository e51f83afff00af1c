"""`tracklift batch`'s --retries and --cpus-per-scene come from BatchConfig's fields, with its bounds."""

import argparse

from tracklift.batch.cli import configure
from tracklift.batch.driver import BatchConfig
from tracklift.cli import main
from tracklift.core.config import config_from_args


def parse(*flags: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    configure(parser)
    return parser.parse_args(["root", "--out", "out", *flags])


def test_flags_keep_their_names_and_defaults():
    assert config_from_args(BatchConfig, parse()) == BatchConfig(retries=1, cpus=1)
    assert config_from_args(BatchConfig, parse("--retries", "0", "--cpus-per-scene", "3")) == BatchConfig(0, 3)


def test_out_of_range_is_refused_before_any_work(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["batch", str(tmp_path), "--out", str(out), "--cpus-per-scene", "0"]) == 2
    assert "tracklift batch: error: BatchConfig.cpus must be ≥ 1, got 0" in capsys.readouterr().err
    assert not out.exists()
