"""Rubric files: loading, exhaustive validation, score forms and frozen fingerprints."""

from __future__ import annotations

import dataclasses

import pytest

from scoring import (
    RubricError,
    RubricFrozenError,
    check_rubric_change,
    get_rubric,
    list_rubrics,
    load_rubric_file,
    load_rubric_text,
    rubric_fingerprint,
)


def errors_of(text: str, write_rubric) -> list[str]:
    with pytest.raises(RubricError) as info:
        load_rubric_file(write_rubric(text))
    return info.value.errors


def test_valid_file_loads_into_frozen_dataclasses(write_rubric, rubric_text):
    rubric = load_rubric_file(write_rubric(rubric_text))
    assert rubric.id == "mini" and rubric.version == 1
    assert rubric.criterion_ids == ("needs", "design")
    needs = rubric.criterion("needs")
    assert needs.weight == 2 and needs.min_to_pass == 2
    assert needs.scale.levels == (0, 1, 2, 3, 4)
    assert needs.scale.anchor(4).ru == "Полностью"
    assert rubric.title.get("fr") == "Mini" and rubric.title.get("de") == "Mini"
    with pytest.raises(dataclasses.FrozenInstanceError):
        rubric.version = 2  # type: ignore[misc]


def test_min_greater_than_max_names_file_and_criterion(write_rubric, rubric_text):
    text = rubric_text.replace("min = 0\nmax = 4", "min = 5\nmax = 1", 1)
    assert errors_of(text, write_rubric) == [
        "mini.toml: criterion 'needs': min (5) is greater than max (1)"
    ]


def test_every_problem_is_reported_at_once(write_rubric, rubric_text):
    text = 'extra = "x"\n' + (
        rubric_text.replace("weight = 2\n", "", 1)  # missing weight
        .replace('id = "design"', 'id = "needs"')  # duplicate id
        .replace("step = 1", "step = 3", 1)  # 3 does not divide 0..4
        .replace("weight = 1\n", "weight = 0\ncolour = 'red'\n", 1)  # non-positive + unknown key
    )
    errors = errors_of(text, write_rubric)
    assert "mini.toml: unknown key 'extra'" in errors
    assert "mini.toml: criterion 'needs': missing 'weight'" in errors
    assert "mini.toml: criterion 'needs': step (3) does not divide the range 0..4" in errors
    assert "mini.toml: criterion 'needs': duplicate id (also criterion #1)" in errors
    assert "mini.toml: criterion 'needs': 'weight' must be positive, got 0" in errors
    assert "mini.toml: criterion 'needs': unknown key 'colour'" in errors
    assert len(errors) == 6


def test_bad_toml_syntax_is_a_rubric_error_with_position(write_rubric):
    [message] = errors_of('id = "x"\nversion = = 1\n', write_rubric)
    assert message.startswith("mini.toml: invalid TOML:") and "line 2" in message


def test_missing_translation_and_anchor_are_reported(write_rubric, rubric_text):
    text = rubric_text.replace('ru = "Потребности"\n', "").replace(
        '[criteria.scale.anchors.5]\nen = "Strong"\nfr = "Solide"\nru = "Сильно"\n', ""
    )
    errors = errors_of(text, write_rubric)
    assert errors == [
        "mini.toml: criterion 'needs': 'label' is missing the 'ru' translation",
        "mini.toml: criterion 'design': missing anchor for level 5 "
        "(the min and max levels need one)",
    ]


def test_gate_must_be_on_the_scale(write_rubric, rubric_text):
    errors = errors_of(rubric_text.replace("min_to_pass = 2", "min_to_pass = 2.5"), write_rubric)
    assert errors == [
        "mini.toml: criterion 'needs': 'min_to_pass' 2.5 is not on the scale's step 1 (from 0)"
    ]


def test_builtin_rubrics_are_complete_in_three_languages():
    rubrics = {r.id: r for r in list_rubrics()}
    assert {"prevention-prize", "edpqs", "simple"} <= set(rubrics)
    assert len(rubrics["prevention-prize"].criteria) == 8
    assert len(rubrics["edpqs"].criteria) == 8
    assert [c.scale.max for c in rubrics["simple"].criteria] == [10]
    for rubric in (rubrics["prevention-prize"], rubrics["edpqs"], rubrics["simple"]):
        for c in rubric.criteria:
            assert len({c.label.en, c.label.ru}) == 2, c.id  # really translated
            assert c.scale.anchor(c.scale.min) and c.scale.anchor(c.scale.max)


def test_score_form_validation_lists_every_problem():
    rubric = get_rubric("prevention-prize")
    errors = rubric.validate_scores(
        {"innovation": 7, "needs-evidence": 2.5, "human-rights-ethics": 4, "bogus": 1},
        comments={},
        overall_comment="",
    )
    assert errors == [
        "unknown criterion 'bogus'",
        "criterion 'needs-evidence': score 2.5 is not on the scale's step 1 (from 0)",
        "criterion 'innovation': score 7 is outside the scale 0..5",
        "criterion 'human-rights-ethics': a comment is required",
        "an overall comment is required",
    ]
    assert rubric.validate_scores({"innovation": 3}, overall_comment="Good work") == []


def test_fingerprint_ignores_layout_but_not_content(write_rubric, rubric_text):
    original = load_rubric_file(write_rubric(rubric_text))
    reformatted = load_rubric_text(
        "# comment\n" + rubric_text.replace("weight = 2", "weight = 2.0")
    )
    assert rubric_fingerprint(reformatted) == rubric_fingerprint(original)
    changed = load_rubric_text(rubric_text.replace("weight = 2", "weight = 3"))
    assert rubric_fingerprint(changed) != rubric_fingerprint(original)


def test_changed_rubric_is_refused_once_scores_exist(rubric_text):
    pinned = rubric_fingerprint(load_rubric_text(rubric_text))
    changed = load_rubric_text(rubric_text.replace("weight = 2", "weight = 3"))
    check_rubric_change(pinned, changed, scores_exist=False)  # drafts may change freely
    check_rubric_change(pinned, load_rubric_text(rubric_text), scores_exist=True)
    with pytest.raises(RubricFrozenError, match="new version"):
        check_rubric_change(pinned, changed, scores_exist=True)
