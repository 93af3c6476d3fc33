"""Formatting for leaderboard entries."""


def display_name(player):
    """The player's name as shown on the board: "ada" -> "Ada"."""
    return player["name"].strip().capitalize()


def format_score(score):
    """Scores with thousands separators: 12345 -> "12,345"."""
    return f"{score:,}"
