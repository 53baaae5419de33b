"""The hash-table orders QEMU's replies come out in.

QEMU builds every QMP reply as a ``QDict``, a 512-bucket hash table (``qobject/qdict.c``),
so the members of a reply appear in bucket order, not in schema order: a fresh 7.2's
``query-migrate-parameters`` starts with ``cpu-throttle-tailslow``. And when a request has
several unknown members, the QAPI input visitor names the first one a GLib ``GHashTable``
(``g_str_hash``, open addressing) yields. Both are reproduced here so the emulator's replies
match the real binary's byte for byte, key order included.

    >>> list(qdict_order({"major": 7, "minor": 2, "micro": 22}))
    ['micro', 'minor', 'major']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

__all__ = ["first_unvisited", "qdict_order", "qdict_sorted"]

_QDICT_BUCKET_MAX: Final = 512
_MASK32: Final = 0xFFFFFFFF
# glib/ghash.c: prime_mod[shift], HASH_TABLE_MIN_SHIFT = 3
_PRIME_MOD: Final = (1, 2, 3, 7, 13, 31, 61, 127, 251, 509, 1021, 2039, 4093, 8191, 16381,
                     32749, 65521, 131071, 262139, 524287, 1048573, 2097143, 4194301)
_UNUSED, _TOMBSTONE = 0, 1


def tdb_hash(name: str) -> int:
    """``qobject/qdict.c: tdb_hash``."""
    raw = name.encode("utf-8", errors="surrogatepass")
    value = (0x238F13AF * len(raw)) & _MASK32
    for i, ch in enumerate(raw):
        value = (value + ((ch << (i * 5 % 24)) & _MASK32)) & _MASK32
    return (1103515243 * value + 12345) & _MASK32


def qdict_order(keys: Iterable[str]) -> list[str]:
    """The iteration order of a QDict whose keys were inserted in ``keys`` order."""
    buckets: dict[int, list[str]] = {}
    for key in keys:
        bucket = buckets.setdefault(tdb_hash(key) % _QDICT_BUCKET_MAX, [])
        if key not in bucket:
            bucket.insert(0, key)  # QLIST_INSERT_HEAD
    return [k for b in sorted(buckets) for k in buckets[b]]


def qdict_sorted(value: Any) -> Any:
    """``value`` with every dict's keys in QDict order, recursively (lists keep order)."""
    if isinstance(value, Mapping):
        return {k: qdict_sorted(value[k]) for k in qdict_order(value)}
    if isinstance(value, list):
        return [qdict_sorted(v) for v in value]
    return value


def _g_str_hash(key: str) -> int:
    """``g_str_hash`` (djb2 over *signed* chars), with glib's remap of 0/1 to 2."""
    h = 5381
    for byte in key.encode("utf-8", errors="surrogatepass"):
        signed = byte - 256 if byte > 127 else byte
        h = (h * 33 + signed) & _MASK32
    return h if h > _TOMBSTONE else 2


class _GHashTable:
    """Just enough of glib 2.74's ``GHashTable`` to know its iteration order."""

    def __init__(self) -> None:
        self.nnodes = 0
        self.noccupied = 0
        self._set_shift(3)

    def _set_shift(self, shift: int) -> None:
        self.size = 1 << shift
        self.mod = _PRIME_MOD[shift]
        self.mask = self.size - 1
        self.hashes = [_UNUSED] * self.size
        self.keys: list[str | None] = [None] * self.size

    def _index(self, h: int) -> int:
        return ((h * 11) & _MASK32) % self.mod

    def _lookup(self, key: str) -> tuple[int, int]:
        h = _g_str_hash(key)
        index = self._index(h)
        first_tombstone = -1
        step = 0
        while self.hashes[index] != _UNUSED:
            if self.hashes[index] == h and self.keys[index] == key:
                return index, h
            if self.hashes[index] == _TOMBSTONE and first_tombstone < 0:
                first_tombstone = index
            step += 1
            index = (index + step) & self.mask
        return (first_tombstone if first_tombstone >= 0 else index), h

    def insert(self, key: str) -> None:
        index, h = self._lookup(key)
        if self.hashes[index] > _TOMBSTONE:
            return
        if self.hashes[index] == _UNUSED:
            self.noccupied += 1
        self.hashes[index] = h
        self.keys[index] = key
        self.nnodes += 1
        self._maybe_resize()

    def remove(self, key: str) -> None:
        index, _ = self._lookup(key)
        if self.hashes[index] <= _TOMBSTONE:
            return
        self.hashes[index] = _TOMBSTONE
        self.keys[index] = None
        self.nnodes -= 1
        self._maybe_resize()

    def _maybe_resize(self) -> None:
        if ((self.size > self.nnodes * 4 and self.size > 8)
                or self.size <= self.noccupied + self.noccupied // 16):
            self._resize()

    def _resize(self) -> None:
        old_size = self.size
        old_hashes, old_keys = self.hashes, self.keys
        n = int(self.nnodes * 1.333)
        shift = 0
        while n:
            n >>= 1
            shift += 1
        shift = max(shift, 3)
        new_size = 1 << shift
        self.mod, self.mask = _PRIME_MOD[shift], new_size - 1
        size = max(new_size, old_size)
        hashes = old_hashes + [_UNUSED] * (size - old_size)
        keys = old_keys + [None] * (size - old_size)
        moved = [False] * size
        # resize_map(): in-place rehash with eviction chains, as glib does it
        for i in range(old_size):
            node_hash = hashes[i]
            if node_hash <= _TOMBSTONE:
                hashes[i] = _UNUSED
                continue
            if moved[i]:
                continue
            hashes[i] = _UNUSED
            key, keys[i] = keys[i], None
            while True:
                index = self._index(node_hash)
                step = 0
                while moved[index]:
                    step += 1
                    index = (index + step) & self.mask
                moved[index] = True
                replaced = hashes[index]
                hashes[index] = node_hash
                if replaced <= _TOMBSTONE:
                    keys[index] = key
                    break
                node_hash = replaced
                key, keys[index] = keys[index], key
        self.size = new_size
        self.hashes, self.keys = hashes[:new_size], keys[:new_size]
        self.noccupied = self.nnodes

    def first(self) -> str | None:
        for h, key in zip(self.hashes, self.keys, strict=True):
            if h > _TOMBSTONE:
                return key
        return None


def first_unvisited(keys: Iterable[str], visited: Iterable[str]) -> str | None:
    """The member ``qobject_input_check_struct`` reports as unexpected, or ``None``.

    Args:
        keys: the members of the request object, in the order they were parsed.
        visited: the members the visitor consumed (the known ones present).
    """
    table = _GHashTable()
    for key in qdict_order(keys):  # qdict_iter() feeds the table in QDict order
        table.insert(key)
    for key in visited:
        table.remove(key)
    return table.first()
