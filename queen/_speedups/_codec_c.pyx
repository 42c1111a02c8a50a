# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# Compiled twin of _codec_py.py (the documented, type-checked one); byte-identical output.
#
# Push item wire form (client contract §4.4), assembled into one bytes buffer per item:
#
#     <prefix = {"queue":Q,"partition":P,"payload":> X ,"transactionId":"T" [,"traceId":"R"] }
#
# X comes from orjson (see "many items at once" below for lists). T is written straight into the
# buffer when it is generated here or when the user's id is printable ASCII without '"' or '\'
# (orjson would copy those bytes unchanged); any other id goes through orjson.dumps, as in the
# pure twin. R is written only after is_uuid() accepted it, so it is hex and dashes.
#
# Many items at once (items() of a list or tuple of two or more): the payloads are serialised by
# ONE orjson.dumps of [X0, S, X1, S, ..., Xn-1], where S is orjson.Fragment(b"\0"), copied
# verbatim into the output. orjson never emits a raw NUL byte of its own (control characters in
# strings are escaped, and compact output has no whitespace), so the output is
# "[X0,\0,X1,\0,...,Xn-1]" and each Xi is cut out between the NULs. A payload can itself hold a
# user Fragment with NULs in it: the cut is used only when the output holds exactly n-1 NUL
# bytes, each between two commas, so every NUL found is one of ours. Each Xi equals what
# orjson.dumps(Xi) gives alone (same serializer and options). The path is taken only when no
# item can fail or call back: every item an exact dict, every transaction id None or an exact
# str of at most 255 characters, no traceId that would reach on_bad_trace; and when the list
# dump succeeds. Otherwise (a non-serialisable payload, a big int for the stdlib fallback, a
# nesting depth that only the extra list level pushes over orjson's limit, ...) the whole call
# is redone item by item, so errors, their order and the callbacks are exactly the pure twin's.
#
# Payload rules (queen/_payload.py): after a payload is encoded, queen_scan() looks at its JSON
# bytes for the two things that can betray a fault: a real \u0000 escape (a NUL character,
# found exactly) and the bytes "null" (a NaN/Infinity float is written as null, and so are None
# and the word in a string). Only then is the payload walked: queen_maybe_non_finite() in C
# over exact dicts, lists and tuples (any other object counts as a maybe), and the shared
# check_encoded() decides and raises, so both twins raise the same errors. The one-dump path
# hands a list whose dump shows a NUL, or a non-finite float, to the item-by-item path.
#
# UUIDv7 state (RFC 9562 §6.2 method 2, same layout as the pure twin): 48-bit ms, then a 74-bit
# counter kept as cnt_a (12 bits, rand_a) and cnt_b (62 bits, rand_b). The GIL serialises the
# state update: the update reads the clock and the random pool in C and calls no Python code.
# Random bytes come from a pool filled by os.urandom and refilled before the update, when fewer
# than one counter seed is left. After fork() the child drops the pool and moves one millisecond
# ahead, so parent and child never share a counter seed.

import json
import os

import orjson

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.mem cimport PyMem_Calloc, PyMem_Free, PyMem_Realloc
from cpython.dict cimport PyDict_Contains
from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_INCREF, Py_XDECREF
from libc.stdint cimport uint64_t
from libc.string cimport memchr, memcpy

from ._items_body cimport items_body

from .._errors import QueenPayloadError, QueenValidationError
from .._payload import check_encoded

__all__ = ["PushEncoder", "ack_body", "decode_pop", "dumps_payload", "is_uuid", "uuid7"]


cdef extern from "Python.h":
    int PyUnicode_KIND(object o)
    void *PyUnicode_DATA(object o)
    Py_ssize_t PyUnicode_GET_LENGTH(object o)
    int PyUnicode_READY(object o) except -1
    bint PyUnicode_IS_ASCII(object o)
    object PyUnicode_New(Py_ssize_t size, Py_UCS4 maxchar)
    PyObject *PyDict_GetItemWithError(object d, object key) except? NULL
    PyObject *PyList_GET_ITEM(object o, Py_ssize_t i)
    Py_ssize_t PyList_GET_SIZE(object o)
    Py_ssize_t Py_REFCNT(PyObject *o)
    PyTypeObject *Py_TYPE(PyObject *o)
    PyTypeObject PyDict_Type
    bint PyDict_CheckExact(object o)
    bint PyBytes_CheckExact(object o)
    bint PyUnicode_CheckExact(object o)
    bint PyList_CheckExact(object o)
    bint PyTuple_CheckExact(object o)
    Py_ssize_t PyDict_GET_SIZE(object o)
    int PyDict_Merge(object a, object b, int override) except -1
    object PyDict_Copy(object d)

cdef extern from *:
    """
    #ifdef _WIN32
    #include <windows.h>
    static uint64_t queen_now_ms(void) {
        FILETIME ft;
        ULARGE_INTEGER u;
        GetSystemTimePreciseAsFileTime(&ft);
        u.LowPart = ft.dwLowDateTime;
        u.HighPart = ft.dwHighDateTime;
        return (u.QuadPart - 116444736000000000ULL) / 10000ULL;
    }
    #else
    #include <time.h>
    static uint64_t queen_now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t)ts.tv_sec * 1000ULL + (uint64_t)ts.tv_nsec / 1000000ULL;
    }
    #endif

    /* A plain dict subclass: built by dict's own tp_new/tp_init through the default metaclass,
       so cls(m) for an exact dict m equals dict.__new__(cls) followed by a merge of m. */
    static int queen_plain_dict_type(PyObject *cls) {
        PyTypeObject *t;
        if (!PyType_Check(cls)) return 0;
        t = (PyTypeObject *)cls;
        return Py_TYPE(cls) == &PyType_Type && PyType_IsSubtype(t, &PyDict_Type)
            && t->tp_new == PyDict_Type.tp_new && t->tp_init == PyDict_Type.tp_init;
    }

    static PyObject *queen_new_dict_of(PyObject *cls, PyObject *empty_args) {
        return PyDict_Type.tp_new((PyTypeObject *)cls, empty_args, NULL);
    }

    /* A plain dict subclass whose instances are laid out exactly like a dict: a heap type
       (its instances own a reference to it, released by subtype_dealloc) that adds no slot,
       no __dict__ and no __weakref__, in front of or behind the dict (the MANAGED/INLINE
       flags of 3.12+ put them in a pre-header). An exact dict that nothing else references
       can then become an instance in place, which is what `cls(d)` would build from it:
       dict's own tp_new and tp_init are the type's (queen_plain_dict_type), so an instance
       is nothing but its items. Not on PyPy or free-threaded builds (other object models). */
    static int queen_retypable_dict_type(PyObject *cls) {
    #if defined(PYPY_VERSION) || defined(Py_GIL_DISABLED)
        return 0;
    #else
        PyTypeObject *t;
        unsigned long extra = 0;
        if (!queen_plain_dict_type(cls)) return 0;
        t = (PyTypeObject *)cls;
    #ifdef Py_TPFLAGS_MANAGED_DICT
        extra |= Py_TPFLAGS_MANAGED_DICT;
    #endif
    #ifdef Py_TPFLAGS_MANAGED_WEAKREF
        extra |= Py_TPFLAGS_MANAGED_WEAKREF;
    #endif
    #ifdef Py_TPFLAGS_INLINE_VALUES
        extra |= Py_TPFLAGS_INLINE_VALUES;
    #endif
        return (t->tp_flags & Py_TPFLAGS_HEAPTYPE) && !(t->tp_flags & extra)
            && (t->tp_flags & Py_TPFLAGS_HAVE_GC)
            && t->tp_basicsize == PyDict_Type.tp_basicsize && t->tp_itemsize == 0
            && t->tp_dictoffset == 0 && t->tp_weaklistoffset == 0;
    #endif
    }

    /* Make the exact dict d (referenced only by its container) an instance of cls, checked
       by queen_retypable_dict_type. Instances of a heap type hold a reference to it; dict is
       a static type and holds none. subtype_dealloc untracks, re-tracks and hands the
       object to dict's dealloc, so it takes a dict in either GC state; it is tracked here
       anyway, as every instance built by cls() is. */
    static void queen_retype_dict(PyObject *d, PyObject *cls) {
    #if !defined(PYPY_VERSION) && !defined(Py_GIL_DISABLED)
        Py_INCREF(cls);
        Py_SET_TYPE(d, (PyTypeObject *)cls);
        if (!PyObject_GC_IsTracked(d)) PyObject_GC_Track(d);
    #endif
    }

    /* queen_scan(): bit QUEEN_HAS_NULL when the bytes "null" occur, bit QUEEN_HAS_NUL when a
       real \\u0000 escape occurs (its backslash preceded by an even run of backslashes).
       Backslashes are rare in JSON and found by memchr. "null" is looked for at positions
       holding 'n' with 'l' three bytes on, 32 positions at a time with SSE2 (every x86-64
       CPU), 8 at a time with a portable word trick elsewhere; each such candidate is then
       checked byte by byte. */
    #include <math.h>
    #include <string.h>
    #if (defined(__SSE2__) || defined(_M_X64) || defined(_M_AMD64)) && !defined(QUEEN_SCAN_PORTABLE)
    #include <emmintrin.h>
    #define QUEEN_SCAN_SSE2 1
    #endif
    #define QUEEN_HAS_NULL 1
    #define QUEEN_HAS_NUL 2

    static int queen_has_nul(const unsigned char *d, Py_ssize_t n) {
        const unsigned char *p = d, *end = d + n;
        Py_ssize_t run;
        while (end - p >= 6 && (p = (const unsigned char *)memchr(p, 0x5C, end - p - 5))) {
            if (memcmp(p + 1, "u0000", 5) == 0) {
                for (run = 0; p - run > d && p[-run - 1] == 0x5C; run++) {}
                if (!(run & 1)) return 1;
            }
            /* An escape is two bytes: the next one cannot start another. */
            p += 2;
        }
        return 0;
    }

    static int queen_null_at(const unsigned char *d, Py_ssize_t i, Py_ssize_t n) {
        return i + 4 <= n && d[i] == 'n' && d[i + 1] == 'u' && d[i + 2] == 'l' && d[i + 3] == 'l';
    }

    static int queen_has_null(const unsigned char *d, Py_ssize_t n) {
        Py_ssize_t i = 0, j;
    #ifdef QUEEN_SCAN_SSE2
        const __m128i cn = _mm_set1_epi8('n'), cl = _mm_set1_epi8('l');
        for (; i + 35 <= n; i += 32) {
            __m128i a0 = _mm_loadu_si128((const __m128i *)(d + i));
            __m128i b0 = _mm_loadu_si128((const __m128i *)(d + i + 3));
            __m128i a1 = _mm_loadu_si128((const __m128i *)(d + i + 16));
            __m128i b1 = _mm_loadu_si128((const __m128i *)(d + i + 19));
            int m0 = _mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a0, cn), _mm_cmpeq_epi8(b0, cl)));
            int m1 = _mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a1, cn), _mm_cmpeq_epi8(b1, cl)));
            unsigned int mask = (unsigned int)m0 | ((unsigned int)m1 << 16);
            for (j = 0; mask; j++, mask >>= 1) {
                if ((mask & 1) && queen_null_at(d, i + j, n)) return 1;
            }
        }
    #else
        /* A zero byte of v sets its top bit in QZ(v) (a byte just above one may too: the
           candidates are checked anyway). */
        #define QZ(v) (((v) - 0x0101010101010101ULL) & ~(v) & 0x8080808080808080ULL)
        for (; i + 11 <= n; i += 8) {
            uint64_t a, b;
            memcpy(&a, d + i, 8);
            memcpy(&b, d + i + 3, 8);
            if (QZ(a ^ 0x6E6E6E6E6E6E6E6EULL) & QZ(b ^ 0x6C6C6C6C6C6C6C6CULL)) {
                for (j = 0; j < 8; j++) {
                    if (queen_null_at(d, i + j, n)) return 1;
                }
            }
        }
        #undef QZ
    #endif
        for (; i < n; i++) {
            if (queen_null_at(d, i, n)) return 1;
        }
        return 0;
    }

    static int queen_scan(const char *data, Py_ssize_t n) {
        const unsigned char *d = (const unsigned char *)data;
        return (queen_has_null(d, n) ? QUEEN_HAS_NULL : 0) | (queen_has_nul(d, n) ? QUEEN_HAS_NUL : 0);
    }

    /* 0 when v surely holds no NaN/Infinity float: exact dicts (keys too), lists and tuples
       are walked; exact str, int, bool and None are fine. Any other object (a subclass, a
       dataclass, an enum...) answers 1, a maybe for check_encoded() to settle. Runs no Python
       code, so the borrowed references stay valid. */
    /* Leaves are tested inline: a call is made for containers (and odd objects) only. */
    #define QUEEN_PLAIN(t, o) ((t) == &PyUnicode_Type || (t) == &PyLong_Type \
                               || (o) == Py_None || (t) == &PyBool_Type)
    #define QUEEN_CHILD(o, depth) ( \
        QUEEN_PLAIN(Py_TYPE(o), o) ? 0 \
        : Py_TYPE(o) == &PyFloat_Type ? !isfinite(PyFloat_AS_DOUBLE(o)) \
        : queen_maybe_non_finite(o, depth))

    static int queen_maybe_non_finite(PyObject *v, int depth) {
        PyTypeObject *t = Py_TYPE(v);
        Py_ssize_t i, size, pos = 0;
        PyObject *key, *item;
        if (QUEEN_PLAIN(t, v)) return 0;
        if (t == &PyFloat_Type) return !isfinite(PyFloat_AS_DOUBLE(v));
        if (depth > 2000) return 1;
        if (t == &PyDict_Type) {
            while (PyDict_Next(v, &pos, &key, &item)) {
                if (QUEEN_CHILD(key, depth + 1) || QUEEN_CHILD(item, depth + 1)) return 1;
            }
            return 0;
        }
        if (t == &PyList_Type || t == &PyTuple_Type) {
            size = Py_SIZE(v);
            for (i = 0; i < size; i++) {
                item = t == &PyList_Type ? PyList_GET_ITEM(v, i) : PyTuple_GET_ITEM(v, i);
                if (QUEEN_CHILD(item, depth + 1)) return 1;
            }
            return 0;
        }
        return 1;
    }
    """
    uint64_t queen_now_ms() nogil
    int queen_scan(const char *data, Py_ssize_t n) nogil
    int queen_maybe_non_finite(PyObject *v, int depth)
    enum:
        QUEEN_HAS_NULL
        QUEEN_HAS_NUL
    bint queen_plain_dict_type(object cls)
    object queen_new_dict_of(object cls, object empty_args)
    bint queen_retypable_dict_type(object cls)
    void queen_retype_dict(PyObject *d, object cls)


cdef object _orjson_dumps = orjson.dumps
cdef object _orjson_loads = orjson.loads
cdef object _OPTIONS = orjson.OPT_NON_STR_KEYS
cdef object _json_dumps = json.dumps
cdef object _urandom = os.urandom
# None when orjson has no Fragment: items() then encodes item by item.
cdef object _SEPARATOR = (
    orjson.Fragment(b"\0") if hasattr(orjson, "Fragment") else None
)
cdef tuple _EMPTY = ()

cdef enum:
    MAX_NAME = 255  # the broker stores names and transaction ids as VARCHAR(255)
    UUID_LEN = 36
    POOL = 4096
    SEED = 10  # bytes per counter seed: 80 bits, shifted down to 73

cdef bytes _TX_KEY = b',"transactionId":'
cdef bytes _TRACE_KEY = b',"traceId":'


# ---------------------------------------------------------------------------------------------
# ids

cdef unsigned char _pool[POOL]
cdef Py_ssize_t _pool_pos = POOL
cdef uint64_t _last_ms = 0
cdef uint64_t _cnt_a = 0  # high 12 bits of the counter
cdef uint64_t _cnt_b = 0  # low 62 bits of the counter

cdef uint64_t CNT_B_MASK = (<uint64_t>1 << 62) - 1


cdef int _ensure_pool() except -1:
    # May release the GIL (os.urandom); callers finish it before touching the id state.
    global _pool_pos
    cdef bytes fresh
    if _pool_pos <= POOL - SEED:
        return 0
    fresh = _urandom(POOL)
    memcpy(_pool, PyBytes_AS_STRING(fresh), POOL)
    _pool_pos = 0
    return 0


cdef inline void _seed_counter() noexcept nogil:
    # 73 random bits: cnt_a gets 11 (its top bit clear), cnt_b gets 62.
    global _pool_pos, _cnt_a, _cnt_b
    cdef const unsigned char *p = _pool + _pool_pos
    cdef uint64_t hi = 0
    cdef uint64_t lo = 0
    cdef int i
    _pool_pos += SEED
    for i in range(2):
        hi = (hi << 8) | p[i]
    for i in range(2, SEED):
        lo = (lo << 8) | p[i]
    # 80-bit big-endian value v = hi:lo (16:64 bits); counter = v >> 7.
    _cnt_a = (hi >> 7) & 0x7FF
    _cnt_b = ((hi & 0x7F) << 55) | (lo >> 9)


cdef char _HEX2[512]  # byte value -> its two lowercase hex digits
for _b in range(256):
    _HEX2[2 * _b] = b"0123456789abcdef"[_b >> 4]
    _HEX2[2 * _b + 1] = b"0123456789abcdef"[_b & 15]


cdef inline void _hex_bytes(char *out, uint64_t v, int nbytes) noexcept nogil:
    # The low ``nbytes`` bytes of v, most significant first, as 2 * nbytes hex digits.
    cdef int i
    cdef unsigned int b
    for i in range(nbytes):
        b = (v >> (8 * (nbytes - 1 - i))) & 0xFF
        out[2 * i] = _HEX2[2 * b]
        out[2 * i + 1] = _HEX2[2 * b + 1]


cdef inline void _next_id(char *out, uint64_t now) noexcept nogil:
    # Writes the 36 characters of the next id for clock reading ``now`` (ms). The pool holds
    # at least one seed.
    global _last_ms, _cnt_a, _cnt_b
    cdef uint64_t hi, lo
    if now > _last_ms:
        _last_ms = now
        _seed_counter()
    else:
        _cnt_b += 1
        if _cnt_b > CNT_B_MASK:
            _cnt_b = 0
            _cnt_a += 1
            if _cnt_a > 0xFFF:
                _last_ms += 1
                _seed_counter()
    hi = ((_last_ms & ((<uint64_t>1 << 48) - 1)) << 16) | (<uint64_t>0x7 << 12) | _cnt_a
    lo = (<uint64_t>0x2 << 62) | _cnt_b
    # 8-4-4-4-12 over hi (16 digits) then lo (16 digits).
    _hex_bytes(out, hi >> 32, 4)
    out[8] = 45  # '-'
    _hex_bytes(out + 9, hi >> 16, 2)
    out[13] = 45
    _hex_bytes(out + 14, hi, 2)
    out[18] = 45
    _hex_bytes(out + 19, lo >> 48, 2)
    out[23] = 45
    _hex_bytes(out + 24, lo, 6)


cdef int _fill_id(char *out, uint64_t now) except -1:
    # ``now`` is 0 to read the clock here; a batch passes one reading for several ids, which
    # keeps them monotonic (the counter carries on) and saves a clock call per id.
    _ensure_pool()
    _next_id(out, now if now else queen_now_ms())
    return 0


def _after_fork_in_child():
    global _pool_pos, _last_ms
    _pool_pos = POOL
    if _last_ms:
        _last_ms += 1
        _ensure_pool()
        _seed_counter()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def uuid7():
    cdef str s = PyUnicode_New(UUID_LEN, 127)
    _fill_id(<char *>PyUnicode_DATA(s), 0)
    return s


cdef bint _is_uuid(object value) except -1:
    cdef const unsigned char *d
    cdef Py_ssize_t i
    cdef unsigned char c
    if not isinstance(value, str):
        return False
    PyUnicode_READY(value)
    if PyUnicode_GET_LENGTH(value) != UUID_LEN or PyUnicode_KIND(value) != 1:
        return False
    d = <const unsigned char *>PyUnicode_DATA(value)
    for i in range(UUID_LEN):
        c = d[i]
        if i == 8 or i == 13 or i == 18 or i == 23:
            if c != 45:
                return False
        elif not ((48 <= c <= 57) or (97 <= c <= 102) or (65 <= c <= 70)):
            return False
    return True


def is_uuid(value):
    return _is_uuid(value)


# ---------------------------------------------------------------------------------------------
# payloads and push items

cdef bytes _dumps_payload(object payload):
    # Without OPT_NON_STR_KEYS orjson takes a faster path and either fails (a non-str key, a
    # str subclass key, a big int...) or gives the bytes the option would give. Failures are
    # retried with the option so the outcome is always that of the pure twin.
    try:
        return _orjson_dumps(payload)
    except TypeError:
        pass
    try:
        return _orjson_dumps(payload, None, _OPTIONS)
    except TypeError as exc:
        if "Integer exceeds" not in str(exc):
            raise QueenPayloadError(f"Payload is not JSON serialisable: {exc}") from exc
    try:
        return _json_dumps(
            payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode("utf-8", "surrogatepass")
    except (TypeError, ValueError) as exc:
        raise QueenPayloadError(f"Payload is not JSON serialisable: {exc}") from exc


def dumps_payload(payload):
    return _dumps_payload(payload)


cdef inline int _check_payload(object payload, bytes encoded, Py_ssize_t index) except -1:
    cdef int flags = queen_scan(PyBytes_AS_STRING(encoded), PyBytes_GET_SIZE(encoded))
    if flags and ((flags & QUEEN_HAS_NUL) or queen_maybe_non_finite(<PyObject *>payload, 0)):
        check_encoded(payload, encoded, index)
    return 0


cdef inline bint _plain_ascii(str s) except -1:
    # True when orjson.dumps(s) is s between quotes: printable ASCII without '"' and '\'.
    # Eight bytes at a time: every byte is below 0x80 (an ASCII string), so b + 0x60 keeps its
    # top bit clear only for b < 0x20, and (b ^ c) + 0x7f only for b == c; no sum carries into
    # the next byte.
    cdef const unsigned char *d
    cdef Py_ssize_t i, n
    cdef unsigned char c
    cdef uint64_t x
    PyUnicode_READY(s)
    if not PyUnicode_IS_ASCII(s):
        return False
    d = <const unsigned char *>PyUnicode_DATA(s)
    n = PyUnicode_GET_LENGTH(s)
    i = 0
    while i + 8 <= n:
        memcpy(&x, d + i, 8)
        if ~(
            (x + 0x6060606060606060ULL)
            & ((x ^ 0x2222222222222222ULL) + 0x7F7F7F7F7F7F7F7FULL)
            & ((x ^ 0x5C5C5C5C5C5C5C5CULL) + 0x7F7F7F7F7F7F7F7FULL)
        ) & 0x8080808080808080ULL:
            return False
        i += 8
    while i < n:
        c = d[i]
        if c < 0x20 or c == 34 or c == 92:
            return False
        i += 1
    return True


cdef struct _Slot:
    # One item of items()'s one-dump path: its payload's place in the dump, and strong
    # references to its transaction id (NULL: generate one) and trace id (NULL: none).
    Py_ssize_t start
    Py_ssize_t end
    PyObject *tx
    PyObject *trace


cdef inline object _get(object d, object key):
    # Borrowed lookup in an exact dict; None when absent.
    cdef PyObject *v = PyDict_GetItemWithError(d, key)
    if v == NULL:
        return None
    return <object>v


cdef class PushEncoder:
    cdef public object queue
    cdef public object partition
    cdef object _on_bad_trace
    cdef bytes _prefix

    def __init__(self, queue, partition, on_bad_trace=None):
        self.queue = queue
        self.partition = partition
        self._on_bad_trace = on_bad_trace
        self._prefix = (
            b'{"queue":'
            + _orjson_dumps(queue)
            + b',"partition":'
            + _orjson_dumps(partition)
            + b',"payload":'
        )

    cdef bytes _assemble(self, const char *pdata, Py_ssize_t plen, object tx, bytes txjson,
                         object trace, uint64_t now):
        # prefix + payload JSON + the id + the trace id (a UUID string already checked, or
        # None) + '}', in one allocation. The id is txjson when given, else generated when tx is
        # None, else tx.
        cdef bytes out
        cdef char idbuf[UUID_LEN]
        cdef const char *txdata = NULL
        cdef Py_ssize_t txlen = 0
        cdef Py_ssize_t n
        cdef char *w

        if txjson is not None:
            pass
        elif tx is None:
            _fill_id(idbuf, now)
            txdata = idbuf
            txlen = UUID_LEN
        elif _plain_ascii(<str>tx):
            txdata = <const char *>PyUnicode_DATA(tx)
            txlen = PyUnicode_GET_LENGTH(tx)
        else:
            txjson = _orjson_dumps(tx)

        n = PyBytes_GET_SIZE(self._prefix) + plen + PyBytes_GET_SIZE(_TX_KEY) + 1
        n += PyBytes_GET_SIZE(txjson) if txjson is not None else txlen + 2
        if trace is not None:
            n += PyBytes_GET_SIZE(_TRACE_KEY) + UUID_LEN + 2
        out = PyBytes_FromStringAndSize(NULL, n)
        w = PyBytes_AS_STRING(out)
        memcpy(w, PyBytes_AS_STRING(self._prefix), PyBytes_GET_SIZE(self._prefix))
        w += PyBytes_GET_SIZE(self._prefix)
        memcpy(w, pdata, plen)
        w += plen
        memcpy(w, PyBytes_AS_STRING(_TX_KEY), PyBytes_GET_SIZE(_TX_KEY))
        w += PyBytes_GET_SIZE(_TX_KEY)
        if txjson is not None:
            memcpy(w, PyBytes_AS_STRING(txjson), PyBytes_GET_SIZE(txjson))
            w += PyBytes_GET_SIZE(txjson)
        else:
            w[0] = 34  # '"'
            memcpy(w + 1, txdata, txlen)
            w[txlen + 1] = 34
            w += txlen + 2
        if trace is not None:
            memcpy(w, PyBytes_AS_STRING(_TRACE_KEY), PyBytes_GET_SIZE(_TRACE_KEY))
            w += PyBytes_GET_SIZE(_TRACE_KEY)
            w[0] = 34
            memcpy(w + 1, PyUnicode_DATA(trace), UUID_LEN)
            w[UUID_LEN + 1] = 34
            w += UUID_LEN + 2
        w[0] = 125  # '}'
        return out

    cdef bytes _encode(self, object item, uint64_t now, Py_ssize_t index):
        cdef object payload, tx, trace
        cdef bytes pbytes, txjson
        cdef PyObject *v

        if not isinstance(item, dict):
            raise QueenValidationError(f"push items must be dicts, got {type(item).__name__}")
        if PyDict_CheckExact(item):
            v = PyDict_GetItemWithError(item, "data")
            if v == NULL:
                v = PyDict_GetItemWithError(item, "payload")
                if v == NULL:
                    payload = item
                else:
                    payload = <object>v
            else:
                payload = <object>v
            tx = _get(item, "transactionId")
        else:
            # A dict subclass may override the mapping protocol: go through it, as the pure twin.
            if "data" in item:
                payload = item["data"]
            elif "payload" in item:
                payload = item["payload"]
            else:
                payload = item
            tx = item.get("transactionId")

        if not tx:
            tx = None
        elif not isinstance(tx, str) or len(<str>tx) > MAX_NAME:
            raise QueenValidationError(
                f"transactionId must be a string of at most {MAX_NAME} characters: {tx!r}"
            )

        pbytes = _dumps_payload(payload)
        _check_payload(payload, pbytes, index)
        # As in the pure twin: an id orjson rejects fails before the trace id is looked at.
        txjson = None if tx is None or _plain_ascii(<str>tx) else _orjson_dumps(tx)

        trace = _get(item, "traceId") if PyDict_CheckExact(item) else item.get("traceId")
        if trace is not None and not _is_uuid(trace):
            if self._on_bad_trace is not None:
                self._on_bad_trace(trace)
            trace = None
        return self._assemble(
            PyBytes_AS_STRING(pbytes), PyBytes_GET_SIZE(pbytes), tx, txjson, trace, now
        )

    cdef list _encode_each(self, object items):
        # One clock reading per 32 items: ids of a batch are stamped with its start (to well
        # under a millisecond) and stay monotonic.
        cdef list out = []
        cdef uint64_t now = 0
        cdef Py_ssize_t i = 0
        for item in items:
            if (i & 31) == 0:
                now = queen_now_ms()
            out.append(self._encode(item, now, i))
            i += 1
        return out

    cdef list _encode_joint(self, list items):
        # The one-dump path (see the header); None when the call must go item by item. Nothing
        # observable happens before the decision: no id is drawn, no callback is called.
        cdef Py_ssize_t n = len(items)
        cdef Py_ssize_t i, pos, size, found
        cdef list dumped = PyList_New(2 * n - 1)
        cdef list out
        cdef object item, payload, blob
        cdef PyObject *v
        cdef PyObject *tx
        cdef PyObject *trace
        cdef const char *data
        cdef const char *hit
        cdef _Slot *slots
        cdef uint64_t now = 0
        cdef int flags

        for i in range(n - 1):
            Py_INCREF(_SEPARATOR)
            PyList_SET_ITEM(dumped, 2 * i + 1, _SEPARATOR)
        slots = <_Slot *>PyMem_Calloc(n, sizeof(_Slot))
        if slots == NULL:
            raise MemoryError()
        try:
            for i in range(n):
                item = items[i]
                if not PyDict_CheckExact(item):
                    return None
                # Lookups stop once every key of the dict has been found: {"data": X} costs one.
                found = 1
                v = PyDict_GetItemWithError(item, "data")
                if v == NULL:
                    v = PyDict_GetItemWithError(item, "payload")
                    if v == NULL:
                        found = 0
                payload = item if v == NULL else <object>v
                Py_INCREF(payload)
                PyList_SET_ITEM(dumped, 2 * i, payload)
                tx = NULL
                if found < PyDict_GET_SIZE(item):
                    tx = PyDict_GetItemWithError(item, "transactionId")
                if tx != NULL:
                    found += 1
                    if not PyUnicode_CheckExact(<object>tx) or (
                        PyUnicode_GET_LENGTH(<object>tx) > MAX_NAME
                    ):
                        return None
                    if PyUnicode_GET_LENGTH(<object>tx) > 0:
                        Py_INCREF(<object>tx)
                        slots[i].tx = tx
                trace = NULL
                if found < PyDict_GET_SIZE(item):
                    trace = PyDict_GetItemWithError(item, "traceId")
                if trace != NULL and trace != <PyObject *>None:
                    if _is_uuid(<object>trace):
                        Py_INCREF(<object>trace)
                        slots[i].trace = trace
                    elif self._on_bad_trace is not None:
                        return None

            try:
                blob = _orjson_dumps(dumped)
            except TypeError:
                try:
                    blob = _orjson_dumps(dumped, None, _OPTIONS)
                except Exception:
                    return None
            except Exception:
                return None

            # Payload i lies in [start, end) of "[X0,\0,X1,\0,...,Xn-1]".
            data = PyBytes_AS_STRING(blob)
            size = PyBytes_GET_SIZE(blob)
            flags = queen_scan(data, size)
            if flags & QUEEN_HAS_NUL:
                return None
            if flags:
                for i in range(n):
                    if queen_maybe_non_finite(PyList_GET_ITEM(dumped, 2 * i), 0):
                        return None
            pos = 1
            for i in range(n - 1):
                hit = <const char *>memchr(data + pos, 0, size - pos)
                if hit == NULL or (hit - 1)[0] != 44 or hit[1] != 44:  # commas around the NUL
                    return None
                slots[i].start = pos
                slots[i].end = hit - 1 - data
                pos = hit + 2 - data
            if memchr(data + pos, 0, size - pos) != NULL:
                return None
            slots[n - 1].start = pos
            slots[n - 1].end = size - 1

            out = PyList_New(n)
            for i in range(n):
                if (i & 31) == 0:
                    now = queen_now_ms()
                item = self._assemble(
                    data + slots[i].start,
                    slots[i].end - slots[i].start,
                    <object>slots[i].tx if slots[i].tx != NULL else None,
                    None,
                    <object>slots[i].trace if slots[i].trace != NULL else None,
                    now,
                )
                Py_INCREF(item)
                PyList_SET_ITEM(out, i, item)
            return out
        finally:
            for i in range(n):
                Py_XDECREF(slots[i].tx)
                Py_XDECREF(slots[i].trace)
            PyMem_Free(slots)

    def item(self, item, Py_ssize_t index=0):
        return self._encode(item, 0, index)

    def items(self, items):
        cdef list out
        if (
            _SEPARATOR is not None
            and (PyList_CheckExact(items) or PyTuple_CheckExact(items))
            and len(items) > 1
        ):
            out = self._encode_joint(items if PyList_CheckExact(items) else list(items))
            if out is not None:
                return out
        return self._encode_each(items)

    @staticmethod
    def body(encoded):
        return items_body(encoded)


# ---------------------------------------------------------------------------------------------
# pop answers

def decode_pop(body, message_cls):
    cdef object top, messages, m, obj
    cdef list out, entries
    cdef bint plain, exact_dict, retype
    cdef Py_ssize_t i
    cdef PyObject *raw
    if not body:
        return None, []
    top = _orjson_loads(body)
    messages = top.get("messages") if isinstance(top, dict) else None
    if not messages or not isinstance(messages, list):
        return top, []
    entries = <list>messages
    out = []
    exact_dict = message_cls is dict
    plain = not exact_dict and queen_plain_dict_type(message_cls)
    retype = plain and queen_retypable_dict_type(message_cls)
    for i in range(PyList_GET_SIZE(entries)):
        raw = PyList_GET_ITEM(entries, i)
        if retype and Py_TYPE(raw) == &PyDict_Type and Py_REFCNT(raw) == 1:
            # Just decoded by orjson and held by the answer's list alone: the message is
            # this dict itself, retyped, instead of a copy of it (the copy was a tenth of
            # a pop's decoding, and its memory traffic more on a busy machine).
            queen_retype_dict(raw, message_cls)
            out.append(<object>raw)
            continue
        m = <object>raw
        if m is None:
            continue
        if PyDict_CheckExact(m) and exact_dict:
            out.append(m)  # dict(m) would be an equal copy, and the entry is replaced by it
            continue
        if PyDict_CheckExact(m) and plain:
            # What type.__call__ does for a plain dict subclass: dict's tp_new, then
            # dict_init's merge of an exact dict argument; minus the argument parsing.
            obj = queen_new_dict_of(message_cls, _EMPTY)
            PyDict_Merge(obj, m, 1)
        else:
            obj = message_cls(m)
        entries[i] = obj
        out.append(obj)
    return top, out


# ---------------------------------------------------------------------------------------------
# batch ack bodies
#
# {"acknowledgments":[{"transactionId":T,"partitionId":P,"status":S,"error":E[,"leaseId":L]},
# ...],"consumerGroup":G}, written into one growing buffer. Strings go in as they are when
# orjson would copy them unchanged (_plain_ascii), through orjson.dumps otherwise. Anything off
# the common shape (a sequence that is not a list or tuple, a message that is not a dict, an
# id or lease that is not an exact non-empty str, a per-message _status/_error, a non-str
# error or group) hands the whole call to the pure twin, so its output and its errors are
# exactly the pure twin's.

cdef struct _Buf:
    char *data
    Py_ssize_t size
    Py_ssize_t cap


cdef int _buf_put(_Buf *b, const char *src, Py_ssize_t n) except -1:
    cdef Py_ssize_t cap
    cdef char *grown
    if b.size + n > b.cap:
        cap = b.cap * 2 if b.cap else 4096
        while cap < b.size + n:
            cap *= 2
        grown = <char *>PyMem_Realloc(b.data, cap)
        if grown == NULL:
            raise MemoryError()
        b.data = grown
        b.cap = cap
    memcpy(b.data + b.size, src, n)
    b.size += n
    return 0


cdef int _buf_bytes(_Buf *b, bytes chunk) except -1:
    return _buf_put(b, PyBytes_AS_STRING(chunk), PyBytes_GET_SIZE(chunk))


cdef int _buf_json_str(_Buf *b, str s) except -1:
    # 1: written; 0: orjson refused it (a lone surrogate): the caller falls back.
    cdef bytes dumped
    if _plain_ascii(s):
        _buf_put(b, '"', 1)
        _buf_put(b, <const char *>PyUnicode_DATA(s), PyUnicode_GET_LENGTH(s))
        _buf_put(b, '"', 1)
        return 1
    try:
        dumped = _orjson_dumps(s)
    except TypeError:
        return 0
    _buf_bytes(b, dumped)
    return 1


cdef inline object _dict_get(object d, object key):
    # dict.get(d, key) for a dict or a dict subclass: the mapping itself, no overridden get().
    cdef PyObject *found = PyDict_GetItemWithError(d, key)
    if found == NULL:
        return None
    return <object>found


cdef object _pure_ack_body = None
cdef bytes _ACK_HEAD = b'{"acknowledgments":['
cdef bytes _ACK_TX = b'{"transactionId":'
cdef bytes _ACK_PARTITION = b',"partitionId":'
cdef bytes _ACK_STATUS = b',"status":'
cdef bytes _ACK_ERROR = b',"error":'
cdef bytes _ACK_LEASE = b',"leaseId":'
cdef bytes _ACK_GROUP = b'],"consumerGroup":'


def ack_body(messages, status, error, group):
    global _pure_ack_body
    if _pure_ack_body is None:
        from ._codec_py import ack_body as pure
        _pure_ack_body = pure
    pure_ack_body = _pure_ack_body
    if not (PyList_CheckExact(messages) or PyTuple_CheckExact(messages)):
        return pure_ack_body(messages, status, error, group)
    if status is True:
        text = "completed"
    elif status is False:
        text = "failed"
    elif PyUnicode_CheckExact(status):
        text = status
    else:
        return pure_ack_body(messages, status, error, group)
    if not (error is None or PyUnicode_CheckExact(error)) or not (
        group is None or PyUnicode_CheckExact(group)
    ):
        return pure_ack_body(messages, status, error, group)
    cdef _Buf b
    cdef Py_ssize_t i, n = len(messages)
    cdef object m, tx, partition, lease
    b.data = NULL
    b.size = 0
    b.cap = 0
    try:
        _buf_bytes(&b, _ACK_HEAD)
        for i in range(n):
            m = messages[i]
            if not isinstance(m, dict):
                return pure_ack_body(messages, status, error, group)
            tx = _dict_get(m, "transactionId")
            if not tx:
                tx = _dict_get(m, "id")
            partition = _dict_get(m, "partitionId")
            lease = _dict_get(m, "leaseId")
            if (
                not (PyUnicode_CheckExact(tx) and tx)
                or not (PyUnicode_CheckExact(partition) and partition)
                or (lease and not PyUnicode_CheckExact(lease))
                or PyDict_Contains(m, "_status")
                or PyDict_Contains(m, "_error")
            ):
                return pure_ack_body(messages, status, error, group)
            if i:
                _buf_put(&b, ",", 1)
            _buf_bytes(&b, _ACK_TX)
            if not _buf_json_str(&b, tx):
                return pure_ack_body(messages, status, error, group)
            _buf_bytes(&b, _ACK_PARTITION)
            if not _buf_json_str(&b, partition):
                return pure_ack_body(messages, status, error, group)
            _buf_bytes(&b, _ACK_STATUS)
            if not _buf_json_str(&b, text):
                return pure_ack_body(messages, status, error, group)
            _buf_bytes(&b, _ACK_ERROR)
            if error is None:
                _buf_put(&b, "null", 4)
            elif not _buf_json_str(&b, error):
                return pure_ack_body(messages, status, error, group)
            if lease:
                _buf_bytes(&b, _ACK_LEASE)
                if not _buf_json_str(&b, lease):
                    return pure_ack_body(messages, status, error, group)
            _buf_put(&b, "}", 1)
        _buf_bytes(&b, _ACK_GROUP)
        if group is None:
            _buf_put(&b, "null", 4)
        elif not _buf_json_str(&b, group):
            return pure_ack_body(messages, status, error, group)
        _buf_put(&b, "}", 1)
        return PyBytes_FromStringAndSize(b.data, b.size)
    finally:
        PyMem_Free(b.data)
