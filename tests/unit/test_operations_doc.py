"""docs/operations.md lists every setting with its default, and every metric."""

from __future__ import annotations

from pathlib import Path

from infrastructure.settings import Settings

DOC = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text()


def test_every_setting_is_documented_with_its_default() -> None:
    for name, field in Settings.model_fields.items():
        variable = f"WMS_INTAKE_{name.upper()}"
        rows = [line for line in DOC.splitlines() if line.startswith(f"| `{variable}` |")]
        assert len(rows) == 1, f"{variable} is not in the settings table of docs/operations.md"
        default = field.default
        if default is None:
            shown = "unset"
        elif default == "":
            shown = "empty"
        elif isinstance(default, bool):
            shown = f"`{str(default).lower()}`"
        elif isinstance(default, float) and default.is_integer() and name not in ("geocoder_rate_per_second",):
            shown = f"`{int(default)}`"
        else:
            shown = f"`{default}`"
        assert rows[0].split("|")[2].strip() == shown, (variable, rows[0])


def test_every_metric_name_is_documented() -> None:
    from interfaces.http.metrics import Metrics

    names = {family.name for family in Metrics().registry.collect()}
    for name in names:
        assert f"`{name}" in DOC, f"metric {name} is not described in docs/operations.md"
