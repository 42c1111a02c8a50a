# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# Compiled twin of _batch_py.py (the documented, type-checked one); same behaviour.
#
# ItemQueue layout: a ring of ``cap`` slots (a power of two) in three parallel C arrays, the
# encoded item (owned reference), its admission time (owned reference, kept as given) and its
# length. Live slots are head, head+1, ... head+size-1 (mod cap); every other slot is NULL.
# take() moves the references into the chunk's lists without touching refcounts; requeue() puts
# a chunk back in the slots before head. The ring holds only bytes and the caller's timestamps,
# so it does not take part in cyclic GC.

from cpython.bytes cimport PyBytes_GET_SIZE
from cpython.list cimport PyList_GET_ITEM, PyList_New
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF, Py_XDECREF

from ._items_body cimport items_body

__all__ = ["Chunk", "ItemQueue"]

cdef extern from "Python.h":
    bint PyBytes_CheckExact(object o)
    # Steals the reference; declared with a raw pointer so Cython adds no refcounting.
    void _list_set "PyList_SET_ITEM"(object lst, Py_ssize_t i, PyObject *o)


cdef inline Py_ssize_t _size_of(object item) except -1:
    if PyBytes_CheckExact(item):
        return PyBytes_GET_SIZE(item)
    return len(item)


cdef class Chunk:
    cdef public object items
    cdef public object arrivals
    cdef public object nbytes

    def __init__(self, items, arrivals, nbytes):
        self.items = items
        self.arrivals = arrivals
        self.nbytes = nbytes

    @property
    def count(self):
        return len(self.items)

    @property
    def body(self):
        return items_body(self.items)


cdef class ItemQueue:
    cdef PyObject **_items
    cdef PyObject **_arrivals
    cdef Py_ssize_t *_sizes
    cdef Py_ssize_t _cap  # power of two, or 0 before the first item
    cdef Py_ssize_t _head
    cdef Py_ssize_t _size
    cdef public Py_ssize_t nbytes

    def __cinit__(self):
        self._items = NULL
        self._arrivals = NULL
        self._sizes = NULL
        self._cap = 0
        self._head = 0
        self._size = 0
        self.nbytes = 0

    def __dealloc__(self):
        cdef Py_ssize_t i, j
        for i in range(self._size):
            j = (self._head + i) & (self._cap - 1)
            Py_XDECREF(self._items[j])
            Py_XDECREF(self._arrivals[j])
        PyMem_Free(self._items)
        PyMem_Free(self._arrivals)
        PyMem_Free(self._sizes)

    def __len__(self):
        return self._size

    cdef int _reserve(self, Py_ssize_t extra) except -1:
        # Grows the ring to hold size + extra items, unwrapping the live slots to 0..size-1.
        cdef Py_ssize_t need = self._size + extra
        cdef Py_ssize_t cap = self._cap if self._cap else 16
        cdef PyObject **items
        cdef PyObject **arrivals
        cdef Py_ssize_t *sizes
        cdef Py_ssize_t i, j
        if need <= self._cap:
            return 0
        while cap < need:
            cap <<= 1
        items = <PyObject **>PyMem_Malloc(cap * sizeof(PyObject *))
        arrivals = <PyObject **>PyMem_Malloc(cap * sizeof(PyObject *))
        sizes = <Py_ssize_t *>PyMem_Malloc(cap * sizeof(Py_ssize_t))
        if items == NULL or arrivals == NULL or sizes == NULL:
            PyMem_Free(items)
            PyMem_Free(arrivals)
            PyMem_Free(sizes)
            raise MemoryError()
        for i in range(self._size):
            j = (self._head + i) & (self._cap - 1)
            items[i] = self._items[j]
            arrivals[i] = self._arrivals[j]
            sizes[i] = self._sizes[j]
        PyMem_Free(self._items)
        PyMem_Free(self._arrivals)
        PyMem_Free(self._sizes)
        self._items = items
        self._arrivals = arrivals
        self._sizes = sizes
        self._cap = cap
        self._head = 0
        return 0

    cdef inline void _push_back(self, object item, object arrived, Py_ssize_t size) noexcept:
        cdef Py_ssize_t j = (self._head + self._size) & (self._cap - 1)
        Py_INCREF(item)
        Py_INCREF(arrived)
        self._items[j] = <PyObject *>item
        self._arrivals[j] = <PyObject *>arrived
        self._sizes[j] = size
        self._size += 1
        self.nbytes += size

    def append(self, item, arrived):
        cdef Py_ssize_t size = _size_of(item)
        self._reserve(1)
        self._push_back(item, arrived, size)

    def extend(self, items, arrived):
        cdef Py_ssize_t i, n
        cdef object seq = items if isinstance(items, (list, tuple)) else list(items)
        n = len(seq)
        self._reserve(n)
        for i in range(n):
            item = seq[i]
            self._push_back(item, arrived, _size_of(item))

    def oldest_arrival(self):
        if self._size == 0:
            return None
        return <object>self._arrivals[self._head]

    def take(self, Py_ssize_t n, max_bytes=None, Py_ssize_t min_count=1):
        cdef Py_ssize_t count = n if n < self._size else self._size
        cdef Py_ssize_t i, j, total = 0, limit, floor
        cdef list items, arrivals
        if count < 0:
            count = 0
        if max_bytes is not None:
            # Stop before the item that would pass max_bytes, once min_count (>= 1) are in.
            limit = max_bytes
            floor = min_count if min_count > 1 else 1
            for i in range(count):
                j = (self._head + i) & (self._cap - 1)
                if i >= floor and total + self._sizes[j] > limit:
                    count = i
                    break
                total += self._sizes[j]
            total = 0
        items = PyList_New(count)
        arrivals = PyList_New(count)
        for i in range(count):
            j = (self._head + i) & (self._cap - 1)
            # The ring's references move into the lists (SET_ITEM steals them).
            _list_set(items, i, self._items[j])
            _list_set(arrivals, i, self._arrivals[j])
            self._items[j] = NULL
            self._arrivals[j] = NULL
            total += self._sizes[j]
        if count:
            self._head = (self._head + count) & (self._cap - 1)
            self._size -= count
            if self._size == 0:
                self._head = 0
        self.nbytes -= total
        return Chunk(items, arrivals, total)

    def requeue(self, chunk):
        cdef object items = list(chunk.items)
        cdef object arrivals = list(chunk.arrivals)
        cdef Py_ssize_t i, j, k = len(items)
        cdef object item, arrived
        if len(arrivals) != k:
            raise ValueError("chunk items and arrivals differ in length")
        self._reserve(k)
        for i in range(k - 1, -1, -1):
            item = <object>PyList_GET_ITEM(items, i)
            arrived = <object>PyList_GET_ITEM(arrivals, i)
            j = (self._head - 1) & (self._cap - 1)
            Py_INCREF(item)
            Py_INCREF(arrived)
            self._items[j] = <PyObject *>item
            self._arrivals[j] = <PyObject *>arrived
            self._sizes[j] = _size_of(item)
            self._head = j
            self._size += 1
        self.nbytes += chunk.nbytes

    def snapshot(self):
        cdef Py_ssize_t i, j
        cdef list items = PyList_New(self._size)
        cdef list arrivals = PyList_New(self._size)
        for i in range(self._size):
            j = (self._head + i) & (self._cap - 1)
            Py_INCREF(<object>self._items[j])
            _list_set(items, i, self._items[j])
            Py_INCREF(<object>self._arrivals[j])
            _list_set(arrivals, i, self._arrivals[j])
        return items, arrivals
