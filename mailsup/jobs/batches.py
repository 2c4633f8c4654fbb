"""Side effects queued a batch per transaction, and what happens when one batch fails.

A catch-up tick queues thousands of reminders or digests; one transaction (and
one INSERT per table) per batch is what makes that fast. A batch that fails for
one bad entry (a template meeting a name it cannot render, say) is tried again
one entry at a time, so that entry costs only itself. A database error is not
one entry's fault: it goes up to the tick, which reports the job and retries
it next time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

from peewee import DatabaseError, InterfaceError, chunked

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


def in_batches(items: Sequence[T], size: int, queue: Callable[[list[T]], list[R]],
               name: Callable[[T], str], what: str) -> list[R]:
    """``queue(batch)`` for each batch of ``size``; what they return, together.

    ``name(item)`` says whose entry failed in the log; ``what`` is the plural
    the log uses ("reminders").
    """
    done: list[R] = []
    for batch in chunked(items, size):
        try:
            done += queue(batch)
        except (DatabaseError, InterfaceError):
            raise
        except Exception:  # noqa: BLE001 - retried one by one below
            log.exception("batch of %d %s failed; queueing them one by one", len(batch), what)
            for item in batch:
                try:
                    done += queue([item])
                except (DatabaseError, InterfaceError):
                    raise
                except Exception:  # noqa: BLE001 - one bad entry must not stop the others
                    log.exception("%s: not queued for %s", what, name(item))
    return done
