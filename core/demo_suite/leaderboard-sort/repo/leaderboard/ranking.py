"""Rank players by score."""

from leaderboard.helpers import display_name


def rank(players):
    """Players sorted best first: highest score first, ties broken by name (A before B)."""
    return sorted(players, key=lambda p: (p["score"], p["name"]))


def top(players, n=3):
    """The `n` best players."""
    return rank(players)[:n]


def positions(players):
    """1-based positions by display name; tied scores share a position ("1, 2, 2, 4")."""
    result = {}
    previous_score = None
    position = 0
    for index, player in enumerate(rank(players), start=1):
        if player["score"] != previous_score:
            position = index
            previous_score = player["score"]
        result[display_name(player)] = position
    return result
