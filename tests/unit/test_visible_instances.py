"""VisibleInstances keeps a found row for `ttl` seconds from the query that found it, by the whole key, a bounded
number of them."""

from __future__ import annotations

from yilian.imaging.retrieve import VisibleInstances


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_kept_row_is_served_until_the_window_from_its_query_ends() -> None:
    clock = Clock()
    kept = VisibleInstances(ttl=2.0, clock=clock)
    row = {"blob_key": "a" * 64}
    kept.put("k", row, asked_at=clock.now - 0.5)  # the query began half a second before its answer came
    assert kept.get("k") is row
    clock.now += 1.49
    assert kept.get("k") is row
    clock.now += 0.01  # 2 s after the query began, not after the row was put
    assert kept.get("k") is None, "a kept row was served 2 s after the query that found it"
    assert kept.get("k") is None


def test_only_the_same_key_matches_and_forget_drops_it() -> None:
    kept = VisibleInstances(clock=Clock())
    kept.put(("caller a", "study"), {"n": 1}, asked_at=100.0)
    assert kept.get(("caller b", "study")) is None
    assert kept.get(("caller a", "another study")) is None
    kept.forget(("caller a", "study"))
    assert kept.get(("caller a", "study")) is None


def test_at_most_size_rows_are_kept_the_oldest_dropped_first() -> None:
    kept = VisibleInstances(size=3, clock=Clock())
    for n in range(5):
        kept.put(n, {"n": n}, asked_at=100.0)
    assert [kept.get(n) for n in range(5)] == [None, None, {"n": 2}, {"n": 3}, {"n": 4}]
    kept.put(2, {"n": 2}, asked_at=100.0)  # put again: now the newest
    kept.put(5, {"n": 5}, asked_at=100.0)
    assert kept.get(3) is None and kept.get(2) == {"n": 2}


def test_a_series_is_wanted_at_its_second_distinct_instance_within_the_window_and_once() -> None:
    clock = Clock()
    kept = VisibleInstances(ttl=2.0, clock=clock)
    assert not kept.wants_series("s", "a")  # nothing located yet: a lone request
    kept.note("s", "a", asked_at=clock.now)
    assert not kept.wants_series("s", "a"), "the same instance asked again fetched its series"
    assert kept.wants_series("s", "b") and not kept.wants_series("another series", "b")
    kept.note("s", None, asked_at=clock.now)  # the series asked
    kept.note("s", "c", asked_at=clock.now)  # an instance located alone meanwhile does not undo that
    assert not kept.wants_series("s", "d"), "the series was asked twice within the window"
    clock.now += 2.0
    assert not kept.wants_series("s", "d")
    kept.note("s", "d", asked_at=clock.now)  # a new window: again only from the second instance
    assert kept.wants_series("s", "e")
    clock.now += 2.0
    assert not kept.wants_series("s", "e"), "an instance located 2 s ago still counted"


def test_a_series_keeps_at_most_half_the_rows() -> None:
    assert VisibleInstances(size=8192).series_rows == 4096
