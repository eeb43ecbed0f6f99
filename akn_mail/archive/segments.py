"""Values worked out once per index segment: a segment's files never change (a deletion
is part of the key), so what a search derives from them (the vocabulary, the documents of
an expansion, the dates and lengths of its documents) is kept for the next search, the least recently used dropped."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable, Hashable, TypeVar

Value = TypeVar("Value")


class SegmentCache:
    """At most ``size`` values, each for one segment and key."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[tuple, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, reader, key: Hashable, build: Callable[[], Value]) -> Value:
        """The value for ``key`` in the reader's segment, built on first use (not kept for a
        reader that is not one segment's)."""
        segment = reader.segment() if hasattr(reader, "segment") else None
        if segment is None:
            return build()
        full = (segment.segment_id(), segment.deleted_count(), key)
        with self._lock:
            if full in self._items:
                self._items.move_to_end(full)
                return self._items[full]
        value = build()
        with self._lock:
            self._items[full] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value
