"""A small reduced ordered binary decision diagram (ROBDD) package in pure Python.

A node is an ``int``: ``0`` is FALSE, ``1`` is TRUE, and every other node ``n`` is the
triple ``var[n], low[n], high[n]`` (``low`` when the variable is 0, ``high`` when it is 1)
kept in three parallel lists, so that a node costs three list slots, not an object.
Nodes are hash-consed through a unique table, so two equal functions are the same int:
equality, emptiness and containment of the results are then O(1) or a short walk.

Variables are ints ``0 .. num_vars - 1``; a smaller variable is nearer the root. The
terminals carry ``num_vars`` as their variable, which sorts them below every real one and
keeps the apply loops free of special cases.

The binary operations are recursive applies with a shared computed table keyed by
``(op, a, b)``. Their recursion depth is bounded by the number of variables (about a
hundred here), far below Python's limit. The table is cleared when it grows past
``cache_limit`` entries (checked once per top-level call, never mid-apply), so that a long
analysis keeps memory bounded while each operation still has its memo. Nodes are never
freed: a manager lives for one analysis.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import wraps
from typing import NamedTuple, ParamSpec, TypeVar

FALSE = 0
TRUE = 1

P = ParamSpec("P")
R = TypeVar("R")


def gc_paused(function: Callable[P, R]) -> Callable[P, R]:
    """Run ``function`` with the cyclic garbage collector paused (restored after).

    BDD work allocates millions of small tuples (table keys, states) that live as long
    as the manager and can never be in a reference cycle, and every collection that
    runs meanwhile rescans all of them: pausing it saves 20-40% of the time. Reference
    counting still frees everything as usual; nested calls leave the collector alone."""

    @wraps(function)
    def paused(*args: P.args, **kwargs: P.kwargs) -> R:
        if not gc.isenabled():
            return function(*args, **kwargs)
        gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            gc.enable()

    return paused


# Operation tags of the computed table (written as literals in the hot loops, where a
# constant is cheaper to load than a global): AND 0, OR 1, DIFF 2, NOT 3, ITE 4,
# MEETS 5, IMPLIES 6.


class BDD:
    """One BDD manager: its nodes, unique table and computed table."""

    __slots__ = (
        "_cache",
        "_ops",
        "_orders",
        "_unique",
        "cache_limit",
        "high",
        "low",
        "num_vars",
        "var",
    )

    def __init__(self, num_vars: int, cache_limit: int = 1 << 16) -> None:
        self.num_vars = num_vars
        self.cache_limit = cache_limit
        # Node 0 is FALSE and node 1 is TRUE; their var is below every real variable.
        self.var: list[int] = [num_vars, num_vars]
        self.low: list[int] = [FALSE, TRUE]
        self.high: list[int] = [FALSE, TRUE]
        self._unique: dict[tuple[int, int, int], int] = {}
        self._cache: dict[tuple[int, ...], int] = {}
        self._orders: dict[int, list[int]] = {}  # for stack
        self._ops = _applies(self.var, self.low, self.high, self._unique, self._cache)

    # --- construction -------------------------------------------------------------------

    def mk(self, v: int, low: int, high: int) -> int:
        """The node ``if v then high else low``, reduced and hash-consed."""
        if low == high:
            return low
        key = (v, low, high)
        node = self._unique.get(key)
        if node is None:
            node = len(self.var)
            self.var.append(v)
            self.low.append(low)
            self.high.append(high)
            self._unique[key] = node
        return node

    def literal(self, v: int, value: bool = True) -> int:
        """The function ``v == value``."""
        return self.mk(v, FALSE, TRUE) if value else self.mk(v, TRUE, FALSE)

    def cube(self, assignment: Mapping[int, bool] | Iterable[tuple[int, bool]]) -> int:
        """The conjunction of literals ``v == value``: built bottom-up with ``mk`` alone,
        one node per literal, no apply."""
        items = assignment.items() if isinstance(assignment, Mapping) else assignment
        node = TRUE
        mk = self.mk
        for v, value in sorted(items, reverse=True):
            node = mk(v, FALSE, node) if value else mk(v, node, FALSE)
        return node

    def bits_cube(
        self, first_var: int, width: int, value: int, care: int = -1, bottom: int = TRUE
    ) -> int:
        """The cube of a ``width``-bit field stored most significant bit first from
        ``first_var``: bits set in ``care`` must equal ``value``; the others are free (absent
        from the cube, which is what makes non-contiguous wildcards exact). With
        ``bottom``, the cube stacked on it (its conjunction with ``bottom``, whose
        variables must all come after the field's), built in place."""
        if bottom == FALSE:
            return FALSE
        node = bottom
        var, low, high, unique = self.var, self.low, self.high, self._unique
        lookup, new_var, new_low, new_high = unique.get, var.append, low.append, high.append
        v = first_var + width
        for i in range(width):  # least significant bit first: build bottom-up
            v -= 1
            if (care >> i) & 1:
                key = (v, FALSE, node) if (value >> i) & 1 else (v, node, FALSE)
                found = lookup(key)  # mk, inlined (its children differ by design)
                if found is None:
                    found = len(var)
                    new_var(v)
                    new_low(key[1])
                    new_high(key[2])
                    unique[key] = found
                node = found
        return node

    # --- operations ---------------------------------------------------------------------

    def _run(self, op: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        # One top-level operation: bound the computed table first (never mid-apply), and
        # pause the garbage collector (see gc_paused).
        if len(self._cache) > self.cache_limit:
            self._cache.clear()
        if not gc.isenabled():
            return op(*args, **kwargs)
        gc.disable()
        try:
            return op(*args, **kwargs)
        finally:
            gc.enable()

    def and_(self, a: int, b: int) -> int:
        """Conjunction."""
        return self._run(self._ops.and_, a, b)

    def or_(self, a: int, b: int) -> int:
        """Disjunction."""
        return self._run(self._ops.or_, a, b)

    def not_(self, a: int) -> int:
        """Negation (no complement edges: linear in the size of ``a``, memoised)."""
        return self._run(self._ops.not_, a)

    def diff(self, a: int, b: int) -> int:
        """``a & ~b``, in one pass."""
        return self._run(self._ops.diff, a, b)

    def ite(self, f: int, g: int, h: int) -> int:
        """``(f & g) | (~f & h)``."""
        return self._run(self._ops.ite, f, g, h)

    def stack(self, top: int, bottom: int) -> int:
        """``top & bottom`` when every variable of ``top`` comes before every variable of
        ``bottom`` (the caller's promise): ``top`` with its TRUE leaf replaced by
        ``bottom``, one node made per node of ``top``, instead of a pairwise apply.

        A loop over ``top``'s nodes in increasing id order (children before parents),
        kept per ``top``: access lists stack the same address and port sets on many
        different remainders."""
        if top <= TRUE or bottom == TRUE:
            return bottom if top == TRUE else top
        if bottom == FALSE:
            return FALSE
        order = self._orders.get(top)
        if order is None:
            order = self._order(top)
        var, low, high, unique = self.var, self.low, self.high, self._unique
        lookup, new_var, new_low, new_high = unique.get, var.append, low.append, high.append
        built = {FALSE: FALSE, TRUE: bottom}
        node = bottom
        for n in order:
            # The image of top's nodes is one-to-one (bottom is below them all), so the
            # children stay distinct: no reduction to check.
            key = (var[n], built[low[n]], built[high[n]])
            found = lookup(key)
            if found is None:
                found = len(var)
                new_var(key[0])
                new_low(key[1])
                new_high(key[2])
                unique[key] = found
            built[n] = node = found
        return node  # top's own image: top has the largest id of its nodes

    def _order(self, top: int) -> list[int]:
        # The internal nodes under ``top`` in increasing id order, remembered (a bounded
        # table, like the computed one).
        if len(self._orders) >= self.cache_limit:
            self._orders.clear()
        low, high = self.low, self.high
        seen = {top}
        todo = [top]
        while todo:
            n = todo.pop()
            for child in (low[n], high[n]):
                if child > TRUE and child not in seen:
                    seen.add(child)
                    todo.append(child)
        order = sorted(seen)
        self._orders[top] = order
        return order

    def intersects(self, a: int, b: int) -> bool:
        """Whether ``a & b`` is satisfiable, without building it."""
        return bool(self._run(self._ops.meets, a, b))

    def implies(self, a: int, b: int) -> bool:
        """Whether every assignment satisfying ``a`` satisfies ``b``, without building
        ``a & ~b``."""
        return bool(self._run(self._ops.implies, a, b))

    def or_all(self, nodes: Iterable[int]) -> int:
        """The union of ``nodes``, merged pairwise as a balanced tree: operands of
        similar size keep the intermediate results small."""
        return self._balanced(list(nodes), self.or_, FALSE)

    def and_all(self, nodes: Iterable[int]) -> int:
        """The intersection of ``nodes``, merged as a balanced tree."""
        return self._balanced(list(nodes), self.and_, TRUE)

    @staticmethod
    def _balanced(nodes: list[int], op: Callable[[int, int], int], unit: int) -> int:
        if not nodes:
            return unit
        while len(nodes) > 1:
            merged = [op(nodes[i], nodes[i + 1]) for i in range(0, len(nodes) - 1, 2)]
            if len(nodes) % 2:
                merged.append(nodes[-1])
            nodes = merged
        return nodes[0]

    # --- decision lists (first match) --------------------------------------------------

    def decision_list(self, entries: Sequence[tuple[int, bool]]) -> int:
        """The set where the first entry ``(node, verdict)`` containing the point has
        verdict True: an access list's first match with the implicit deny at the end.

        Built top-down in one pass instead of folding ``ite`` over the entries: a state is
        the list of the entries' cofactors along one path, in order, without the empty
        ones and cut after the first that became TRUE (it decides everything below); a
        state's node is ``mk(v, state|v=0, state|v=1)`` for its smallest variable ``v``,
        memoised per state. Only nodes of the result are made (no intermediate BDDs: on a
        2,000-line ACL, a third of the nodes and 70% of the time of a balanced ``ite``
        merge, a quarter of the nodes and half the time of the back-to-front fold), and a
        state collapses to a leaf or to an existing node as soon as one entry decides it
        or a single permit is left.

        In a state an entry is a signed node id: ``+n`` permit, ``-n`` deny (ids of
        internal nodes are >= 2 and TRUE is 1, so signs never collide); a TRUE cofactor
        is ``+1`` or ``-1``, and ends the state. Trailing denies are dropped: the
        implicit deny does the same. A state of two entries is a binary apply (``a | b``
        for two permits, ``b & ~a`` for a deny then a permit) and is handed to it: the
        same nodes, at a fraction of the cost of a state (half the states of a long
        list are pairs)."""
        signed: list[int] = []
        for node, verdict in entries:
            if node != FALSE:
                signed.append(node if verdict else -node)
                if node == TRUE:
                    break  # nothing after a match-all entry can be reached
        while signed and signed[-1] < 0:
            signed.pop()
        if len(signed) <= 1:
            return signed[0] if signed else FALSE
        return self._run(self._decide, tuple(signed))

    def _decide(self, start: tuple[int, ...]) -> int:  # noqa: PLR0915 (inlined hot path)
        # decision_list's walk, from a settled state: two entries or more, none FALSE,
        # TRUE only last, a permit last.
        var, low, high, unique = self.var, self.low, self.high, self._unique
        lookup, new_var, new_low, new_high = unique.get, var.append, low.append, high.append
        or_, diff = self._ops.or_, self._ops.diff
        memo: dict[tuple[int, ...], int] = {}
        remembered = memo.get

        def solve(items: tuple[int, ...]) -> int:  # noqa: PLR0915 (the hot path)
            # ``items`` is settled and has three entries or more.
            v = min([var[x] if x > 0 else var[-x] for x in items])
            lo: list[int] = []
            hi: list[int] = []
            for x in items:
                if x > 0:
                    if var[x] != v:  # the entry does not test v: the same on both sides
                        lo.append(x)
                        hi.append(x)
                        continue
                    c0, c1 = low[x], high[x]
                else:
                    if var[-x] != v:
                        lo.append(x)
                        hi.append(x)
                        continue
                    c0, c1 = -low[-x], -high[-x]
                if c0:  # empty cofactors drop out
                    lo.append(c0)
                if c1:
                    hi.append(c1)
            # Cut each side after its first TRUE entry, which decides everything below it.
            if TRUE in lo:
                del lo[lo.index(TRUE) + 1 :]
            if -TRUE in lo:
                del lo[lo.index(-TRUE) + 1 :]
            if TRUE in hi:
                del hi[hi.index(TRUE) + 1 :]
            if -TRUE in hi:
                del hi[hi.index(-TRUE) + 1 :]
            # Each side: drop trailing denies; one entry is that entry's node (a permit,
            # or TRUE), two are an apply, more are a state. Inlined: the hot path.
            while lo and lo[-1] < 0:
                lo.pop()
            n = len(lo)
            if n > 2:
                state = tuple(lo)
                lo_node = remembered(state)
                if lo_node is None:
                    lo_node = solve(state)
            elif n == 2:
                a, b = lo
                lo_node = or_(a, b) if a > 0 else diff(b, -a)
            else:
                lo_node = lo[0] if n else FALSE
            while hi and hi[-1] < 0:
                hi.pop()
            n = len(hi)
            if n > 2:
                state = tuple(hi)
                hi_node = remembered(state)
                if hi_node is None:
                    hi_node = solve(state)
            elif n == 2:
                a, b = hi
                hi_node = or_(a, b) if a > 0 else diff(b, -a)
            else:
                hi_node = hi[0] if n else FALSE
            if lo_node == hi_node:  # mk, inlined
                node = lo_node
            else:
                key = (v, lo_node, hi_node)
                found = lookup(key)
                if found is None:
                    node = len(var)
                    new_var(v)
                    new_low(lo_node)
                    new_high(hi_node)
                    unique[key] = node
                else:
                    node = found
            memo[items] = node
            return node

        if len(start) == 2:
            a, b = start
            return or_(a, b) if a > 0 else diff(b, -a)
        return solve(start)

    def first_hits(self, nodes: Sequence[int]) -> set[int]:
        """The indices ``i`` such that some point is in ``nodes[i]`` and in no earlier
        node: the access-list lines that can be the first match (the others are shadowed).

        The same top-down walk as :meth:`decision_list`, building nothing: a state's
        entries carry their index (``node << shift | index``); an entry is hit when it
        comes first with a TRUE cofactor or alone; entries already hit are dropped from
        the end of a state, since they can only shadow what follows them."""
        shift = max(len(nodes), 1).bit_length()
        mask = (1 << shift) - 1
        hit: set[int] = set()
        seen: set[tuple[int, ...]] = set()
        var, low, high = self.var, self.low, self.high

        def settle(items: list[int]) -> bool:
            # Whether the list still needs a split; records the entry it decides, if any.
            while items and items[-1] & mask in hit:
                items.pop()
            if not items:
                return False
            first = items[0]
            if len(items) == 1 or first >> shift == TRUE:
                hit.add(first & mask)
                return False
            return tuple(items) not in seen

        def visit(state: tuple[int, ...]) -> None:
            seen.add(state)
            tops = [var[e >> shift] for e in state]
            v = min(tops)
            lo: list[int] = []
            hi: list[int] = []
            lo_open = hi_open = True
            for e, top in zip(state, tops, strict=True):
                if top == v:
                    n, index = e >> shift, e & mask
                    c0, c1 = low[n], high[n]
                    if lo_open and c0:
                        lo.append(c0 << shift | index)
                        lo_open = c0 != TRUE
                    if hi_open and c1:
                        hi.append(c1 << shift | index)
                        hi_open = c1 != TRUE
                    if not (lo_open or hi_open):
                        break
                else:  # the entry does not test v: the same on both sides
                    if lo_open:
                        lo.append(e)
                    if hi_open:
                        hi.append(e)
            if settle(lo):
                visit(tuple(lo))
            if settle(hi):
                visit(tuple(hi))

        start: list[int] = []
        for index, node in enumerate(nodes):
            if node != FALSE:
                start.append(node << shift | index)
                if node == TRUE:
                    break
        if settle(start):
            self._run(visit, tuple(start))
        return hit

    def clear_cache(self) -> None:
        """Forget the computed table (the nodes stay valid)."""
        self._cache.clear()
        self._orders.clear()

    # --- queries ------------------------------------------------------------------------

    @staticmethod
    def is_false(node: int) -> bool:
        """Whether ``node`` is the empty function: O(1) thanks to hash-consing."""
        return node == FALSE

    @staticmethod
    def is_true(node: int) -> bool:
        """Whether ``node`` is the constant TRUE."""
        return node == TRUE

    def __len__(self) -> int:
        """The number of nodes ever made, terminals included."""
        return len(self.var)

    def size(self, node: int) -> int:
        """The number of nodes reachable from ``node``, terminals included."""
        seen = {node}
        stack = [node]
        low, high = self.low, self.high
        while stack:
            n = stack.pop()
            if n > TRUE:
                for child in (low[n], high[n]):
                    if child not in seen:
                        seen.add(child)
                        stack.append(child)
        return len(seen)

    def evaluate(self, node: int, bits: int) -> bool:
        """The value of ``node`` where variable ``v`` is bit ``num_vars - 1 - v`` of
        ``bits`` (variable 0 is the most significant bit)."""
        var, low, high = self.var, self.low, self.high
        top = self.num_vars - 1
        while node > TRUE:
            node = high[node] if (bits >> (top - var[node])) & 1 else low[node]
        return node == TRUE

    def pick(self, node: int, prefer: Mapping[int, bool] | None = None) -> dict[int, bool] | None:
        """One satisfying assignment of the variables on one path (the others are free),
        or None for FALSE. Deterministic: each step takes the preferred value of its
        variable (default 0) when that branch is satisfiable. In a reduced BDD every node
        but FALSE is satisfiable, so the walk never backtracks."""
        if node == FALSE:
            return None
        var, low, high = self.var, self.low, self.high
        out: dict[int, bool] = {}
        while node > TRUE:
            v = var[node]
            want = prefer.get(v, False) if prefer is not None else False
            nxt = high[node] if want else low[node]
            if nxt == FALSE:
                want = not want
                nxt = high[node] if want else low[node]
            out[v] = want
            node = nxt
        return out

    def witness(
        self,
        include: Sequence[int],
        exclude: Sequence[int] = (),
        prefer: Mapping[int, bool] | None = None,
    ) -> dict[int, bool] | None:
        """One assignment (of the variables on one path) in every ``include`` node and in
        no ``exclude`` node, or None: ``pick(and(include) & ~or(exclude))`` without
        building either. A depth-first search over the tuples of cofactors, preferred
        value first; it stops at the first witness, and memoises the tuples that have
        none, so that a proof of emptiness visits each reachable tuple once. One node
        against at most one is the common query, and is answered by the memoised
        ``implies`` apply instead (the same witness, see :meth:`_pair_witness`)."""
        if len(include) == 1 and len(exclude) <= 1:
            return self._run(
                self._pair_witness, include[0], exclude[0] if exclude else FALSE, prefer
            )
        var, low, high = self.var, self.low, self.high
        failed: set[tuple[tuple[int, ...], tuple[int, ...]]] = set()
        path: dict[int, bool] = {}

        def search(inc: tuple[int, ...], exc: tuple[int, ...]) -> bool:
            if FALSE in inc or TRUE in exc:
                return False
            inc = tuple([n for n in inc if n != TRUE])
            exc = tuple([n for n in exc if n != FALSE])
            if not (inc or exc):
                return True
            for n in inc:  # no point is both in n and outside n
                if n in exc:
                    return False
            key = (inc, exc)
            if key in failed:
                return False
            v = min([var[n] for n in inc + exc])
            want = prefer.get(v, False) if prefer is not None else False
            for value in (want, not want):
                path[v] = value
                side = high if value else low
                if search(
                    tuple([side[n] if var[n] == v else n for n in inc]),
                    tuple([side[n] if var[n] == v else n for n in exc]),
                ):
                    return True
            del path[v]
            failed.add(key)
            return False

        found = self._run(search, tuple(include), tuple(exclude))
        return path if found else None

    def _pair_witness(
        self, a: int, b: int, prefer: Mapping[int, bool] | None
    ) -> dict[int, bool] | None:
        # witness([a], [b]): the same depth-first choice (the preferred value of each
        # variable when that side has a point of a & ~b), but each side is tested with
        # the memoised ``implies`` apply (no witness on a side: it implies b there),
        # which also proves emptiness far more cheaply than the generic search.
        implies = self._ops.implies
        if implies(a, b):
            return None
        var, low, high = self.var, self.low, self.high
        path: dict[int, bool] = {}
        while a != TRUE or b != FALSE:  # a & ~b is not empty here
            va, vb = var[a], var[b]
            v = va if va < vb else vb
            want = prefer.get(v, False) if prefer is not None else False
            a0, a1 = (low[a], high[a]) if va == v else (a, a)
            b0, b1 = (low[b], high[b]) if vb == v else (b, b)
            if want:
                a0, a1, b0, b1 = a1, a0, b1, b0
            if implies(a0, b0):  # nothing on the preferred side: take the other
                want = not want
                a, b = a1, b1
            else:
                a, b = a0, b0
            path[v] = want
        return path

    def paths(self, node: int) -> Iterator[dict[int, bool]]:
        """Every path to TRUE as a partial assignment (a cube): the cubes are disjoint and
        their union is ``node``. Low branches first, so the order is deterministic."""
        var, low, high = self.var, self.low, self.high
        # Explicit stack of (node, assignment so far): the walk follows low branches in
        # place and pushes a copy of the assignment for each high branch it postpones.
        stack: list[tuple[int, dict[int, bool]]] = [(node, {})] if node != FALSE else []
        while stack:
            n, path = stack.pop()
            while n > TRUE:  # every node but FALSE is satisfiable: this reaches TRUE
                v, lo, hi = var[n], low[n], high[n]
                if lo == FALSE:
                    path[v] = True
                    n = hi
                    continue
                if hi != FALSE:
                    branch = dict(path)
                    branch[v] = True
                    stack.append((hi, branch))
                path[v] = False
                n = lo
            yield path


class _Ops(NamedTuple):
    mk: Callable[[int, int, int], int]
    and_: Callable[[int, int], int]
    or_: Callable[[int, int], int]
    not_: Callable[[int], int]
    diff: Callable[[int, int], int]
    ite: Callable[[int, int, int], int]
    meets: Callable[[int, int], int]
    implies: Callable[[int, int], int]


def _applies(  # noqa: PLR0915 (one closure per operation, sharing the tables)
    var: list[int],
    low: list[int],
    high: list[int],
    unique: dict[tuple[int, int, int], int],
    cache: dict[tuple[int, ...], int],
) -> _Ops:
    """The recursive workers, as closures over the node lists and the tables (mutated in
    place, never rebound): the hot path then reads fast locals and cells, not attributes.

    ``mk`` is inlined in the binary applies (a call costs as much as the rest of the step):
    ``lo == hi`` reduces, else the unique table hash-conses. Children always have smaller
    ids than their parents, since a node is made after both of them."""
    get, lookup = cache.get, unique.get
    new_var, new_low, new_high = var.append, low.append, high.append

    def mk(v: int, lo: int, hi: int) -> int:
        if lo == hi:
            return lo
        key = (v, lo, hi)
        r = lookup(key)
        if r is None:
            r = len(var)
            new_var(v)
            new_low(lo)
            new_high(hi)
            unique[key] = r
        return r

    def and_(a: int, b: int) -> int:
        if a == b or b == TRUE:  # noqa: PLR1714 (int compares beat a tuple)
            return a
        if a <= TRUE or b == FALSE:  # a is a terminal, or b is FALSE
            return b if a == TRUE else FALSE
        if a > b:  # commutative: one cache entry per unordered pair
            a, b = b, a
        key = (0, a, b)
        r = get(key)
        if r is not None:
            return r
        v, vb = var[a], var[b]
        if v == vb:
            lo, hi = and_(low[a], low[b]), and_(high[a], high[b])
        elif v < vb:
            lo, hi = and_(low[a], b), and_(high[a], b)
        else:
            v = vb
            lo, hi = and_(a, low[b]), and_(a, high[b])
        if lo == hi:
            r = lo
        else:
            ukey = (v, lo, hi)
            r = lookup(ukey)
            if r is None:
                r = len(var)
                new_var(v)
                new_low(lo)
                new_high(hi)
                unique[ukey] = r
        cache[key] = r
        return r

    def or_(a: int, b: int) -> int:
        if a == b or b == FALSE:  # noqa: PLR1714 (int compares beat a tuple)
            return a
        if a <= TRUE or b == TRUE:
            return b if a == FALSE else TRUE
        if a > b:
            a, b = b, a
        key = (1, a, b)
        r = get(key)
        if r is not None:
            return r
        v, vb = var[a], var[b]
        if v == vb:
            lo, hi = or_(low[a], low[b]), or_(high[a], high[b])
        elif v < vb:
            lo, hi = or_(low[a], b), or_(high[a], b)
        else:
            v = vb
            lo, hi = or_(a, low[b]), or_(a, high[b])
        if lo == hi:
            r = lo
        else:
            ukey = (v, lo, hi)
            r = lookup(ukey)
            if r is None:
                r = len(var)
                new_var(v)
                new_low(lo)
                new_high(hi)
                unique[ukey] = r
        cache[key] = r
        return r

    def not_(a: int) -> int:
        if a <= TRUE:
            return 1 - a
        key = (3, a)
        r = get(key)
        if r is None:
            r = mk(var[a], not_(low[a]), not_(high[a]))
            cache[key] = r
        return r

    def diff(a: int, b: int) -> int:
        # a & ~b without building ~b.
        if a == FALSE or b == TRUE or a == b:  # noqa: PLR1714, SIM109 (int compares beat a tuple)
            return FALSE
        if b == FALSE:
            return a
        if a == TRUE:
            return not_(b)
        key = (2, a, b)
        r = get(key)
        if r is not None:
            return r
        v, vb = var[a], var[b]
        if v == vb:
            lo, hi = diff(low[a], low[b]), diff(high[a], high[b])
        elif v < vb:
            lo, hi = diff(low[a], b), diff(high[a], b)
        else:
            v = vb
            lo, hi = diff(a, low[b]), diff(a, high[b])
        if lo == hi:
            r = lo
        else:
            ukey = (v, lo, hi)
            r = lookup(ukey)
            if r is None:
                r = len(var)
                new_var(v)
                new_low(lo)
                new_high(hi)
                unique[ukey] = r
        cache[key] = r
        return r

    def ite(f: int, g: int, h: int) -> int:
        # Terminal cases, and the ones that reduce to a cheaper binary operation.
        if f == TRUE or g == h:
            return g
        if f == FALSE:
            return h
        if g == TRUE or g == f:  # noqa: PLR1714, SIM109 (int compares beat a tuple)
            return or_(f, h)
        if h == FALSE or h == f:  # noqa: PLR1714, SIM109 (int compares beat a tuple)
            return and_(f, g)
        if g == FALSE:
            return diff(h, f)
        if h == TRUE and g == FALSE:
            return not_(f)
        key = (4, f, g, h)
        r = get(key)
        if r is not None:
            return r
        vf, vg, vh = var[f], var[g], var[h]
        v = min(vf, vg, vh)
        f0, f1 = (low[f], high[f]) if vf == v else (f, f)
        g0, g1 = (low[g], high[g]) if vg == v else (g, g)
        h0, h1 = (low[h], high[h]) if vh == v else (h, h)
        r = mk(v, ite(f0, g0, h0), ite(f1, g1, h1))
        cache[key] = r
        return r

    # The predicates build no nodes and stop at the first witness, which returns
    # straight up to the caller: so only the other answer needs memoising (without
    # that memo, shared subgraphs would be explored once per path: exponential).
    def meets(a: int, b: int) -> int:
        if a == FALSE or b == FALSE:  # noqa: PLR1714 (int compares beat a tuple)
            return FALSE
        if a == TRUE or b == TRUE or a == b:  # noqa: PLR1714, SIM109 (int compares beat a tuple)
            return TRUE
        if a > b:
            a, b = b, a
        key = (5, a, b)
        if key in cache:
            return FALSE
        va, vb = var[a], var[b]
        if va == vb:
            r = meets(low[a], low[b]) or meets(high[a], high[b])
        elif va < vb:
            r = meets(low[a], b) or meets(high[a], b)
        else:
            r = meets(a, low[b]) or meets(a, high[b])
        if not r:
            cache[key] = FALSE
        return r

    def implies(a: int, b: int) -> int:
        # Whether a <= b, i.e. a & ~b is empty.
        if a == FALSE or b == TRUE or a == b:  # noqa: PLR1714, SIM109 (int compares beat a tuple)
            return TRUE
        if b == FALSE or a == TRUE:  # a is not FALSE and b is not TRUE here
            return FALSE
        key = (6, a, b)
        if key in cache:
            return TRUE
        va, vb = var[a], var[b]
        if va == vb:
            r = implies(low[a], low[b]) and implies(high[a], high[b])
        elif va < vb:
            r = implies(low[a], b) and implies(high[a], b)
        else:
            r = implies(a, low[b]) and implies(a, high[b])
        if r:
            cache[key] = TRUE
        return r

    return _Ops(mk, and_, or_, not_, diff, ite, meets, implies)
