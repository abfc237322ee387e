"""view_link: a URL's parameters are untrusted; every value is checked, a bad one is dropped with a message
naming the parameter, and nothing any mapping of strings holds can raise."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from lstm_viz.explore.view_link import (KNOWN_PARAMS, MAX_INPUT_CHARS, ViewLink, parse_view_link,
                                        view_link_params)

pytestmark = pytest.mark.timeout(60)


def test_a_full_view_round_trips() -> None:
    link = ViewLink(projector=True, model="run:Tutorial tagger (2)", input="The dog ate the apple", layer=1,
                    direction=1, units=(3, 0, 17), gate="f", token=4)
    params = view_link_params(link)
    assert params == {"projector": "1", "model": "run:Tutorial tagger (2)", "input": "The dog ate the apple",
                      "layer": "1", "direction": "1", "units": "3,0,17", "gate": "f", "token": "4"}
    assert parse_view_link(params) == (link, ())
    assert parse_view_link({}) == (ViewLink(), ())


@pytest.mark.parametrize("name, value, says", [
    ("model", "run:../../etc/passwd", "'model' must look like"),
    ("model", "file:..\\secret", "'model' must look like"),
    ("model", "../x", "'model' must look like"),
    ("model", "run:" + "a" * 500, "at most 120"),
    ("input", "x" * 10_240, "10,240 characters long"),
    ("input", "abc\x00\x01def", "control characters"),
    ("layer", "abc", "'layer' must be a whole number from 0 to 63"),
    ("layer", "-1", "'layer' must be a whole number"),
    ("layer", "1e3", "'layer' must be a whole number"),
    ("layer", "64", "from 0 to 63"),
    ("direction", "2", "from 0 to 1"),
    ("units", "1,2,x", "'units' must be a whole number"),
    ("units", ",".join(["1"] * 65), "1 to 64 unit ids"),
    ("units", "9" * 5000, "'units' must be a whole number"),
    ("gate", "<script>", "'gate' must be one of"),
    ("token", "0.5", "'token' must be a whole number"),
    ("projector", "maybe", "'projector' must be 1 or 0"),
])
def test_hostile_values_are_dropped_with_a_message(name: str, value: str, says: str) -> None:
    link, problems = parse_view_link({name: value, "gate": "i"} if name != "gate" else {name: value})
    assert getattr(link, name) is None
    assert len(problems) == 1 and says in problems[0] and problems[0].endswith("ignored.")
    if name != "gate":
        assert link.gate == "i"  # the rest of the link still applies


def test_unknown_parameters_are_named_and_streamlits_own_left_alone() -> None:
    link, problems = parse_view_link({"foo": "1", "x" * 300: "2", "embed": "true", "layer": "0"})
    assert link == ViewLink(layer=0)
    assert len(problems) == 1 and "'foo'" in problems[0] and "x" * 40 + "..." in problems[0]
    assert "x" * 41 not in problems[0]  # a 300-character name is not echoed whole
    for known in KNOWN_PARAMS:
        assert known in problems[0]


def test_repeated_values_take_the_last_and_units_dedupe() -> None:
    link, problems = parse_view_link({"layer": ["0", "2"], "units": "4, 4,5"})
    assert (link.layer, link.units, problems) == (2, (4, 5), ())


def test_input_at_the_limit_is_kept() -> None:
    text = "w " * (MAX_INPUT_CHARS // 2)
    assert parse_view_link({"input": text})[0].input == text


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(list(KNOWN_PARAMS) + ["other", "embed"]),
                       st.one_of(st.text(max_size=300), st.lists(st.text(max_size=20), max_size=3)), max_size=9))
def test_no_mapping_of_strings_can_raise(params) -> None:
    link, problems = parse_view_link(params)
    assert isinstance(link, ViewLink) and all(isinstance(p, str) and p for p in problems)
    again, more = parse_view_link(view_link_params(link))  # what was kept is a valid link
    assert again == link and more == ()
