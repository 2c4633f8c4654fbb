"""Query shapes compiled once: peewee builds a statement's SQL anew on every execution.

For a statement run once per reply (the SUP a reply names, with its joins and
subqueries) building the SQL costs more than SQLite takes to run it. A
``Prepared`` builds its query once per database with placeholders (``Slot``)
where the values go, keeps the SQL text, and afterwards only puts the values in.
Rows come back through peewee's own cursor wrapper, as from the query itself.

Only for shapes whose values need no conversion (ids, plain strings): a value
goes to the driver as given.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

from peewee import Model, Query, Value

from mailsup.models import db


class Slot:
    """Where the ``index``-th value of a prepared statement goes."""

    def __init__(self, index: int) -> None:
        self.index = index


class Prepared:
    """``Prepared(lambda sup_id: Sup.select().where(Sup.id == sup_id))``, then
    ``prepared.rows(42)``: the query's rows for that value."""

    def __init__(self, build: Callable[..., Query], arity: int = 1) -> None:
        self._build, self._arity = build, arity
        self._compiled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._columns: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def _compile(self, database) -> tuple[Query, str, list, list[tuple[int, int]]]:
        with self._lock:
            found = self._compiled.get(database)
            if found is None:
                query = self._build(*(Value(Slot(i), converter=False)
                                      for i in range(self._arity)))
                sql, params = database.get_sql_context().sql(query).query()
                slots = [(at, p.index) for at, p in enumerate(params) if isinstance(p, Slot)]
                if {index for _, index in slots} != set(range(self._arity)):
                    raise ValueError(f"a prepared query lost one of its {self._arity} values "
                                     "(converted while being built?)")
                found = self._compiled[database] = (query, sql, params, slots)
            return found

    def execute(self, *values: Any):
        """Run the statement with ``values``: the driver's cursor (``rowcount`` …)."""
        return self._run(values)[1]

    def rows(self, *values: Any):
        """The rows of the query for ``values``, as peewee would give them.

        peewee's cursor wrapper works out, per execution, which column goes to which
        model and field (for a SUP with its joins, as long as the rest of the read):
        the same SQL always gives the same answer, so it is worked out once too.
        """
        query, cursor = self._run(values)
        wrapper = query._get_cursor_wrapper(cursor)
        known = self._columns.get(db.obj)
        if known is None:
            before = set(vars(wrapper))
            wrapper.initialize()
            known = {k: v for k, v in vars(wrapper).items() if k not in before}
            self._columns[db.obj] = known
        else:
            vars(wrapper).update(known)
        wrapper.initialized = True
        return wrapper

    def execute_many(self, rows: list[tuple]) -> None:
        """Run the statement once per tuple of values, in one driver call (``executemany``)."""
        database = db.obj
        _query, sql, params, slots = self._compile(database)
        database.cursor().executemany(sql, [self._bind(params, slots, values)
                                            for values in rows])

    def _bind(self, params: list, slots: list[tuple[int, int]], values: tuple) -> list:
        if len(values) != self._arity:
            raise TypeError(f"prepared query takes {self._arity} values, not {len(values)}")
        params = list(params)
        for at, index in slots:
            params[at] = values[index]
        return params

    def _run(self, values: tuple) -> tuple[Query, Any]:
        database = db.obj
        query, sql, params, slots = self._compile(database)
        return query, database.execute_sql(sql, self._bind(params, slots, values))

    def first(self, *values: Any):
        """The first row for ``values``, or None."""
        return next(iter(self.rows(*values)), None)


_UPDATES: dict[type, Prepared] = {}


def save(row: Model) -> int:
    """``row.save()`` of a row read whole: the same UPDATE of every column, with its SQL
    built once per model (``save`` builds it anew each time: a SUP has 30 columns)."""
    meta = row._meta
    fields = [f for f in meta.sorted_fields if f is not meta.primary_key]
    if row._pk is None or any(f.name not in row.__data__ for f in fields):
        return row.save()  # an insert, or a row read in part: peewee's own way
    model = type(row)
    prepared = _UPDATES.get(model)
    if prepared is None:
        prepared = _UPDATES[model] = Prepared(
            lambda *values: (model.update(dict(zip(fields, values[:-1], strict=True)))
                             .where(meta.primary_key == values[-1])), arity=len(fields) + 1)
    values = [f.db_value(row.__data__[f.name]) for f in fields]
    rows = prepared.execute(*values, row._pk).rowcount
    row._dirty.clear()  # as save() leaves it: everything written
    return rows
