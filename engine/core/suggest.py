"""Did-you-mean suggestions for misspelt names."""

from __future__ import annotations

from typing import Iterable

from engine.core.messages import Message, msg


def closest(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The candidate most like `word`, or None when nothing is close enough to be a likely typo."""
    import difflib  # only a mistake pays for it: an evaluation that goes well never suggests

    pool = sorted(set(candidates))
    matches = difflib.get_close_matches(word, pool, n=1, cutoff=cutoff)
    if matches:
        return matches[0]
    lowered = {c.lower(): c for c in pool}
    return lowered.get(word.lower())


def did_you_mean(word: str, candidates: Iterable[str]) -> Message | None:
    """"Did you mean …?" with the candidate closest to `word`, or None when none is close."""
    match = closest(word, candidates)
    return msg("suggest.did_you_mean", match=match) if match else None


def one_of(candidates: Iterable[str], limit: int = 12) -> str:
    """The candidates, sorted and comma-separated, at most `limit` of them and how many more."""
    pool = sorted(set(candidates))
    shown = ", ".join(pool[:limit])
    return msg("suggest.more", shown=shown, more=len(pool) - limit) if len(pool) > limit else shown

