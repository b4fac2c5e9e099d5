"""Every template of the Automations page is a valid rule."""

import pytest

from aioa.rules.spec import parse_rule_yaml
from aioa.rules.templates import TEMPLATES


@pytest.mark.parametrize("title", list(TEMPLATES))
def test_each_template_parses(title):
    rule = parse_rule_yaml(TEMPLATES[title])
    assert rule.name and rule.actions
