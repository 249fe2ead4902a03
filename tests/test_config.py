"""Config resolution: files, --set overrides and one-line errors."""

from __future__ import annotations

import pytest
from pydantic import Field

from seek import AppConfig, ConfigError
from seek.config import dump_toml, load_config_file, parse_overrides, resolve_config


class Inner(AppConfig):
    depth: int = Field(2, ge=1, le=8, description="Depth.")


class Sample(AppConfig):
    lr: float = Field(1e-3, gt=0, description="Learning rate.")
    name: str = "x"
    model: Inner = Field(default_factory=Inner)


def test_set_values_parse_json_literals_and_nest_on_dots():
    assert parse_overrides(["lr=1e-3", "model.depth=4", "name=abc", "flag=true", "xs=[1,2]"]) == {
        "lr": 0.001,
        "model": {"depth": 4},
        "name": "abc",
        "flag": True,
        "xs": [1, 2],
    }


def test_file_then_overrides_take_precedence(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("lr = 0.5\n[model]\ndepth = 3\n")
    config = resolve_config(Sample, path, ["model.depth=5"])
    assert (config.lr, config.model.depth) == (0.5, 5)


@pytest.mark.parametrize(
    "suffix, text", [(".yaml", "lr: 0.25\nmodel:\n  depth: 7\n"), (".json", '{"lr": 0.25, "model": {"depth": 7}}')]
)
def test_yaml_and_json_files_resolve(tmp_path, suffix, text):
    path = tmp_path / f"c{suffix}"
    path.write_text(text)
    config = resolve_config(Sample, path)
    assert (config.lr, config.model.depth) == (0.25, 7)


def test_unknown_key_names_the_key_and_value():
    with pytest.raises(ConfigError, match=r"config key 'model.width': unknown key \(given 3\)"):
        resolve_config(Sample, None, ["model.width=3"])


def test_wrong_type_names_key_value_and_expectation():
    with pytest.raises(ConfigError) as info:
        resolve_config(Sample, None, ["model.depth=deep"])
    assert (
        str(info.value) == "config key 'model.depth': got 'deep'; expected input should be a valid integer, "
        "unable to parse string as an integer"
    )
    assert info.value.exit_code == 2


def test_out_of_range_value_names_the_bound():
    with pytest.raises(ConfigError, match=r"'model.depth': got 9; expected input should be less than or equal to 8"):
        resolve_config(Sample, None, ["model.depth=9"])


def test_bad_toml_syntax_is_one_line(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("lr = = 3\n")
    with pytest.raises(ConfigError, match=r"bad.toml: invalid TOML syntax") as info:
        load_config_file(path)
    assert "\n" not in str(info.value)


def test_missing_and_unsupported_files(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config_file(tmp_path / "nope.toml")
    other = tmp_path / "c.ini"
    other.write_text("x=1")
    with pytest.raises(ConfigError, match="unsupported config format '.ini'"):
        load_config_file(other)


def test_set_without_equals_is_rejected():
    with pytest.raises(ConfigError, match="expected key=value"):
        parse_overrides(["lr"])


def test_dump_toml_round_trips_through_tomllib():
    import tomllib

    data = {"lr": 0.5, "name": 'q"uote', "flag": False, "model": {"depth": 3, "sizes": [1, 2]}}
    assert tomllib.loads(dump_toml(data)) == data


class _Lgbm(AppConfig):
    num_leaves: int = 15
    max_depth: int = 6


class _Nested(AppConfig):
    lgbm: _Lgbm = _Lgbm()
    extra_params: dict[str, float] = {"learning_rate": 0.1, "lambda_l2": 1.0}


def test_a_nested_value_merges_into_the_defaults():
    config = resolve_config(_Nested, overrides=["lgbm.num_leaves=7", "extra_params.lambda_l2=2"])
    assert (config.lgbm.num_leaves, config.lgbm.max_depth) == (7, 6)
    assert config.extra_params == {"learning_rate": 0.1, "lambda_l2": 2.0}


def test_an_unknown_nested_key_is_an_error():
    with pytest.raises(ConfigError, match="'lgbm.num_leavs': unknown key"):
        resolve_config(_Nested, overrides=["lgbm.num_leavs=7"])


def test_a_huge_given_value_is_cut_so_the_error_stays_one_short_line():
    with pytest.raises(ConfigError) as info:
        resolve_config(_Lgbm, overrides=["num_leaves=" + "x" * 100_000])
    assert len(str(info.value)) < 250 and "..." in str(info.value)
