"""Reviewer assignment: give every application k jurors, maximising total affinity.

Pure computation (no web, no database): the web app's assignment service builds a
`Problem`, calls `solve`, and stores `Solution.assignments`.
"""

from grants.solver.mincostflow import (
    AFFINITY_SCALE,
    SolveStats,
    check,
    scaled_affinity,
    solve,
    solve_with_stats,
)
from grants.solver.model import Application, Infeasible, Juror, Pair, Problem, Solution

__all__ = [
    "AFFINITY_SCALE",
    "Application",
    "Infeasible",
    "Juror",
    "Pair",
    "Problem",
    "Solution",
    "SolveStats",
    "check",
    "scaled_affinity",
    "solve",
    "solve_with_stats",
]
