"""Blind A/B votes: a real SQLite file (WAL), statistics against independent numbers, Hub sync without network."""

from __future__ import annotations

import json
import math
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import HfApi, RepoUrl

from vst.app.blind_vote import YOUR_PAINTING_ROW, results_markdown, results_table
from vst.app.votes import (
    LOCAL_STATUS,
    SYNC_FOLDER,
    YOUR_PAINTING,
    Tally,
    VoteStore,
    default_db_path,
    wilson_interval,
    winner_of,
)


def wilson_closed_form(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """The same interval written the other usual way: (2k + z² ± z·sqrt(z² + 4k(n−k)/n)) / (2(n + z²))."""
    root = z * math.sqrt(z * z + 4 * k * (n - k) / n)
    return (2 * k + z * z - root) / (2 * (n + z * z)), (2 * k + z * z + root) / (2 * (n + z * z))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[VoteStore]:
    s = VoteStore(tmp_path / "votes.sqlite3")
    yield s
    s.close()


def vote(store: VoteStore, winner: str, *, left: str = "temporal", session: str, style: str = "starry-night",
         clip: str = "carphone", checkpoints: str = "") -> bool:
    """Record a vote for ``winner`` (a variant or ``tie``) with ``left`` shown on the left."""
    choice = "tie" if winner == "tie" else ("left" if winner == left else "right")
    return store.record(style=style, clip=clip, left_variant=left, choice=choice, session=session,
                        checkpoints=checkpoints)


def test_wilson_interval_known_values() -> None:
    low, high = wilson_interval(30, 40)
    assert (low, high) == pytest.approx((0.598060, 0.858129), abs=1e-6)  # published 95% Wilson interval for 30/40
    assert (low, high) == pytest.approx(wilson_closed_form(30, 40), abs=1e-12)
    for k, n in [(0, 10), (10, 10), (1, 3), (57, 100)]:
        assert wilson_interval(k, n) == pytest.approx(wilson_closed_form(k, n), abs=1e-12)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        wilson_interval(5, 4)


def test_winner_is_derived_from_position_and_choice() -> None:
    assert winner_of("temporal", "left") == "temporal"
    assert winner_of("temporal", "right") == "framewise"
    assert winner_of("framewise", "left") == "framewise"
    assert winner_of("framewise", "right") == "temporal"
    assert winner_of("framewise", "tie") == "tie"


def test_database_is_sqlite_in_wal_mode(store: VoteStore) -> None:
    assert vote(store, "temporal", session="s1")
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        rows = conn.execute(
            "SELECT style, clip, left_variant, choice, winner, session, created_at FROM votes").fetchall()
    assert len(rows) == 1
    style, clip, left, choice, winner, session, created = rows[0]
    assert (style, clip, left, choice, winner, session) == ("starry-night", "carphone", "temporal", "left",
                                                             "temporal", "s1")
    assert created.endswith("+00:00")  # UTC ISO 8601


def test_second_vote_of_a_session_on_the_same_pair_is_refused(store: VoteStore) -> None:
    assert not store.has_voted("s1", "starry-night", "carphone")
    assert store.record(style="starry-night", clip="carphone", left_variant="framewise", choice="right", session="s1")
    assert store.has_voted("s1", "starry-night", "carphone")
    assert not store.record(style="starry-night", clip="carphone", left_variant="temporal", choice="left",
                            session="s1")
    assert store.record(style="starry-night", clip="bikes", left_variant="temporal", choice="left", session="s1")
    assert store.record(style="starry-night", clip="carphone", left_variant="temporal", choice="tie", session="s2")
    results = store.results()
    assert results.overall == Tally(temporal_wins=2, framewise_wins=0, ties=1)


@pytest.mark.parametrize("field, value", [("style", "mona-lisa"), ("clip", ""), ("left_variant", "both"),
                                          ("choice", "neither"), ("session", " "), ("clip", "x" * 201),
                                          ("network", "huge")])
def test_invalid_votes_raise_and_store_nothing(store: VoteStore, field: str, value: str) -> None:
    kwargs = {"style": "starry-night", "clip": "carphone", "left_variant": "temporal", "choice": "left",
              "session": "s1", field: value}
    with pytest.raises(ValueError):
        store.record(**kwargs)
    assert store.results().overall.total == 0


def test_results_of_a_known_set_of_votes(store: VoteStore) -> None:
    n = 0
    for winner, count in [("temporal", 30), ("framewise", 10), ("tie", 5)]:
        for i in range(count):
            # alternate sides so that the left side wins exactly half of the decisive votes
            assert vote(store, winner, left="temporal" if i % 2 == 0 else "framewise", session=f"a{n}")
            n += 1
    for i in range(4):
        assert vote(store, "framewise", left="framewise", session=f"b{i}", style="the-scream", clip="bikes")
    results = store.results()

    starry = results.per_style["starry-night"]
    assert starry == Tally(30, 10, 5)
    assert (starry.total, starry.decisive, starry.win_rate) == (45, 40, 0.75)
    assert starry.ci95 == pytest.approx((0.598060, 0.858129), abs=1e-6)
    assert results.per_style["the-scream"] == Tally(0, 4, 0)
    assert list(results.per_style) == ["starry-night", "the-scream"]  # catalog order
    assert results.overall == Tally(30, 14, 5)
    assert results.overall.win_rate == pytest.approx(30 / 44)
    assert results.overall.ci95 == pytest.approx(wilson_closed_form(30, 44), abs=1e-12)

    # 40 decisive starry-night votes, alternating sides: 15 + 5 on the left; the 4 scream votes were all left
    assert (results.left_wins, results.right_wins) == (24, 20)
    assert results.left_win_rate == pytest.approx(24 / 44)
    assert results.left_ci95 == pytest.approx(wilson_closed_form(24, 44), abs=1e-12)


def test_position_bias_is_measured_independently_of_the_winner(store: VoteStore) -> None:
    # temporal always shown left and always picked: every decisive vote is a left win
    for i in range(6):
        vote(store, "temporal", left="temporal", session=f"s{i}")
    results = store.results()
    assert results.overall.win_rate == 1.0 and results.left_win_rate == 1.0
    assert vote(store, "temporal", left="framewise", session="other")
    assert store.results().left_win_rate == pytest.approx(6 / 7)


def test_empty_results(store: VoteStore) -> None:
    results = store.results()
    assert results.overall == Tally(0, 0, 0) and results.per_style == {}
    assert math.isnan(results.overall.win_rate) and math.isnan(results.left_win_rate)
    assert results.overall.ci95 == (0.0, 1.0) and results.left_ci95 == (0.0, 1.0)


def test_concurrent_votes_from_many_threads_are_all_kept(store: VoteStore) -> None:
    threads_n, per_thread = 8, 25
    accepted: list[bool] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads_n)

    def worker(t: int) -> None:
        barrier.wait()
        for i in range(per_thread):
            ok = vote(store, "temporal" if i % 3 else "framewise", session=f"t{t}-{i}")
            dup = vote(store, "tie", session=f"t{t}-{i}")  # same session and pair: always refused
            with lock:
                accepted.extend([ok, not dup])
            store.results()  # reads interleave with writes

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(accepted) == 2 * threads_n * per_thread and all(accepted)
    overall = store.results().overall
    assert overall.total == threads_n * per_thread
    assert overall.framewise_wins == threads_n * 9  # i % 3 == 0 for 9 of 0..24


def test_votes_record_their_checkpoints_and_results_can_keep_only_the_current_ones(store: VoteStore) -> None:
    vote(store, "framewise", session="s1", checkpoints="old-weights")
    vote(store, "temporal", session="s2", checkpoints="new-weights")
    vote(store, "tie", session="s3", checkpoints="new-weights")
    vote(store, "temporal", session="s4", style="udnie", checkpoints="udnie-weights")
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("SELECT session, checkpoints FROM votes ORDER BY id").fetchall() == [
            ("s1", "old-weights"), ("s2", "new-weights"), ("s3", "new-weights"), ("s4", "udnie-weights")]
    assert store.results().overall == Tally(2, 1, 1)  # everything
    current = store.results({"starry-night": "new-weights"})  # a retrained style starts afresh; udnie left out
    assert current.overall == Tally(1, 0, 1) and list(current.per_style) == ["starry-night"]
    assert store.results({}).overall == Tally()


def test_a_database_from_before_checkpoints_were_recorded_gains_the_column(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE votes (id INTEGER PRIMARY KEY, style TEXT NOT NULL, clip TEXT NOT NULL, "
                     "left_variant TEXT NOT NULL, choice TEXT NOT NULL, winner TEXT NOT NULL, session TEXT NOT NULL, "
                     "created_at TEXT NOT NULL, UNIQUE (session, style, clip))")
        conn.execute("INSERT INTO votes VALUES (1, 'starry-night', 'bikes', 'temporal', 'left', 'temporal', 'old', "
                     "'2026-01-01T00:00:00')")
    conn.close()
    with VoteStore(path) as store:
        assert vote(store, "temporal", session="new", checkpoints="abc")
        assert store.results().overall == Tally(2, 0, 0)
        assert store.results({"starry-night": "abc"}).overall == Tally(1, 0, 0)
        assert store.results().per_network == {"full-size": Tally(2, 0, 0)}  # older votes: the full-size models


def test_fast_pairs_are_counted_with_their_own_checkpoints_and_apart_by_network(store: VoteStore) -> None:
    """A vote on the fast network against its framewise twin names those checkpoints; the results count a style's
    votes on every pair it has installed now, and tell the networks apart."""
    vote(store, "temporal", session="s1", checkpoints="full-weights")
    assert store.record(style="starry-night", clip="upload-1", left_variant="framewise", choice="right",
                        session="s1", checkpoints="fast-weights", network="fast")
    assert store.record(style="starry-night", clip="upload-2", left_variant="temporal", choice="right",
                        session="s1", checkpoints="old-fast-weights", network="fast")
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("SELECT network, winner FROM votes ORDER BY id").fetchall() == [
            ("full-size", "temporal"), ("fast", "temporal"), ("fast", "framewise")]
    current = store.results({"starry-night": ["full-weights", "fast-weights"]})
    assert current.overall == Tally(2, 0, 0) and current.per_style == {"starry-night": Tally(2, 0, 0)}
    assert current.per_network == {"full-size": Tally(1, 0, 0), "fast": Tally(1, 0, 0)}
    assert store.results({"starry-night": "full-weights"}).per_network == {"full-size": Tally(1, 0, 0)}


def test_votes_on_visitors_paintings_are_counted_apart_from_the_bundled_styles(store: VoteStore) -> None:
    """A vote on a visitor's own painting is stored under one fixed label with the any-painting checkpoints' digest;
    the results give it its own tally and row, left out of ``all styles`` and of the per-network lines."""
    vote(store, "temporal", session="s1", checkpoints="starry-weights")
    vote(store, "framewise", session="s1", style=YOUR_PAINTING, clip="upload-1", checkpoints="any-weights")
    vote(store, "tie", session="s2", style=YOUR_PAINTING, clip="upload-2", checkpoints="any-weights")
    vote(store, "temporal", session="s3", style=YOUR_PAINTING, clip="upload-3", checkpoints="old-any-weights")
    assert not vote(store, "temporal", session="s1", style=YOUR_PAINTING, clip="upload-1", checkpoints="any-weights")
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("SELECT DISTINCT style, checkpoints, network FROM votes WHERE style = ? ORDER BY id",
                            (YOUR_PAINTING,)).fetchall() == [(YOUR_PAINTING, "any-weights", "full-size"),
                                                             (YOUR_PAINTING, "old-any-weights", "full-size")]
    results = store.results({"starry-night": "starry-weights", YOUR_PAINTING: ["any-weights"]})
    assert results.overall == Tally(1, 0, 0) and results.per_style == {"starry-night": Tally(1, 0, 0)}
    assert results.per_network == {"full-size": Tally(1, 0, 0)}
    assert results.your_painting == Tally(0, 1, 1)
    assert (results.left_wins, results.right_wins) == (1, 1)  # the position check counts every vote
    assert store.results({"starry-night": "starry-weights"}).your_painting == Tally()  # not installed: not counted
    text = results_markdown(results, LOCAL_STATUS)
    assert text.startswith("**Temporal (ours) preferred in 100% of decisive votes**")
    assert ("Visitors' own paintings, counted apart (the any-painting network vs the framewise teacher): temporal "
            "preferred in 0% of 1 decisive vote (95% CI 0–79%; 2 votes).") in text
    table = results_table(results)
    assert table["style"].tolist() == ["The Starry Night", "all styles", YOUR_PAINTING_ROW]
    assert table.iloc[1, 1:4].tolist() == [1, 0, 0] and table.iloc[2, 1:4].tolist() == [0, 1, 1]
    # Only visitors' paintings voted on: the bundled styles say so, the paintings' line is there.
    only = store.results({YOUR_PAINTING: "any-weights"})
    assert results_markdown(only, LOCAL_STATUS).startswith("No votes on the bundled styles yet.\n\nVisitors' own")
    assert results_markdown(store.results({}), LOCAL_STATUS).startswith("No votes yet")


def test_votes_persist_across_reopening(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "votes.sqlite3"
    with VoteStore(path) as first:
        vote(first, "temporal", session="s1")
        vote(first, "tie", session="s2")
    with pytest.raises(ValueError, match="closed"):
        first.results()
    with VoteStore(path) as second:
        assert second.results().overall == Tally(1, 0, 1)
        assert second.has_voted("s1", "starry-night", "carphone")
        assert not vote(second, "framewise", session="s1")


def test_without_a_token_votes_stay_local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="vst.app.votes")
    monkeypatch.setenv("VST_VOTES_DB", str(tmp_path / "env" / "v.sqlite3"))
    monkeypatch.setenv("VST_VOTES_REPO", "org/votes")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with VoteStore.from_env() as store:
        assert store.path == tmp_path / "env" / "v.sqlite3"
        assert store.scheduler is None and store.jsonl_path is None
        assert store.sync_status == LOCAL_STATUS  # the public page: no operator instructions
        assert "VST_VOTES_REPO is org/votes but no HF_TOKEN is set" in caplog.text
        vote(store, "temporal", session="s1")
        assert not (store.path.parent / SYNC_FOLDER).exists()
    monkeypatch.delenv("VST_VOTES_REPO")
    with VoteStore.from_env() as store:
        assert store.scheduler is None
        assert store.sync_status == LOCAL_STATUS
        assert "set HF_TOKEN and VST_VOTES_REPO" in caplog.text


class RecordingHfApi(HfApi):
    """An HfApi that records what would be sent to the Hub instead of sending it."""

    def __init__(self, *, fail_create: bool = False) -> None:
        super().__init__(token="hf_fake")
        self.fail_create = fail_create
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.uploaded: dict[str, bytes] = {}  # path in repo -> latest content

    def create_repo(self, repo_id: str, **kwargs: Any) -> RepoUrl:
        self.calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))
        if self.fail_create:
            raise OSError("no network in this test")
        return RepoUrl(f"https://huggingface.co/datasets/{repo_id}")

    def upload_folder(self, **kwargs: Any) -> None:
        self.calls.append(("upload_folder", kwargs))

    def create_commit(self, repo_id: str, operations: Any, **kwargs: Any) -> None:
        operations = list(operations)
        self.calls.append(("create_commit", {"repo_id": repo_id, "operations": operations, **kwargs}))
        for op in operations:
            op.path_or_fileobj.seek(0)
            self.uploaded[op.path_in_repo] = op.path_or_fileobj.read()

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


def test_votes_are_appended_to_jsonl_and_pushed_to_the_hub(tmp_path: Path) -> None:
    api = RecordingHfApi()
    store = VoteStore(tmp_path / "votes.sqlite3", hub_repo="org/votes", token="hf_fake", hf_api=api)
    try:
        assert store.scheduler is not None and store.scheduler.api is api
        assert api.calls[0] == ("create_repo", {"repo_id": "org/votes", "private": None, "repo_type": "dataset",
                                                "exist_ok": True})
        assert store.sync_status == "Votes are published to the Hub dataset org/votes."
        vote(store, "temporal", left="framewise", session="s1")
        vote(store, "tie", session="s2", clip="bikes")
        assert not vote(store, "framewise", session="s1")  # refused: not appended either

        assert store.jsonl_path is not None and store.jsonl_path.parent == tmp_path / SYNC_FOLDER
        lines = [json.loads(line) for line in store.jsonl_path.read_text().splitlines()]
        assert [(v["session"], v["clip"], v["left_variant"], v["choice"], v["winner"]) for v in lines] == [
            ("s1", "carphone", "framewise", "right", "temporal"), ("s2", "bikes", "temporal", "tie", "tie")]
        assert all(v["style"] == "starry-night" and v["created_at"] for v in lines)

        store.scheduler.trigger().result(timeout=30)
        assert "create_commit" in api.names()
        commit = next(kwargs for name, kwargs in api.calls if name == "create_commit")
        assert commit["repo_id"] == "org/votes" and commit["repo_type"] == "dataset"
        remote = f"data/{store.jsonl_path.name}"
        assert api.uploaded[remote] == store.jsonl_path.read_bytes()

        vote(store, "framewise", session="s3")
        store.close()  # pushes the last vote before stopping
        assert api.uploaded[remote].decode().count("\n") == 3
    finally:
        store.close()


def test_unreachable_hub_keeps_votes_local_and_says_so(tmp_path: Path) -> None:
    api = RecordingHfApi(fail_create=True)
    with VoteStore(tmp_path / "votes.sqlite3", hub_repo="org/votes", token="hf_fake", hf_api=api) as store:
        assert store.scheduler is None
        assert store.sync_status == LOCAL_STATUS
        assert vote(store, "temporal", session="s1")
        assert store.results().overall.total == 1


def test_a_vote_that_cannot_be_appended_for_the_hub_is_not_stored(tmp_path: Path) -> None:
    with VoteStore(tmp_path / "votes.sqlite3", hub_repo="org/votes", token="hf_fake", hf_api=RecordingHfApi()) as store:
        assert store.jsonl_path is not None
        store.jsonl_path.mkdir(parents=True)  # appending to it fails
        with pytest.raises(OSError):
            vote(store, "temporal", session="s1")
        assert store.results().overall.total == 0 and not store.has_voted("s1", "starry-night", "carphone")
        store.jsonl_path.rmdir()
        assert vote(store, "temporal", session="s1")


def test_default_database_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VST_VOTES_DB", raising=False)
    monkeypatch.delenv("SPACE_ID", raising=False)
    assert default_db_path() == Path("data") / "votes" / "votes.sqlite3"
    monkeypatch.setenv("VST_VOTES_DB", "/somewhere/v.db")
    assert default_db_path() == Path("/somewhere/v.db")
