"""Rubrics: TOML loading with exhaustive validation, score checks and fingerprints.

A rubric file is validated as a whole: every problem is collected and reported in
one `RubricError`, so an editor fixes the file in one pass instead of one error
per run.  The format is documented in docs/rubrics.md.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LANGUAGES: tuple[str, ...] = ("en", "fr", "ru")
OVERALL_COMMENT_MODES: tuple[str, ...] = ("none", "optional", "required")

# Float scales (step 0.5, 0.1 ...) are compared on a grid; this absorbs binary rounding.
_EPS = 1e-9
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")

_TOP_KEYS = {"id", "version", "title", "description", "overall_comment", "criteria"}
_CRITERION_KEYS = {"id", "label", "guidance", "scale", "weight", "min_to_pass", "comment_required"}
_SCALE_KEYS = {"min", "max", "step", "anchors"}


class RubricError(ValueError):
    """A rubric file (or dict) is invalid; `errors` lists every problem found."""

    def __init__(self, errors: Iterable[str]) -> None:
        self.errors: list[str] = list(errors)
        super().__init__("\n".join(self.errors))


class RubricFrozenError(RuntimeError):
    """A rubric was changed after scoring started; publish it as a new version instead."""


@dataclass(frozen=True, slots=True)
class Text:
    """A text translated into every UI language."""

    en: str
    fr: str
    ru: str

    def get(self, lang: str) -> str:
        """The text in `lang`, falling back to English for unknown languages."""
        return getattr(self, lang) if lang in LANGUAGES else self.en

    def as_dict(self) -> dict[str, str]:
        return {"en": self.en, "fr": self.fr, "ru": self.ru}


@dataclass(frozen=True, slots=True)
class Scale:
    """Allowed scores `min, min+step, ..., max`; `anchors` describe some levels."""

    min: float
    max: float
    step: float
    anchors: tuple[tuple[float, Text], ...] = ()

    @property
    def levels(self) -> tuple[float, ...]:
        """Every allowed score, ascending."""
        count = round((self.max - self.min) / self.step)
        return tuple(_tidy(self.min + k * self.step) for k in range(count + 1))

    def anchor(self, level: float) -> Text | None:
        """The anchor text describing `level`, if the rubric gives one."""
        for value, text in self.anchors:
            if abs(value - level) < _EPS:
                return text
        return None

    def check(self, value: float) -> str | None:
        """None if `value` is an allowed score, else a short reason."""
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            return f"score {value!r} is not a number"
        if value < self.min - _EPS or value > self.max + _EPS:
            return f"score {_fmt(value)} is outside the scale {_fmt(self.min)}..{_fmt(self.max)}"
        if not _on_grid(value - self.min, self.step):
            return (
                f"score {_fmt(value)} is not on the scale's step {_fmt(self.step)} "
                f"(from {_fmt(self.min)})"
            )
        return None

    def normalise(self, value: float) -> float:
        """Map `value` on [min, max] to [0, 1]."""
        return (value - self.min) / (self.max - self.min)


@dataclass(frozen=True, slots=True)
class Criterion:
    """One scored aspect of an application."""

    id: str
    label: Text
    guidance: Text
    scale: Scale
    weight: float
    min_to_pass: float | None = None
    comment_required: bool = False


@dataclass(frozen=True, slots=True)
class Rubric:
    """A versioned set of criteria; `source` (the file it came from) is not content."""

    id: str
    version: int
    title: Text
    criteria: tuple[Criterion, ...]
    overall_comment: str = "optional"
    description: Text | None = None
    source: str | None = field(default=None, compare=False)

    @property
    def criterion_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.criteria)

    def criterion(self, criterion_id: str) -> Criterion:
        """The criterion with this id; KeyError if absent."""
        for c in self.criteria:
            if c.id == criterion_id:
                return c
        raise KeyError(criterion_id)

    def score_errors(self, scores: Mapping[str, float | None]) -> list[str]:
        """Problems with the scores alone (unknown criteria, off-scale); None = not scored."""
        errors = [f"unknown criterion '{cid}'" for cid in scores if cid not in self.criterion_ids]
        for c in self.criteria:
            value = scores.get(c.id)
            if value is not None and (problem := c.scale.check(value)):
                errors.append(f"criterion '{c.id}': {problem}")
        return errors

    def validate_scores(
        self,
        scores: Mapping[str, float | None],
        *,
        comments: Mapping[str, str] | None = None,
        overall_comment: str | None = None,
    ) -> list[str]:
        """Check one juror's score form; return every problem (empty list = valid).

        None means "not scored" and is allowed (see the missing-score rule), but a
        criterion with `comment_required` needs a non-blank comment whenever it is
        scored, and `overall_comment = "required"` needs a non-blank overall comment.
        """
        errors = self.score_errors(scores)
        comments = comments or {}
        errors += [
            f"comment for unknown criterion '{cid}'"
            for cid in comments
            if cid not in self.criterion_ids
        ]
        for c in self.criteria:
            if (
                c.comment_required
                and scores.get(c.id) is not None
                and not (comments.get(c.id) or "").strip()
            ):
                errors.append(f"criterion '{c.id}': a comment is required")
        if self.overall_comment == "required" and not (overall_comment or "").strip():
            errors.append("an overall comment is required")
        return errors


# --------------------------------------------------------------------------- loading


def load_rubric_file(path: str | Path) -> Rubric:
    """Parse and validate a rubric TOML file; raise RubricError listing every problem."""
    path = Path(path)
    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RubricError([f"{name}: cannot read file: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError:
        raise RubricError([f"{name}: file is not valid UTF-8"]) from None
    return load_rubric_text(text, source=str(path), name=name)


def load_rubric_text(text: str, *, source: str | None = None, name: str = "<rubric>") -> Rubric:
    """Parse a rubric from TOML text; `name` prefixes error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RubricError([f"{name}: invalid TOML: {exc}"]) from None
    return parse_rubric(data, source=source, name=name)


def parse_rubric(
    data: Mapping[str, Any], *, source: str | None = None, name: str = "<rubric>"
) -> Rubric:
    """Build a Rubric from already-parsed TOML data, validating everything."""
    err = _Errors(name)
    _unknown_keys(data, _TOP_KEYS, err)
    rid = _slug(data.get("id"), None, err)
    version = _version(data.get("version"), err)
    title = _text(data.get("title"), "title", None, err, required=True)
    description = _text(data.get("description"), "description", None, err, required=False)
    overall = data.get("overall_comment", "optional")
    if overall not in OVERALL_COMMENT_MODES:
        err(f"'overall_comment' must be one of {', '.join(OVERALL_COMMENT_MODES)}, got {overall!r}")
    criteria = _criteria(data.get("criteria"), err)
    if err.messages:
        raise RubricError(err.messages)
    # Each part is parsed whenever no error was recorded.
    assert rid is not None and version is not None and title is not None
    return Rubric(
        id=rid,
        version=version,
        title=title,
        criteria=tuple(criteria),
        overall_comment=overall,
        description=description,
        source=source,
    )


def _version(raw: Any, err: _Errors) -> int | None:
    if raw is None:
        err("missing 'version'")
    elif isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        err(f"'version' must be a positive integer, got {raw!r}")
    else:
        return raw
    return None


def _criteria(raw: Any, err: _Errors) -> list[Criterion]:
    """The [[criteria]] tables in order; a duplicate id is reported where it repeats."""
    if raw is None:
        err("missing 'criteria' (at least one [[criteria]] table)")
        return []
    if not isinstance(raw, list) or not all(isinstance(c, dict) for c in raw):
        err("'criteria' must be an array of tables ([[criteria]])")
        return []
    if not raw:
        err("'criteria' is empty")
        return []
    criteria: list[Criterion] = []
    first: dict[str, int] = {}
    for index, table in enumerate(raw, start=1):
        cid = table.get("id")
        where = f"criterion '{cid}'" if isinstance(cid, str) else f"criterion #{index}"
        if isinstance(cid, str):
            if cid in first:
                err(f"duplicate id (also criterion #{first[cid]})", where)
            first.setdefault(cid, index)
        criterion = _criterion(table, where, err)
        if criterion is not None:
            criteria.append(criterion)
    return criteria


def _criterion(raw: Mapping[str, Any], where: str, err: _Errors) -> Criterion | None:
    """One [[criteria]] table; None (with every problem recorded) if it is invalid."""
    before = len(err.messages)
    _unknown_keys(raw, _CRITERION_KEYS, err, where)
    cid = _slug(raw.get("id"), where, err)
    label = _text(raw.get("label"), "label", where, err, required=True)
    guidance = _text(raw.get("guidance"), "guidance", where, err, required=True)
    weight = _number(raw.get("weight"), "weight", where, err, required=True)
    if weight is not None and weight <= 0:
        err(f"'weight' must be positive, got {_fmt(weight)}", where)
    comment_required = raw.get("comment_required", False)
    if not isinstance(comment_required, bool):
        err(f"'comment_required' must be true or false, got {comment_required!r}", where)
    scale = _scale(raw.get("scale"), where, err)
    gate = _number(raw.get("min_to_pass"), "min_to_pass", where, err, required=False)
    if gate is not None and scale is not None and (problem := scale.check(gate)):
        err(f"'min_to_pass' {problem.removeprefix('score ')}", where)
    if len(err.messages) != before:
        return None
    # Each part is parsed whenever no error was recorded for this criterion.
    assert cid is not None and label is not None and guidance is not None
    assert weight is not None and scale is not None
    return Criterion(
        id=cid,
        label=label,
        guidance=guidance,
        scale=scale,
        weight=_tidy(weight),
        min_to_pass=None if gate is None else _tidy(gate),
        comment_required=comment_required,
    )


def _scale(raw: Any, where: str, err: _Errors) -> Scale | None:
    """The [criteria.scale] table: its range first, then the anchors on that range."""
    table = _table(
        raw,
        where,
        err,
        missing="missing [criteria.scale] table",
        wrong="'scale' must be a table with min, max, step and anchors",
    )
    if table is None:
        return None
    _unknown_keys(table, _SCALE_KEYS, err, where, prefix="scale.")
    scale = _scale_range(table, where, err)
    if scale is None:
        return None
    anchors = _anchors(table.get("anchors"), scale, where, err)
    if anchors is None:
        return None
    return Scale(min=scale.min, max=scale.max, step=scale.step, anchors=anchors)


def _scale_range(table: Mapping[str, Any], where: str, err: _Errors) -> Scale | None:
    """min, max and step as a Scale without anchors; None if any is missing or unusable."""
    lo, hi, step = (
        _number(table.get(key), f"scale.{key}", where, err, required=True)
        for key in ("min", "max", "step")
    )
    if lo is None or hi is None or step is None:
        return None
    if lo > hi:
        problem = f"min ({_fmt(lo)}) is greater than max ({_fmt(hi)})"
    elif lo == hi:
        problem = f"min and max are both {_fmt(lo)}; a scale needs at least two levels"
    elif step <= 0:
        problem = f"step must be positive, got {_fmt(step)}"
    elif not _on_grid(hi - lo, step):
        problem = f"step ({_fmt(step)}) does not divide the range {_fmt(lo)}..{_fmt(hi)}"
    else:
        return Scale(min=_tidy(lo), max=_tidy(hi), step=_tidy(step))
    err(problem, where)
    return None


def _anchors(
    raw: Any, scale: Scale, where: str, err: _Errors
) -> tuple[tuple[float, Text], ...] | None:
    """The [criteria.scale.anchors] tables by ascending level; min and max must have one."""
    table = _table(
        raw,
        where,
        err,
        missing="missing [criteria.scale.anchors] (at least the min and max levels)",
        wrong="'scale.anchors' must be a table keyed by level",
    )
    if table is None:
        return None
    anchors: list[tuple[float, Text]] = []
    for key, value in table.items():
        level = _anchor_level(key, scale, where, err)
        text = (
            None
            if level is None
            else _text(value, f"scale.anchors.{key}", where, err, required=True)
        )
        if level is not None and text is not None:
            anchors.append((level, text))
    # A level given with a bad text is reported once, for its text.
    given = {level for level, _ in anchors} | {_safe_float(key) for key in table}
    for end in (scale.min, scale.max):
        if end not in given:
            err(f"missing anchor for level {_fmt(end)} (the min and max levels need one)", where)
    return tuple(sorted(anchors, key=lambda pair: pair[0]))


def _anchor_level(key: str, scale: Scale, where: str, err: _Errors) -> float | None:
    level = _safe_float(key)
    if level is None:
        err(f"anchor key '{key}' is not a number", where)
        return None
    if problem := scale.check(level):
        err(f"anchor '{key}': {problem.replace('score ', 'level ', 1)}", where)
        return None
    return _tidy(level)


def _text(raw: Any, what: str, where: str | None, err: _Errors, *, required: bool) -> Text | None:
    """A table with a non-blank text for every language in LANGUAGES, and no other key."""
    languages = ", ".join(LANGUAGES)
    table = _table(
        raw,
        where,
        err,
        missing=f"missing '{what}' (a table with {languages})" if required else None,
        wrong=f"'{what}' must be a table with {languages}, got {raw!r}",
    )
    if table is None:
        return None
    before = len(err.messages)
    for lang in sorted(set(table) - set(LANGUAGES)):
        err(f"'{what}' has unknown language '{lang}'", where)
    for lang in LANGUAGES:
        value = table.get(lang)
        if value is None:
            err(f"'{what}' is missing the '{lang}' translation", where)
        elif not isinstance(value, str) or not value.strip():
            err(f"'{what}' has an empty or non-text '{lang}' translation", where)
    if len(err.messages) != before:
        return None
    return Text(**{lang: table[lang].strip() for lang in LANGUAGES})


# --------------------------------------------------------------------------- checks of one value


class _Errors:
    """Collects messages prefixed with the file name and, if given, the criterion."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.messages: list[str] = []

    def __call__(self, msg: str, where: str | None = None) -> None:
        self.messages.append(f"{self.name}: {where}: {msg}" if where else f"{self.name}: {msg}")


def _unknown_keys(
    raw: Mapping[str, Any],
    known: set[str],
    err: _Errors,
    where: str | None = None,
    *,
    prefix: str = "",
) -> None:
    for key in sorted(set(raw) - known):
        err(f"unknown key '{prefix}{key}'", where)


def _table(
    raw: Any, where: str | None, err: _Errors, *, missing: str | None, wrong: str
) -> dict[str, Any] | None:
    """`raw` if it is a table; else None, recording `wrong`, or `missing` (if given) for None."""
    if raw is None:
        if missing is not None:
            err(missing, where)
        return None
    if not isinstance(raw, dict):
        err(wrong, where)
        return None
    return raw


def _slug(raw: Any, where: str | None, err: _Errors) -> str | None:
    """A required id: a lowercase slug."""
    if raw is None:
        err("missing 'id'", where)
    elif not isinstance(raw, str) or not _ID_RE.match(raw):
        err(f"'id' must be a lowercase slug (letters, digits, '-', '_'), got {raw!r}", where)
    else:
        return raw
    return None


def _number(raw: Any, what: str, where: str, err: _Errors, *, required: bool) -> float | None:
    """A finite number (bool is not one); None if absent or unusable."""
    if raw is None:
        if required:
            err(f"missing '{what}'", where)
        return None
    if not _is_number(raw):
        err(f"'{what}' must be a number, got {raw!r}", where)
        return None
    return raw


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _on_grid(distance: float, step: float) -> bool:
    """Whether `distance` is a whole number of steps, up to float noise."""
    k = distance / step
    return abs(k - round(k)) <= 1e-6


def _safe_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _tidy(value: float) -> float:
    """Round away binary noise and prefer ints, so 1.0 and 1 print and hash alike."""
    value = round(float(value), 9)
    return int(value) if value.is_integer() else value


def _fmt(value: float) -> str:
    return str(_tidy(value)) if _is_number(value) else repr(value)


# --------------------------------------------------------------------------- export


def rubric_to_dict(rubric: Rubric) -> dict[str, Any]:
    """The stable JSON shape of a rubric (documented in docs/rubrics.md)."""

    def crit(c: Criterion) -> dict[str, Any]:
        return {
            "id": c.id,
            "label": c.label.as_dict(),
            "guidance": c.guidance.as_dict(),
            "weight": c.weight,
            "min_to_pass": c.min_to_pass,
            "comment_required": c.comment_required,
            "scale": {
                "min": c.scale.min,
                "max": c.scale.max,
                "step": c.scale.step,
                "levels": list(c.scale.levels),
                "anchors": {_fmt(level): text.as_dict() for level, text in c.scale.anchors},
            },
        }

    return {
        "id": rubric.id,
        "version": rubric.version,
        "title": rubric.title.as_dict(),
        "description": rubric.description.as_dict() if rubric.description else None,
        "overall_comment": rubric.overall_comment,
        "criteria": [crit(c) for c in rubric.criteria],
    }


def rubric_fingerprint(rubric: Rubric) -> str:
    """sha256 (hex) of the rubric's canonical JSON; independent of file layout and path."""
    canonical = json.dumps(
        rubric_to_dict(rubric), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def check_rubric_change(pinned_fingerprint: str, rubric: Rubric, *, scores_exist: bool) -> None:
    """Refuse a silent change: raise RubricFrozenError if scores exist and content differs.

    The app pins the fingerprint when an edition opens. Before the first score any
    edit is allowed; afterwards the pinned rubric is frozen and a changed rubric
    must be published under a new version (and attached explicitly).
    """
    if not scores_exist:
        return
    current = rubric_fingerprint(rubric)
    if current != pinned_fingerprint:
        raise RubricFrozenError(
            f"rubric '{rubric.id}' version {rubric.version} differs from the pinned rubric "
            f"(fingerprint {pinned_fingerprint[:12]}… vs {current[:12]}…) but scores already "
            "exist; publish the change as a new version instead of editing it in place"
        )
