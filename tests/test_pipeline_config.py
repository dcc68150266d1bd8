import pytest

from edgefact.errors import EdgefactError
from edgefact.pipeline.config import config_keys, load_config_file, make_config


def test_cli_overrides_config_file(tmp_path):
    cfg_file = tmp_path / "edgefact.toml"
    cfg_file.write_text('[build]\ntarget = "cortex-m4"\ncluster = 8\nepochs = 2\n')
    cfg = make_config(load_config_file(cfg_file), {"cluster": 4, "target": None})
    assert cfg.target == "cortex-m4"
    assert cfg.cluster == 4
    assert cfg.epochs == 2.0 and isinstance(cfg.epochs, float)


def test_every_key_is_accepted_in_a_config_file(tmp_path):
    from edgefact.pipeline.config import BuildConfig

    defaults = BuildConfig()
    lines = []
    for key in config_keys():
        value = getattr(defaults, key)
        if value is None:
            continue
        lines.append(f"{key} = {value!r}".replace("True", "true").replace("False", "false").replace("'", '"'))
    f = tmp_path / "all.toml"
    f.write_text("\n".join(lines))
    assert make_config(load_config_file(f), {}) == defaults


@pytest.mark.parametrize(
    "text, needle",
    [
        ("bogus = 1", "unknown key(s)"),
        ("cluster = 1", "--cluster"),
        ('factorize = "magic"', "unknown factorization"),
        ('epochs = "many"', "epochs"),
        ("target = [", "not valid TOML"),
    ],
)
def test_bad_config_gives_clear_error(tmp_path, text, needle):
    f = tmp_path / "c.toml"
    f.write_text(text)
    with pytest.raises(EdgefactError, match=None) as exc:
        make_config(load_config_file(f), {})
    assert needle in str(exc.value)
