# The push request body {"items":[a,b,...]} around already-encoded items, shared by the
# compiled codec (PushEncoder.body) and the compiled batcher (Chunk.body). Declared inline in
# a .pxd so each module compiles its own copy and no extension imports another at run time.

from cpython.bytes cimport (
    PyBytes_AS_STRING,
    PyBytes_CheckExact,
    PyBytes_FromStringAndSize,
    PyBytes_GET_SIZE,
)
from libc.string cimport memcpy


cdef inline bytes items_body(object parts):
    # One allocation; anything but a list or tuple of exact bytes takes the generic join
    # (bytes-like items, other sequences).
    cdef bytes head = b'{"items":['
    cdef bytes tail = b"]}"
    cdef Py_ssize_t i, count, n
    cdef object part
    cdef bytes out
    cdef char *w
    if not isinstance(parts, (list, tuple)):
        return head + b",".join(parts) + tail
    count = len(parts)
    n = PyBytes_GET_SIZE(head) + PyBytes_GET_SIZE(tail) + (count - 1 if count else 0)
    for i in range(count):
        part = parts[i]
        if not PyBytes_CheckExact(part):
            return head + b",".join(parts) + tail
        n += PyBytes_GET_SIZE(part)
    out = PyBytes_FromStringAndSize(NULL, n)
    w = PyBytes_AS_STRING(out)
    memcpy(w, PyBytes_AS_STRING(head), PyBytes_GET_SIZE(head))
    w += PyBytes_GET_SIZE(head)
    for i in range(count):
        part = parts[i]
        if i:
            w[0] = 44  # ','
            w += 1
        memcpy(w, PyBytes_AS_STRING(part), PyBytes_GET_SIZE(part))
        w += PyBytes_GET_SIZE(part)
    memcpy(w, PyBytes_AS_STRING(tail), PyBytes_GET_SIZE(tail))
    return out
