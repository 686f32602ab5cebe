"""Scoring a look test: read the keys and a judge's answers, tally each pair of systems' wins per style and in all,
with a two-sided sign test, and print them as a Markdown table."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.look_common import KEY_FILE, SIDES, UserError


def read_json_object(path: Path, what: str) -> dict[str, Any]:
    """A JSON file holding an object; :class:`UserError` when missing, unreadable or not an object."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"{what} {path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UserError(f"{what} {path}: not valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise UserError(f"{what} {path}: expected a JSON object, got {type(data).__name__}")
    return data


def read_key(folder: Path) -> dict[str, Any]:
    """``folder/key.json``, its shape checked."""
    if not folder.is_dir():
        raise UserError(f"--key {folder}: no such folder")
    key = read_json_object(folder / KEY_FILE, "key")
    try:
        names = [str(s["name"]) for s in key["systems"]]
        ok = len(names) == 2 and isinstance(key["title"], str) and all(
            {t["A"], t["B"]} == set(names) and isinstance(t["id"], str) for t in key["trials"])
    except (KeyError, TypeError):
        ok = False
    if not ok:
        raise UserError(f"key {folder / KEY_FILE}: malformed (needs title, two systems and trials with id, A, B)")
    return key


@dataclass
class Tally:
    """Answers for one pair of systems (in key order) and one style."""

    systems: tuple[str, str]
    style: str
    wins: list[int] = field(default_factory=lambda: [0, 0])
    picked_a: int = 0

    @property
    def trials(self) -> int:
        return self.wins[0] + self.wins[1]

    def add(self, winner: str, side: str) -> None:
        self.wins[self.systems.index(winner)] += 1
        self.picked_a += side == "A"

    def as_dict(self) -> dict[str, Any]:
        n = self.trials
        return {"systems": list(self.systems), "style": self.style, "trials": n,
                "wins": dict(zip(self.systems, self.wins, strict=True)),
                "win_rate": self.wins[0] / n if n else None, "picked_a": self.picked_a,
                "picked_a_rate": self.picked_a / n if n else None, "p_value": sign_test(self.wins[0], n)}


def sign_test(wins: int, trials: int) -> float | None:
    """Two-sided exact binomial p-value of ``wins`` out of ``trials`` against a coin toss (``None`` for none)."""
    if trials == 0:
        return None
    tail = sum(math.comb(trials, k) for k in range(min(wins, trials - wins) + 1)) / 2 ** trials
    return min(1.0, 2 * tail)


@dataclass
class Scores:
    """Every tally, plus the answers that could not be counted."""

    tallies: dict[tuple[frozenset[str], str], Tally] = field(default_factory=dict)
    missing: list[dict[str, str]] = field(default_factory=list)
    unknown: list[dict[str, str]] = field(default_factory=list)

    def tally(self, systems: tuple[str, str], style: str) -> Tally:
        """The tally of this pair (either order) and style; the first key seen sets the order."""
        return self.tallies.setdefault((frozenset(systems), style), Tally(systems, style))

    def totals(self) -> list[Tally]:
        """One tally per pair of systems over all its styles."""
        out: dict[frozenset[str], Tally] = {}
        for (pair, _), t in self.tallies.items():
            total = out.setdefault(pair, Tally(t.systems, "all"))
            for name, wins in zip(t.systems, t.wins, strict=True):
                total.wins[total.systems.index(name)] += wins
            total.picked_a += t.picked_a
        return list(out.values())


def score_key(scores: Scores, key_dir: Path, key: dict[str, Any], answers_path: Path,
              answers: dict[str, Any]) -> None:
    """Add one key's answers to ``scores``; record missing trials and unknown entries."""
    names = tuple(str(s["name"]) for s in key["systems"])
    tally = scores.tally((names[0], names[1]), key["title"])
    trials = {t["id"]: t for t in key["trials"]}
    reasons = answers.get("reasons", {})
    if not isinstance(reasons, dict):
        scores.unknown.append({"answers": str(answers_path), "trial": "reasons", "value": repr(reasons),
                               "why": "reasons is not an object"})
    for trial_name, value in answers.items():
        if trial_name == "reasons":
            continue
        if trial_name not in trials:
            scores.unknown.append({"answers": str(answers_path), "trial": trial_name, "value": repr(value),
                                   "why": f"no such trial in {key_dir}"})
            continue
        side = value.strip().upper() if isinstance(value, str) else None
        if side not in SIDES:
            scores.unknown.append({"answers": str(answers_path), "trial": trial_name, "value": repr(value),
                                   "why": "not A or B"})
            continue
        tally.add(trials[trial_name][side], side)
    for trial_name in trials:
        if trial_name not in answers:
            scores.missing.append({"key": str(key_dir), "answers": str(answers_path), "trial": trial_name})


def percent(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.0f}%"


def score_table(scores: Scores) -> str:
    """The tallies and totals as a Markdown table."""
    lines = ["| style | system 1 | system 2 | trials | wins 1 | wins 2 | win rate 1 | picked A | p (sign test) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for t in [*scores.tallies.values(), *scores.totals()]:
        d = t.as_dict()
        p = "—" if d["p_value"] is None else f"{d['p_value']:.3f}"
        lines.append(f"| {t.style} | {t.systems[0]} | {t.systems[1]} | {t.trials} | {t.wins[0]} | {t.wins[1]} | "
                     f"{percent(d['win_rate'])} | {t.picked_a} ({percent(d['picked_a_rate'])}) | {p} |")
    return "\n".join(lines)
