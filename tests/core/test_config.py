import pytest

from core.config import DEFAULT_CONFIG_TEXT, Config, ConfigError, load_config


def test_missing_file_means_defaults(tmp_path):
    cfg = load_config(tmp_path / "agentpref.toml")
    assert cfg.mining.margin == 1.0
    assert cfg.checks.weight("tests.ignored_failure") > cfg.checks.weight("edit.unread")


def test_default_text_parses_to_defaults(tmp_path):
    path = tmp_path / "agentpref.toml"
    path.write_text(DEFAULT_CONFIG_TEXT)
    assert load_config(path) == Config()


def test_overrides(tmp_path):
    path = tmp_path / "agentpref.toml"
    path.write_text('[checks]\nweights = { "loop.repeat" = 7 }\n[mining]\nmargin = 2.5\n')
    cfg = load_config(path)
    assert cfg.checks.weight("loop.repeat") == 7
    assert cfg.mining.margin == 2.5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[mining]\nmargn = 2\n", "mining.margn: Extra inputs"),
        ("[mining]\nmargin = 'big'\n", "mining.margin"),
        ("[checks\n", "not valid TOML"),
        ("[minning]\nmargin = 5\n", "minning: Extra inputs"),
        ("[minning]\nmargin = 5\n", "minning: Extra inputs"),
    ],
)
def test_bad_config_names_file_and_key(tmp_path, text, expected):
    path = tmp_path / "agentpref.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value) and expected in str(info.value)


def test_unknown_check_ids_in_weights_or_disabled_are_errors():
    from core.config import check_ids

    config = Config.model_validate(
        {"checks": {"weights": {"tests.neverrun": 9}, "disabled": ["loop.repeat"]}}
    )
    with pytest.raises(ConfigError, match=r"unknown check\(s\) tests\.neverrun"):
        check_ids(config, {"loop.repeat", "tests.never_run"})


def test_the_sandbox_section_defaults_to_refusing_unconfined_runs(tmp_path):
    assert Config().sandbox.allow_unconfined is False
    assert "[sandbox]\n" in DEFAULT_CONFIG_TEXT
    path = tmp_path / "agentpref.toml"
    path.write_text("[sandbox]\nallow_unconfined = true\n")
    assert load_config(path).sandbox.allow_unconfined is True
    path.write_text("[sandbox]\nallow_unconfind = true\n")
    with pytest.raises(ConfigError, match=r"sandbox\.allow_unconfind"):
        load_config(path)


def test_the_label_section_sets_blind_mode_and_its_keys_are_remappable(tmp_path):
    assert Config().label.blind is False
    assert "[label]\nblind = false" in DEFAULT_CONFIG_TEXT
    path = tmp_path / "agentpref.toml"
    path.write_text('[label]\nblind = true\n[keys]\n"label.blind" = "z"\n"label.copy" = "c"\n')
    config = load_config(path)
    assert config.label.blind is True and config.keys == {"label.blind": "z", "label.copy": "c"}
    path.write_text("[label]\nblnd = true\n")
    with pytest.raises(ConfigError, match=r"label\.blnd"):
        load_config(path)


def test_the_default_text_lists_every_setting_with_its_default_value():
    """The default TOML is generated from the models: every setting, with its default."""
    import tomllib

    written = tomllib.loads(DEFAULT_CONFIG_TEXT)
    defaults = Config()
    for name, field in Config.model_fields.items():
        section = getattr(defaults, name)
        if not hasattr(type(section), "model_fields"):
            continue  # [keys]: a free mapping
        table = written[field.alias or name]
        for key in type(section).model_fields:
            if (name, key) == ("checks", "weights"):
                assert "weights" in DEFAULT_CONFIG_TEXT  # shown as a comment: defaults live in code
                continue
            assert key in table, f"[{field.alias or name}] {key} missing from DEFAULT_CONFIG_TEXT"
            assert table[key] == getattr(section, key), f"[{field.alias or name}] {key} differs"


def test_the_default_text_explains_each_setting_with_its_description():
    """The text is generated from the models: each Field's description is its comment."""
    flat = " ".join(DEFAULT_CONFIG_TEXT.replace("#", " ").split())
    for name, field in Config.model_fields.items():
        section = getattr(Config(), name)
        fields = type(section).model_fields if hasattr(type(section), "model_fields") else {name: field}
        for key, inner in fields.items():
            if inner.description:
                about = " ".join(inner.description.split())
                assert about in flat, f"[{field.alias or name}] {key}: its description is not in the text"
