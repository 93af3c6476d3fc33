from leaderboard.ranking import positions, rank, top

PLAYERS = [
    {"name": "cleo", "score": 70},
    {"name": "ada", "score": 90},
    {"name": "bo", "score": 70},
]


def test_rank_best_first():
    assert [p["name"] for p in rank(PLAYERS)] == ["ada", "bo", "cleo"]


def test_top_one():
    assert top(PLAYERS, 1)[0]["name"] == "ada"


def test_positions_share_ties():
    assert positions(PLAYERS) == {"Ada": 1, "Bo": 2, "Cleo": 2}
