# cython: language_level=3, boundscheck=False, wraparound=False
# Compiled twin of _acks_py.py (the documented, type-checked one); equal results and errors.
#
# The broker's ack answers are arrays of flat objects of plain ASCII strings, integers and
# literals. One pass over the bytes reads exactly that subset of JSON and keeps, per entry,
# the four values a consumer acts on (success, error, leaseReleased, dlq), building no dict
# and no string for the rest. The subset, whitespace allowed between tokens:
#
#     answer  = "[" [entry *("," entry)] "]"
#     entry   = "{" [key ":" value *("," key ":" value)] "}"
#     value   = string | integer | true | false | null
#     string  = '"' *(bytes 0x20-0x7E except '"' and '\') '"'    (no escape, ASCII only)
#     integer = ["-"] ("0" | 1-9 followed by at most 17 digits)   (no fraction, no exponent)
#
# and the four outcome keys' values are strings or literals. Everything the pass accepts is
# JSON that orjson decodes to the same values (a repeated key: the last one counts, as in
# orjson). Anything else (an escape, a non-ASCII or control byte, a nested value, a fraction,
# an error object, an entry that is not an object, bytes that are not JSON) hands the whole
# body to the pure twin, so the result or the error is exactly the pure twin's.

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.object cimport PyObject

from ._acks_py import ack_outcomes as _pure_ack_outcomes
from ._acks_py import all_succeeded as _pure_all_succeeded

__all__ = ["ack_outcomes", "all_succeeded"]


cdef extern from "Python.h":
    bint PyBytes_CheckExact(object o)
    bint PyList_CheckExact(object o)
    bint PyDict_CheckExact(object o)
    Py_ssize_t PyList_GET_SIZE(object o)
    PyObject *PyList_GET_ITEM(object o, Py_ssize_t i)
    PyObject *PyDict_GetItemWithError(object d, object key) except? NULL
    PyObject *Py_True

cdef extern from *:
    """
    #include <string.h>
    #if (defined(__SSE2__) || defined(_M_X64) || defined(_M_AMD64)) && !defined(QUEEN_SCAN_PORTABLE)
    #include <emmintrin.h>
    #define QA_SSE2 1
    #ifdef _MSC_VER
    #include <intrin.h>
    static int qa_ctz(unsigned int x) { unsigned long i; _BitScanForward(&i, x); return (int)i; }
    #else
    #define qa_ctz(x) __builtin_ctz(x)
    #endif
    #endif

    #define QA_QUOTE 0x22
    #define QA_BACKSLASH 0x5C
    #define QA_DELEGATE (-1)
    #define QA_FAILED (-2)

    /* Readers take the index of what they read in d[0..n) and return the index after it,
       QA_DELEGATE when the input leaves the subset, QA_FAILED with a Python error set. */

    static Py_ssize_t qa_ws(const unsigned char *d, Py_ssize_t i, Py_ssize_t n) {
        while (i < n && (d[i] == ' ' || d[i] == '\\n' || d[i] == '\\r' || d[i] == '\\t')) i++;
        return i;
    }

    /* d[i] is an opening quote. Sixteen bytes at a time with SSE2: the first byte that is a
       quote, a backslash, DEL, below 0x20 or above 0x7F (negative in a signed compare). */
    static Py_ssize_t qa_string(const unsigned char *d, Py_ssize_t i, Py_ssize_t n) {
        unsigned char c;
        i++;
    #ifdef QA_SSE2
        {
            const __m128i quote = _mm_set1_epi8(QA_QUOTE), bslash = _mm_set1_epi8(QA_BACKSLASH);
            const __m128i space = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7F);
            while (i + 16 <= n) {
                __m128i v = _mm_loadu_si128((const __m128i *)(d + i));
                __m128i hit = _mm_or_si128(
                    _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                    _mm_or_si128(_mm_cmplt_epi8(v, space), _mm_cmpeq_epi8(v, del)));
                int mask = _mm_movemask_epi8(hit);
                if (mask) {
                    i += qa_ctz((unsigned int)mask);
                    return d[i] == QA_QUOTE ? i + 1 : QA_DELEGATE;
                }
                i += 16;
            }
        }
    #endif
        for (; i < n; i++) {
            c = d[i];
            if (c == QA_QUOTE) return i + 1;
            if (c < 0x20 || c >= 0x7F || c == QA_BACKSLASH) return QA_DELEGATE;
        }
        return QA_DELEGATE;
    }

    static Py_ssize_t qa_integer(const unsigned char *d, Py_ssize_t i, Py_ssize_t n) {
        Py_ssize_t start;
        if (i < n && d[i] == '-') i++;
        start = i;
        if (i >= n) return QA_DELEGATE;
        if (d[i] == '0') {
            i++;
        } else if (d[i] >= '1' && d[i] <= '9') {
            while (i < n && d[i] >= '0' && d[i] <= '9') i++;
            if (i - start > 18) return QA_DELEGATE;
        } else {
            return QA_DELEGATE;
        }
        if (i < n && (d[i] == '.' || d[i] == 'e' || d[i] == 'E' || (d[i] >= '0' && d[i] <= '9')))
            return QA_DELEGATE;
        return i;
    }

    static Py_ssize_t qa_literal(const unsigned char *d, Py_ssize_t i, Py_ssize_t n,
                                 const char *word, Py_ssize_t len, PyObject *value,
                                 PyObject **out) {
        if (n - i < len || memcmp(d + i, word, len) != 0) return QA_DELEGATE;
        if (out != NULL) {
            Py_INCREF(value);
            *out = value;
        }
        return i + len;
    }

    /* The value at d[i]; with out, a new reference to it in *out. Numbers are skipped only:
       an outcome that is a number is left to the pure twin. */
    static Py_ssize_t qa_value(const unsigned char *d, Py_ssize_t i, Py_ssize_t n,
                               PyObject **out) {
        Py_ssize_t end;
        if (i >= n) return QA_DELEGATE;
        switch (d[i]) {
        case QA_QUOTE:
            end = qa_string(d, i, n);
            if (end >= 0 && out != NULL) {
                *out = PyUnicode_DecodeASCII((const char *)d + i + 1, end - i - 2, NULL);
                if (*out == NULL) return QA_FAILED;
            }
            return end;
        case 't': return qa_literal(d, i, n, "true", 4, Py_True, out);
        case 'f': return qa_literal(d, i, n, "false", 5, Py_False, out);
        case 'n': return qa_literal(d, i, n, "null", 4, Py_None, out);
        default:
            if (out == NULL && (d[i] == '-' || (d[i] >= '0' && d[i] <= '9')))
                return qa_integer(d, i, n);
            return QA_DELEGATE;
        }
    }

    /* Which outcome a key names: 0-3 (success, error, leaseReleased, dlq), else -1. */
    static int qa_key(const unsigned char *k, Py_ssize_t len) {
        switch (len) {
        case 7: return memcmp(k, "success", 7) == 0 ? 0 : -1;
        case 5: return memcmp(k, "error", 5) == 0 ? 1 : -1;
        case 13: return memcmp(k, "leaseReleased", 13) == 0 ? 2 : -1;
        case 3: return memcmp(k, "dlq", 3) == 0 ? 3 : -1;
        }
        return -1;
    }

    /* The entry object at d[i] == '{': its (success, error, leaseReleased, dlq) in *out. */
    static Py_ssize_t qa_entry(const unsigned char *d, Py_ssize_t i, Py_ssize_t n,
                               PyObject **out) {
        PyObject *v[4] = {NULL, NULL, NULL, NULL};
        PyObject *got, *old, *tuple;
        Py_ssize_t end;
        int k, j;
        i = qa_ws(d, i + 1, n);
        if (i < n && d[i] == '}') {
            i++;
        } else {
            for (;;) {
                if (i >= n || d[i] != QA_QUOTE) goto leave;
                end = qa_string(d, i, n);
                if (end < 0) goto leave;
                k = qa_key(d + i + 1, end - i - 2);
                i = qa_ws(d, end, n);
                if (i >= n || d[i] != ':') goto leave;
                got = NULL;
                i = qa_value(d, qa_ws(d, i + 1, n), n, k >= 0 ? &got : NULL);
                if (i < 0) goto leave;
                if (k >= 0) {  /* a repeated key: the last value counts */
                    old = v[k];
                    v[k] = got;
                    Py_XDECREF(old);
                }
                i = qa_ws(d, i, n);
                if (i < n && d[i] == ',') {
                    i = qa_ws(d, i + 1, n);
                    continue;
                }
                if (i < n && d[i] == '}') {
                    i++;
                    break;
                }
                i = QA_DELEGATE;
                goto leave;
            }
        }
        tuple = PyTuple_New(4);
        if (tuple == NULL) {
            i = QA_FAILED;
            goto leave;
        }
        for (j = 0; j < 4; j++) {
            if (v[j] == NULL) {
                Py_INCREF(Py_None);
                v[j] = Py_None;
            }
            PyTuple_SET_ITEM(tuple, j, v[j]);
            v[j] = NULL;
        }
        *out = tuple;
        return i;
    leave:
        for (j = 0; j < 4; j++) Py_XDECREF(v[j]);
        return i < 0 ? i : QA_DELEGATE;
    }

    /* The list of outcomes (a new reference); Py_None (a new reference) to hand the body to
       the pure twin; NULL with a Python error set. */
    static PyObject *queen_ack_scan(const unsigned char *d, Py_ssize_t n) {
        PyObject *list, *entry;
        Py_ssize_t i = qa_ws(d, 0, n);
        if (i >= n || d[i] != '[') goto delegate_now;
        list = PyList_New(0);
        if (list == NULL) return NULL;
        i = qa_ws(d, i + 1, n);
        if (i < n && d[i] == ']') {
            i++;
        } else {
            for (;;) {
                if (i >= n || d[i] != '{') goto delegate;
                entry = NULL;
                i = qa_entry(d, i, n, &entry);
                if (i == QA_FAILED) goto failed;
                if (i < 0) goto delegate;
                if (PyList_Append(list, entry) < 0) {
                    Py_DECREF(entry);
                    goto failed;
                }
                Py_DECREF(entry);
                i = qa_ws(d, i, n);
                if (i < n && d[i] == ',') {
                    i = qa_ws(d, i + 1, n);
                    continue;
                }
                if (i < n && d[i] == ']') {
                    i++;
                    break;
                }
                goto delegate;
            }
        }
        if (qa_ws(d, i, n) != n) goto delegate;
        return list;
    delegate:
        Py_DECREF(list);
    delegate_now:
        Py_INCREF(Py_None);
        return Py_None;
    failed:
        Py_DECREF(list);
        return NULL;
    }
    """
    object queen_ack_scan(const unsigned char *d, Py_ssize_t n)


def ack_outcomes(body):
    if PyBytes_CheckExact(body) and PyBytes_GET_SIZE(body):
        outcomes = queen_ack_scan(<const unsigned char *>PyBytes_AS_STRING(body),
                                  PyBytes_GET_SIZE(body))
        if outcomes is not None:
            return None, outcomes
    return _pure_ack_outcomes(body)


def all_succeeded(results):
    # Exact dicts (what orjson decodes) are read in place; anything else goes to the pure
    # twin, whose isinstance/get semantics then decide for the whole list.
    cdef Py_ssize_t i
    cdef PyObject *entry
    cdef PyObject *success
    if not PyList_CheckExact(results):
        return _pure_all_succeeded(results)
    for i in range(PyList_GET_SIZE(results)):
        entry = PyList_GET_ITEM(results, i)
        if not PyDict_CheckExact(<object>entry):
            return _pure_all_succeeded(results)
        success = PyDict_GetItemWithError(<object>entry, "success")
        if success != Py_True:
            return False
    return True
