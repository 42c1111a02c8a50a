# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# Compiled twin of _ring_py.py (the documented, type-checked one); same names, same results.
#
# Hash (client contract §5.4, D1): 32-bit FNV-1a over UTF-16 code units. The key's PEP 393
# buffer is read directly: 1- and 2-byte kinds are UTF-16 units already (a 2-byte kind may
# hold lone surrogates, hashed as they are); in the 4-byte kind a code point >= 0x10000
# contributes its high then low surrogate, anything below is one unit.
#
# Ring layout: two parallel C arrays per state, ``hashes`` (uint32, ascending) and ``owners``
# (index into ``urls``). ``_all_*`` hold every virtual node and are built once; ``_hashes`` /
# ``_owners`` hold the candidate subset and are refilled by rebuild(). Ties are ordered by
# insertion index (URL position, then vnode number), which is what a stable sort gives.
# The empty state is all pointers NULL and both counts 0: what _release() leaves, and what
# tp_alloc gives a new object (it zero-fills the instance), so the class needs no __cinit__.

from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport uint32_t, uint64_t
from libc.stdlib cimport qsort
from libc.string cimport memcpy

__all__ = ["HashRing", "fnv1a32"]


cdef extern from "Python.h":
    int PyUnicode_KIND(object o)
    void *PyUnicode_DATA(object o)
    Py_ssize_t PyUnicode_GET_LENGTH(object o)
    int PyUnicode_READY(object o) except -1

cdef enum:
    OFFSET_BASIS = 2166136261u
    PRIME = 16777619u


cdef inline uint32_t _fnv_unit(uint32_t h, uint32_t unit) noexcept nogil:
    return (h ^ unit) * <uint32_t>PRIME


cdef uint32_t _fnv_str(uint32_t h, str key) except? 0:
    cdef Py_ssize_t i, n
    cdef int kind
    cdef const unsigned char *d1
    cdef const unsigned short *d2
    cdef const uint32_t *d4
    cdef uint32_t cp
    PyUnicode_READY(key)  # no-op on 3.12+; legacy strings on 3.9-3.11
    n = PyUnicode_GET_LENGTH(key)
    kind = PyUnicode_KIND(key)
    if kind == 1:
        d1 = <const unsigned char *>PyUnicode_DATA(key)
        for i in range(n):
            h = _fnv_unit(h, d1[i])
    elif kind == 2:
        d2 = <const unsigned short *>PyUnicode_DATA(key)
        for i in range(n):
            h = _fnv_unit(h, d2[i])
    else:
        d4 = <const uint32_t *>PyUnicode_DATA(key)
        for i in range(n):
            cp = d4[i]
            if cp >= 0x10000:
                cp -= 0x10000
                h = _fnv_unit(h, 0xD800 + (cp >> 10))
                h = _fnv_unit(h, 0xDC00 + (cp & 0x3FF))
            else:
                h = _fnv_unit(h, cp)
    return h


def fnv1a32(str key not None):
    return _fnv_str(<uint32_t>OFFSET_BASIS, key)


cdef int _cmp_u64(const void *a, const void *b) noexcept nogil:
    cdef uint64_t x = (<const uint64_t *>a)[0]
    cdef uint64_t y = (<const uint64_t *>b)[0]
    return (x > y) - (x < y)


cdef class HashRing:
    cdef readonly tuple urls
    cdef readonly int vnodes
    cdef uint32_t *_all_hashes
    cdef int *_all_owners
    cdef Py_ssize_t _n_all
    cdef uint32_t *_hashes
    cdef int *_owners
    cdef Py_ssize_t _n

    def __init__(self, urls, int vnodes=128):
        cdef Py_ssize_t nurls, per, position, i, k, total
        cdef uint32_t base, h
        cdef uint64_t *keys
        cdef char digits[24]
        cdef int nd
        cdef unsigned long v
        self.urls = tuple(urls)
        self.vnodes = vnodes
        for url in self.urls:
            if not isinstance(url, str):
                raise TypeError(f"URLs must be str, got {type(url).__name__}")
        nurls = len(self.urls)
        per = vnodes if vnodes > 0 else 0
        total = nurls * per
        self._release()
        self._all_hashes = <uint32_t *>PyMem_Malloc(max(total, 1) * sizeof(uint32_t))
        self._all_owners = <int *>PyMem_Malloc(max(total, 1) * sizeof(int))
        self._hashes = <uint32_t *>PyMem_Malloc(max(total, 1) * sizeof(uint32_t))
        self._owners = <int *>PyMem_Malloc(max(total, 1) * sizeof(int))
        keys = <uint64_t *>PyMem_Malloc(max(total, 1) * sizeof(uint64_t))
        if (self._all_hashes == NULL or self._all_owners == NULL or self._hashes == NULL
                or self._owners == NULL or keys == NULL):
            PyMem_Free(keys)
            self._release()
            raise MemoryError()
        try:
            # Node key "<url>#vnode<i>": hash the common prefix once, then the decimal digits.
            k = 0
            for position in range(nurls):
                base = _fnv_str(<uint32_t>OFFSET_BASIS, self.urls[position] + "#vnode")
                for i in range(per):
                    v = <unsigned long>i
                    nd = 0
                    while True:
                        digits[nd] = <char>(48 + v % 10)
                        nd += 1
                        v //= 10
                        if v == 0:
                            break
                    h = base
                    while nd > 0:
                        nd -= 1
                        h = _fnv_unit(h, <unsigned char>digits[nd])
                    # (hash, insertion index) as one sortable key: ties keep insertion order.
                    keys[k] = (<uint64_t>h << 32) | <uint64_t>k
                    k += 1
            qsort(keys, total, sizeof(uint64_t), _cmp_u64)
            for k in range(total):
                self._all_hashes[k] = <uint32_t>(keys[k] >> 32)
                self._all_owners[k] = <int>((keys[k] & 0xFFFFFFFFu) // per)
        finally:
            PyMem_Free(keys)
        self._n_all = total
        memcpy(self._hashes, self._all_hashes, total * sizeof(uint32_t))
        memcpy(self._owners, self._all_owners, total * sizeof(int))
        self._n = total

    cdef void _release(self) noexcept:
        PyMem_Free(self._all_hashes)
        PyMem_Free(self._all_owners)
        PyMem_Free(self._hashes)
        PyMem_Free(self._owners)
        self._all_hashes = NULL
        self._all_owners = NULL
        self._hashes = NULL
        self._owners = NULL
        self._n_all = 0
        self._n = 0

    def __dealloc__(self):
        self._release()

    def rebuild(self, candidates):
        cdef Py_ssize_t nurls = len(self.urls)
        cdef Py_ssize_t i, k, n
        cdef bytearray flags = bytearray(nurls)
        cdef unsigned char *f
        if self._n_all:
            for i in range(nurls):
                flags[i] = 1 if candidates[i] else 0
        f = <unsigned char *>flags
        n = 0
        for k in range(self._n_all):
            if f[self._all_owners[k]]:
                self._hashes[n] = self._all_hashes[k]
                self._owners[n] = self._all_owners[k]
                n += 1
        self._n = n

    def lookup(self, str key not None):
        cdef uint32_t h
        cdef Py_ssize_t lo, hi, mid
        if self._n == 0:
            return -1
        h = _fnv_str(<uint32_t>OFFSET_BASIS, key)
        # lower_bound: first index whose hash >= h.
        lo = 0
        hi = self._n
        while lo < hi:
            mid = (lo + hi) >> 1
            if self._hashes[mid] < h:
                lo = mid + 1
            else:
                hi = mid
        return self._owners[lo if lo < self._n else 0]
