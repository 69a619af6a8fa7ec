"""The order a policy's clauses are decided in, and the exclusive groups chosen in: one graph, for the compiler
(which refuses a policy whose graph loops: `policy validate`) and the runtime's plan (which follows it).

Nodes: ("c", id) decides a clause; ("g", id) chooses in an exclusive group (pick best or first) once each of its
members is decided. A clause that needs a member of an exclusive group needs the group's choice, since until
then the member's outcome may still change. So a clause that requires another member of its own exclusive group
(or anything that does) can never be decided: a loop through the group, which a loop among clauses alone misses.
"""

from __future__ import annotations

import heapq
from typing import Sequence

from engine.model.policy import Clause, Group

Node = tuple[str, str]  # ("c", clause id) or ("g", group id)


def decision_order(clauses: Sequence[Clause], groups: Sequence[Group]) -> tuple[list[Node], list[Node]]:
    """(order, stuck): each node after everything it needs (Kahn's algorithm, ties in the file's order), and the
    nodes that can never be reached because they need each other in a loop (empty for a sound policy)."""
    exclusive = {m: g for g in groups if g.pick != "all" for m in g.members}
    ids = {c.id for c in clauses}
    final = {cid: ("g", exclusive[cid].id) if cid in exclusive else ("c", cid) for cid in ids}
    needs: dict[Node, set[Node]] = {}
    for clause in clauses:
        needs[("c", clause.id)] = {final[d] for d in clause.dependencies() if d in ids}
    for group in groups:
        if group.pick != "all":
            needs[("g", group.id)] = {("c", m) for m in group.members if m in ids}
    users: dict[Node, list[Node]] = {n: [] for n in needs}
    for node, wanted in needs.items():
        for w in wanted:
            users[w].append(node)
    position = {("c", c.id): i for i, c in enumerate(clauses)}
    position.update({("g", g.id): len(clauses) + i for i, g in enumerate(groups)})
    waiting = {node: len(wanted) for node, wanted in needs.items()}
    # The ready nodes as a heap by position: the earliest in the file is decided next (a re-sorted list was
    # quadratic: seconds for a policy of a few thousand clauses).
    ready = [(position[n], n) for n, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[Node] = []
    while ready:
        node = heapq.heappop(ready)[1]
        order.append(node)
        for user in users[node]:
            waiting[user] -= 1
            if waiting[user] == 0:
                heapq.heappush(ready, (position[user], user))
    done = set(order)
    stuck = sorted((n for n in needs if n not in done), key=position.__getitem__)
    return order, stuck


def loop_through(clauses: Sequence[Clause], groups: Sequence[Group], stuck: Sequence[Node]) -> list[Node]:
    """One loop among the `stuck` nodes, as a path that ends where it starts (the first stuck node's loop)."""
    exclusive = {m: g for g in groups if g.pick != "all" for m in g.members}
    ids = {c.id for c in clauses}
    by_id = {c.id: c for c in clauses}
    members = {g.id: g.members for g in groups}
    stuck_set = set(stuck)

    def needs(node: Node) -> list[Node]:
        kind, nid = node
        if kind == "g":
            wanted = [("c", m) for m in members[nid] if m in ids]
        else:
            wanted = [("g", exclusive[d].id) if d in exclusive else ("c", d)
                      for d in by_id[nid].dependencies() if d in ids]
        return [w for w in wanted if w in stuck_set]

    # Every stuck node needs another stuck node (else it would have been reached), so walking from any of
    # them must come back to a node already on the path.
    path: list[Node] = [stuck[0]]
    seen = {stuck[0]: 0}
    while True:
        step = needs(path[-1])[0]
        if step in seen:
            return path[seen[step]:] + [step]
        seen[step] = len(path)
        path.append(step)
