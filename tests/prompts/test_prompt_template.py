import pytest

from store.prompts import template as tpl


def test_variables_tolerate_whitespace_and_keep_first_use_order():
    assert tpl.variable_names("{{b}} {{ a }} {{b}} {{  c.d-e  }}") == ["b", "a", "c.d-e"]


def test_triple_braces_are_the_same_variable():
    assert tpl.render_text("<{{{x}}}>", {"x": "1"}) == "<1>"


def test_backslash_escapes_braces_and_stray_braces_stay_literal():
    parsed = tpl.parse(r"\{{x}} and {{ not a var }}")
    assert parsed.names == []
    assert parsed.stray  # the second one is reported
    assert tpl.render_text(r"\{{x}} {{x}}", {"x": "v"}) == "{{x}} v"
    assert tpl.render_text('json: {{"a": 1}}', {}) == 'json: {{"a": 1}}'


def test_strict_render_names_every_missing_variable():
    with pytest.raises(tpl.MissingVariables) as info:
        tpl.render_text("{{a}} {{b}} {{a}}", {})
    assert info.value.names == ["a", "b"]
    assert "{{a}}" in str(info.value)
    assert tpl.render_text("{{a}} {{b}}", {"a": 1}, strict=False) == "1 {{b}}"


def test_escape_round_trips():
    text = "literal {{x}}"
    assert tpl.render_text(tpl.escape(text), {"x": "no"}) == text
