"""The example configs in data/examples/ load and validate."""

from aioa.attribution import load_attribution
from aioa.pricing.catalog import load_overrides
from aioa.settings import PROJECT_ROOT

EXAMPLES = PROJECT_ROOT / "data" / "examples"


def test_example_configs_are_valid():
    config = load_attribution(EXAMPLES / "attribution.yaml")
    assert [project.group for project in config.projects] == ["checkout", "checkout"]
    overrides, digest = load_overrides(EXAMPLES / "price-overrides.yaml")
    assert [entry.model for entry in overrides] == ["deepseek-chat", "acme-internal-*"] and len(digest) == 12
