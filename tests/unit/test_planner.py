"""The pure scheduling core: readiness, skips, failure, replay, loop bookkeeping (no asyncio)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings, strategies as st

from pilot.engine.planner import LoopPlan, Planner


def plan(nodes: str, edges: list[tuple], conditions: str = "") -> Planner:
    return Planner(list(nodes), [(e[0], e[1], e[2] if len(e) > 2 else None) for e in edges], list(conditions))


def test_chain_releases_one_node_at_a_time() -> None:
    p = plan("abc", [("a", "b"), ("b", "c")])
    assert p.start() == ["a"]
    assert p.succeeded("a").ready == ["b"]
    assert p.succeeded("b").ready == ["c"]
    assert not p.finished
    assert p.succeeded("c").ready == []
    assert p.finished


def test_join_waits_for_every_predecessor_but_not_for_unrelated_nodes() -> None:
    # a → b → d ; a → c → d ; x (unrelated entry) → y
    p = plan("abcdxy", [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("x", "y")])
    assert p.start() == ["a", "x"]
    assert p.succeeded("a").ready == ["b", "c"]
    assert p.succeeded("b").ready == []  # d still waits for c
    assert p.succeeded("x").ready == ["y"]  # no level barrier: y starts while c runs
    assert p.succeeded("c").ready == ["d"]


def test_condition_skips_untaken_branch_and_its_exclusive_descendants() -> None:
    # cond -yes-> a -> a2 ; cond -no-> b -> b2 ; a2, b2 -> join
    p = plan(
        ["cond", "a", "a2", "b", "b2", "join"],  # type: ignore[arg-type]
        [("cond", "a", "yes"), ("cond", "b", "no"), ("a", "a2"), ("b", "b2"), ("a2", "join"), ("b2", "join")],
        conditions=["cond"],  # type: ignore[arg-type]
    )
    p.start()
    update = p.succeeded("cond", "yes")
    assert update.ready == ["a"]
    assert update.skipped == ["b", "b2"]  # b2 is exclusive to the untaken branch
    assert p.state["join"] == "pending"  # still reachable through the taken branch
    p.succeeded("a")
    assert p.succeeded("a2").ready == ["join"]
    p.succeeded("join")
    assert p.finished
    assert p.state["b"] == p.state["b2"] == "skipped"


def test_join_of_only_dead_inputs_is_skipped() -> None:
    p = Planner(["c", "a", "b", "j"], [("c", "a", "x"), ("c", "b", "x"), ("a", "j", None), ("b", "j", None)], ["c"])
    p.start()
    update = p.succeeded("c", "else")
    assert update.ready == [] and set(update.skipped) == {"a", "b", "j"}
    assert p.finished


def test_condition_edge_without_handle_is_always_taken() -> None:
    p = Planner(["c", "log", "a"], [("c", "log", None), ("c", "a", "yes")], ["c"])
    p.start()
    update = p.succeeded("c", "else")
    assert update.ready == ["log"] and update.skipped == ["a"]


def test_failure_stops_new_work_and_finishes_when_nothing_runs() -> None:
    p = plan("abcd", [("a", "b"), ("a", "c"), ("b", "d")])
    p.start()
    p.succeeded("a")
    p.running("b")
    p.running("c")
    p.failed_run("b")
    assert p.failed and p.failed_node == "b"
    assert not p.finished  # c is still running
    assert p.succeeded("c").ready == []  # nothing new after a failure
    assert p.finished


def test_abandon_counts_a_stopped_node_as_not_running() -> None:
    p = plan("ab", [])
    p.start()
    p.running("a")
    p.running("b")
    p.failed_run("a")
    p.abandon("b")
    assert p.finished


def test_completing_a_node_twice_is_an_error() -> None:
    p = plan("a", [])
    p.start()
    p.succeeded("a")
    with pytest.raises(ValueError):
        p.succeeded("a")


def test_unknown_edge_endpoint_is_rejected() -> None:
    with pytest.raises(ValueError):
        plan("a", [("a", "zz")])


def test_replay_restores_progress_and_derives_skips() -> None:
    edges = [("i", "c"), ("c", "yes", "y"), ("c", "no", "n"), ("yes", "out"), ("no", "out")]
    p = Planner(["i", "c", "yes", "no", "out"], [(e[0], e[1], e[2] if len(e) > 2 else None) for e in edges], ["c"])
    ready, skipped = p.replay({"i": ("succeeded", None), "c": ("succeeded", "y")})
    assert ready == ["yes"] and skipped == ["no"]
    assert p.state["i"] == p.state["c"] == "succeeded"
    assert p.succeeded("yes").ready == ["out"]


def test_loop_plan_bounds_concurrency_and_keeps_item_order() -> None:
    lp = LoopPlan(5, 2)
    assert lp.to_start() == [0, 1]
    assert lp.to_start() == []  # both slots busy
    assert lp.item_done(1, "r1") == [2]
    assert lp.item_done(0, "r0") == [3]
    assert lp.item_done(3, "r3") == [4]
    lp.item_done(2, "r2")
    assert not lp.finished
    lp.item_done(4, "r4")
    assert lp.finished and lp.results == ["r0", "r1", "r2", "r3", "r4"]


@st.composite
def dags(draw):
    n = draw(st.integers(1, 25))
    names = [f"n{i}" for i in range(n)]
    conditions = {name for name in names if draw(st.booleans()) and draw(st.booleans())}
    edges = []
    for j in range(n):
        for i in range(j):
            if draw(st.integers(0, 3)) == 0:
                handle = draw(st.sampled_from(["a", "b"])) if names[i] in conditions else None
                edges.append((names[i], names[j], handle))
    return names, edges, conditions, draw(st.integers(0, 2**32 - 1))


@given(dags())
@settings(max_examples=150, deadline=None)
def test_random_dags_respect_dependencies_and_resolve_every_node(case) -> None:
    names, edges, conditions, seed = case
    rng = random.Random(seed)
    p = Planner(names, edges, conditions)
    preds: dict[str, set[str]] = {n: set() for n in names}
    for s, t, _ in edges:
        preds[t].add(s)
    resolved: set[str] = set()
    running = list(p.start())
    while running:
        node = running.pop(rng.randrange(len(running)))
        assert preds[node] <= resolved, f"{node} started before its predecessors"
        branch = rng.choice(["a", "b"]) if node in conditions else None
        update = p.succeeded(node, branch)
        resolved.add(node)
        for skipped in update.skipped:
            assert preds[skipped] <= resolved | set(update.skipped)
            resolved.add(skipped)
        running.extend(update.ready)
    assert resolved == set(names) and p.finished
    # A node runs iff at least one incoming edge is live (or it is an entry node).
    for node in names:
        if p.state[node] == "succeeded" and preds[node]:
            assert any(p.state[s] == "succeeded" for s in preds[node])
