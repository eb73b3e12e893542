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
        k = (value - self.min) / self.step
        if abs(k - round(k)) > 1e-6:
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

    for key in sorted(set(data) - _TOP_KEYS):
        err(f"unknown key '{key}'")

    rid = data.get("id")
    if rid is None:
        err("missing 'id'")
    elif not isinstance(rid, str) or not _ID_RE.match(rid):
        err(f"'id' must be a lowercase slug (letters, digits, '-', '_'), got {rid!r}")
    version = data.get("version")
    if version is None:
        err("missing 'version'")
    elif isinstance(version, bool) or not isinstance(version, int) or version < 1:
        err(f"'version' must be a positive integer, got {version!r}")
    title = _text(data.get("title"), "title", None, err, required=True)
    description = _text(data.get("description"), "description", None, err, required=False)
    overall = data.get("overall_comment", "optional")
    if overall not in OVERALL_COMMENT_MODES:
        err(f"'overall_comment' must be one of {', '.join(OVERALL_COMMENT_MODES)}, got {overall!r}")

    raw_criteria = data.get("criteria")
    criteria: list[Criterion] = []
    if raw_criteria is None:
        err("missing 'criteria' (at least one [[criteria]] table)")
    elif not isinstance(raw_criteria, list) or not all(isinstance(c, dict) for c in raw_criteria):
        err("'criteria' must be an array of tables ([[criteria]])")
    elif not raw_criteria:
        err("'criteria' is empty")
    else:
        seen: dict[str, int] = {}
        for index, raw in enumerate(raw_criteria, start=1):
            cid = raw.get("id")
            where = f"criterion '{cid}'" if isinstance(cid, str) else f"criterion #{index}"
            if isinstance(cid, str):
                if cid in seen:
                    err(f"duplicate id (also criterion #{seen[cid]})", where)
                seen.setdefault(cid, index)
            crit = _criterion(raw, where, err)
            if crit is not None:
                criteria.append(crit)

    if err.messages:
        raise RubricError(err.messages)
    assert title is not None  # guaranteed when no error was recorded
    return Rubric(
        id=rid,
        version=version,
        title=title,
        criteria=tuple(criteria),
        overall_comment=overall,
        description=description,
        source=source,
    )


def _criterion(raw: Mapping[str, Any], where: str, err: _Errors) -> Criterion | None:
    before = len(err.messages)
    for key in sorted(set(raw) - _CRITERION_KEYS):
        err(f"unknown key '{key}'", where)
    cid = raw.get("id")
    if cid is None:
        err("missing 'id'", where)
    elif not isinstance(cid, str) or not _ID_RE.match(cid):
        err(f"'id' must be a lowercase slug (letters, digits, '-', '_'), got {cid!r}", where)
    label = _text(raw.get("label"), "label", where, err, required=True)
    guidance = _text(raw.get("guidance"), "guidance", where, err, required=True)

    weight = raw.get("weight")
    if weight is None:
        err("missing 'weight'", where)
    elif not _is_number(weight):
        err(f"'weight' must be a number, got {weight!r}", where)
    elif weight <= 0:
        err(f"'weight' must be positive, got {_fmt(weight)}", where)

    comment_required = raw.get("comment_required", False)
    if not isinstance(comment_required, bool):
        err(f"'comment_required' must be true or false, got {comment_required!r}", where)

    scale = _scale(raw.get("scale"), where, err)
    gate = raw.get("min_to_pass")
    if gate is not None:
        if not _is_number(gate):
            err(f"'min_to_pass' must be a number, got {gate!r}", where)
        elif scale is not None and (problem := scale.check(gate)):
            err(f"'min_to_pass' {problem.removeprefix('score ')}", where)

    if len(err.messages) != before:
        return None
    assert label is not None and guidance is not None and scale is not None
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
    if raw is None:
        err("missing [criteria.scale] table", where)
        return None
    if not isinstance(raw, dict):
        err("'scale' must be a table with min, max, step and anchors", where)
        return None
    for key in sorted(set(raw) - _SCALE_KEYS):
        err(f"unknown key 'scale.{key}'", where)
    ok = True
    values: dict[str, float] = {}
    for key in ("min", "max", "step"):
        value = raw.get(key)
        if value is None:
            err(f"missing 'scale.{key}'", where)
            ok = False
        elif not _is_number(value):
            err(f"'scale.{key}' must be a number, got {value!r}", where)
            ok = False
        else:
            values[key] = value
    if not ok:
        return None
    lo, hi, step = values["min"], values["max"], values["step"]
    if lo > hi:
        err(f"min ({_fmt(lo)}) is greater than max ({_fmt(hi)})", where)
        return None
    if lo == hi:
        err(f"min and max are both {_fmt(lo)}; a scale needs at least two levels", where)
        return None
    if step <= 0:
        err(f"step must be positive, got {_fmt(step)}", where)
        return None
    k = (hi - lo) / step
    if abs(k - round(k)) > 1e-6:
        err(f"step ({_fmt(step)}) does not divide the range {_fmt(lo)}..{_fmt(hi)}", where)
        return None
    scale = Scale(min=_tidy(lo), max=_tidy(hi), step=_tidy(step))

    anchors: list[tuple[float, Text]] = []
    raw_anchors = raw.get("anchors")
    if raw_anchors is None:
        err("missing [criteria.scale.anchors] (at least the min and max levels)", where)
        return None
    if not isinstance(raw_anchors, dict):
        err("'scale.anchors' must be a table keyed by level", where)
        return None
    for key, value in raw_anchors.items():
        try:
            level = float(key)
        except ValueError:
            err(f"anchor key '{key}' is not a number", where)
            continue
        if problem := scale.check(level):
            err(f"anchor '{key}': {problem.replace('score ', 'level ', 1)}", where)
            continue
        text = _text(value, f"scale.anchors.{key}", where, err, required=True)
        if text is not None:
            anchors.append((_tidy(level), text))
    anchored = {a for a, _ in anchors}
    for end in (scale.min, scale.max):
        if end not in anchored and not any(
            k.strip() and _safe_float(k) == end for k in raw_anchors
        ):
            err(f"missing anchor for level {_fmt(end)} (the min and max levels need one)", where)
    anchors.sort(key=lambda pair: pair[0])
    return Scale(min=scale.min, max=scale.max, step=scale.step, anchors=tuple(anchors))


def _text(raw: Any, what: str, where: str | None, err: _Errors, *, required: bool) -> Text | None:
    if raw is None:
        if required:
            err(f"missing '{what}' (a table with {', '.join(LANGUAGES)})", where)
        return None
    if not isinstance(raw, dict):
        err(f"'{what}' must be a table with {', '.join(LANGUAGES)}, got {raw!r}", where)
        return None
    ok = True
    for lang in sorted(set(raw) - set(LANGUAGES)):
        err(f"'{what}' has unknown language '{lang}'", where)
        ok = False
    for lang in LANGUAGES:
        value = raw.get(lang)
        if value is None:
            err(f"'{what}' is missing the '{lang}' translation", where)
            ok = False
        elif not isinstance(value, str) or not value.strip():
            err(f"'{what}' has an empty or non-text '{lang}' translation", where)
            ok = False
    return Text(**{lang: raw[lang].strip() for lang in LANGUAGES}) if ok else None


class _Errors:
    """Collects messages prefixed with the file name and, if given, the criterion."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.messages: list[str] = []

    def __call__(self, msg: str, where: str | None = None) -> None:
        self.messages.append(f"{self.name}: {where}: {msg}" if where else f"{self.name}: {msg}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


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
