"""`[scoring.model]` in the configuration file: read, defaulted, and mistakes named by key path."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config, parse_config

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"


def example(**model: object) -> dict[str, object]:
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    data["scoring"]["model"] = model
    return data


def test_the_example_documents_the_model_section_and_it_means_no_model() -> None:
    config = load_config(EXAMPLE, environ={})
    assert config.scoring.model.path == ""
    assert (config.scoring.model.hot, config.scoring.model.warm) == (0.5, 0.2)


def test_thresholds_are_read_and_mistakes_named_by_key_path() -> None:
    config = parse_config(example(path="models/purchase.joblib", hot=0.7, warm=0.3), environ={})
    assert config.scoring.model.path == "models/purchase.joblib"
    assert config.scoring.model.hot == 0.7
    with pytest.raises(ConfigError, match=r"scoring\.model: warm \(0\.6\) must be below hot \(0\.5\)"):
        parse_config(example(warm=0.6), environ={})
    with pytest.raises(ConfigError, match=r"scoring\.model\.hot"):
        parse_config(example(hot=1.5), environ={})
    with pytest.raises(ConfigError, match=r"scoring\.model\.treshold"):
        parse_config(example(treshold=0.5), environ={})
