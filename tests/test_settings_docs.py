"""docs/settings.md lists exactly the settings the code has (so the operator's table stays true)."""

from __future__ import annotations

import re

from fakewatch.settings import ENV_PREFIX, REPO_ROOT, Settings


def test_every_setting_is_documented_and_nothing_else() -> None:
    text = (REPO_ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    documented = {name.lower() for name in re.findall(rf"`{ENV_PREFIX}([A-Z0-9_]+)`", text)}
    opt_in = {"env_file", "secrets_dir"}  # the two opt-in sources, not fields
    assert documented - opt_in == set(Settings.model_fields), (
        f"undocumented: {sorted(set(Settings.model_fields) - documented)}; "
        f"documented but gone: {sorted(documented - opt_in - set(Settings.model_fields))}"
    )
