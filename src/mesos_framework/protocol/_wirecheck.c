/*
 * Required-field check on protobuf wire bytes: an optional accelerator for
 * mesos_framework.protocol.decode().
 *
 * Mesos rejects a message that lacks a required field (C++ ParseFromString).
 * upb's Python API can only answer that after the parse with
 * Message.IsInitialized(), a reflective walk over every field of every
 * sub-message that costs more than the parse itself.  This module answers
 * the same question from the bytes that were just parsed successfully, with
 * tables computed once per root message type from its descriptors
 * (mesos_framework/protocol/_required.py builds them).
 *
 * The answer is one-sided on purpose: complete() returns True only when the
 * scan proves that every required field of every sub-message is present with
 * a value the parser keeps; anything else (a missing field, an enum value the
 * parser sets aside as unknown, a group, a sub-message sent twice and merged,
 * bytes it does not understand) returns False, and the caller falls back to
 * IsInitialized(), which gives the exact answer and the error message.  So a
 * gap in this file can only cost speed, never let an incomplete message
 * through, provided True is right; tests/unit/protocol/test_required.py
 * checks that against IsInitialized() on generated and mutated messages.
 *
 * Every read is bounds-checked: the bytes have been parsed by upb before, but
 * this module does not rely on it.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 100        /* upb's default recursion limit */
#define MAX_FIELD 65535      /* largest field number with a slot table */

enum { WT_VARINT = 0, WT_FIXED64 = 1, WT_LEN = 2, WT_SGROUP = 3, WT_EGROUP = 4, WT_FIXED32 = 5 };

typedef struct {
    int wire_type;        /* the wire type the parser accepts for this field */
    int bit;              /* required-field bit, or -1 */
    int sub;              /* index of the message type to scan into, or -1 */
    Py_ssize_t n_enum;    /* closed enum: number of known values (0: any value) */
    int32_t *enums;       /* sorted known values */
} Field;

typedef struct {
    uint64_t required;    /* mask of the required-field bits */
    uint32_t max_number;  /* largest field number with a slot */
    int32_t *slots;       /* field number -> index into fields, or -1 */
    Field *fields;
    Py_ssize_t n_fields;
} Type;

typedef struct {
    PyObject_HEAD
    Type *types;
    Py_ssize_t n_types;
    int root;
} Checker;

static void free_types(Type *types, Py_ssize_t n) {
    if (types == NULL) return;
    for (Py_ssize_t i = 0; i < n; i++) {
        for (Py_ssize_t j = 0; j < types[i].n_fields; j++) PyMem_Free(types[i].fields[j].enums);
        PyMem_Free(types[i].fields);
        PyMem_Free(types[i].slots);
    }
    PyMem_Free(types);
}

static inline int read_varint(const uint8_t **pp, const uint8_t *end, uint64_t *out) {
    const uint8_t *p = *pp;
    if (p < end && *p < 0x80) { /* one byte: most tags, lengths and small numbers */
        *out = *p;
        *pp = p + 1;
        return 1;
    }
    uint64_t value = 0;
    for (int shift = 0; shift < 64 && p < end; shift += 7) {
        uint8_t b = *p++;
        value |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *pp = p;
            *out = value;
            return 1;
        }
    }
    return 0;
}

static int known_enum(const Field *f, uint64_t raw) {
    int32_t v = (int32_t)(uint32_t)raw; /* enums are int32 on the wire, sign-extended */
    Py_ssize_t lo = 0, hi = f->n_enum;
    while (lo < hi) {
        Py_ssize_t mid = (lo + hi) / 2;
        if (f->enums[mid] < v) lo = mid + 1;
        else hi = mid;
    }
    return lo < f->n_enum && f->enums[lo] == v;
}

/* 1: proven complete; 0: not proven (missing, unusual or malformed). */
static int scan(const Checker *c, int type, const uint8_t *p, const uint8_t *end, int depth) {
    const Type *t = &c->types[type];
    uint64_t seen = 0;
    if (depth > MAX_DEPTH) return 0;
    while (p < end) {
        uint64_t tag, value;
        if (!read_varint(&p, end, &tag) || tag > UINT32_MAX) return 0;
        uint32_t number = (uint32_t)(tag >> 3);
        int wt = (int)(tag & 7);
        if (number == 0) return 0;
        const Field *f = NULL;
        if (number <= t->max_number && t->slots[number] >= 0) f = &t->fields[t->slots[number]];
        switch (wt) {
        case WT_VARINT:
            if (!read_varint(&p, end, &value)) return 0;
            if (f != NULL && f->bit >= 0 && f->wire_type == WT_VARINT
                && (f->n_enum == 0 || known_enum(f, value)))
                seen |= (uint64_t)1 << f->bit;
            break;
        case WT_FIXED64:
        case WT_FIXED32: {
            Py_ssize_t size = wt == WT_FIXED64 ? 8 : 4;
            if (end - p < size) return 0;
            p += size;
            if (f != NULL && f->bit >= 0 && f->wire_type == wt) seen |= (uint64_t)1 << f->bit;
            break;
        }
        case WT_LEN: {
            uint64_t len;
            if (!read_varint(&p, end, &len) || len > (uint64_t)(end - p)) return 0;
            if (f != NULL && f->wire_type == WT_LEN) {
                if (f->sub >= 0 && !scan(c, f->sub, p, p + len, depth + 1)) return 0;
                if (f->bit >= 0) seen |= (uint64_t)1 << f->bit;
            }
            p += len;
            break;
        }
        default: /* groups and invalid wire types: leave it to IsInitialized() */
            return 0;
        }
    }
    return (seen & t->required) == t->required;
}

static PyObject *Checker_complete(PyObject *self, PyObject *data) {
    const Checker *c = (const Checker *)self;
    if (PyBytes_CheckExact(data)) {
        char *buffer;
        Py_ssize_t size;
        if (PyBytes_AsStringAndSize(data, &buffer, &size) < 0) return NULL;
        const uint8_t *p = (const uint8_t *)buffer;
        return PyBool_FromLong(scan(c, c->root, p, p + size, 0));
    }
    Py_buffer view;
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0) return NULL;
    const uint8_t *p = (const uint8_t *)view.buf;
    int ok = scan(c, c->root, p, p + view.len, 0);
    PyBuffer_Release(&view);
    return PyBool_FromLong(ok);
}

static int int_item(PyObject *tuple, Py_ssize_t i, long lo, long hi, long *out) {
    long v = PyLong_AsLong(PyTuple_GetItem(tuple, i));
    if (v == -1 && PyErr_Occurred()) return -1;
    if (v < lo || v > hi) {
        PyErr_Format(PyExc_ValueError, "value %ld out of range [%ld, %ld]", v, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

static int cmp_int32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* field: (number, wire_type, bit, sub, enum_values) */
static int load_field(PyObject *item, Py_ssize_t n_types, Field *f, uint32_t *number) {
    long v;
    if (!PyTuple_Check(item) || PyTuple_Size(item) != 5) {
        PyErr_SetString(PyExc_TypeError, "a field is (number, wire_type, bit, sub, enum_values)");
        return -1;
    }
    if (int_item(item, 0, 1, MAX_FIELD, &v) < 0) return -1;
    *number = (uint32_t)v;
    if (int_item(item, 1, 0, 5, &v) < 0) return -1;
    if (v == WT_SGROUP || v == WT_EGROUP) {
        PyErr_SetString(PyExc_ValueError, "groups are not supported");
        return -1;
    }
    f->wire_type = (int)v;
    if (int_item(item, 2, -1, 63, &v) < 0) return -1;
    f->bit = (int)v;
    if (int_item(item, 3, -1, (long)n_types - 1, &v) < 0) return -1;
    f->sub = (int)v;
    if (f->sub >= 0 && f->wire_type != WT_LEN) {
        PyErr_SetString(PyExc_ValueError, "a message field has wire type 2");
        return -1;
    }
    PyObject *enums = PyTuple_GetItem(item, 4);
    if (enums == Py_None) return 0;
    if (!PyTuple_Check(enums) || PyTuple_Size(enums) == 0) {
        PyErr_SetString(PyExc_TypeError, "enum_values is None or a non-empty tuple of int32");
        return -1;
    }
    Py_ssize_t n = PyTuple_Size(enums);
    f->enums = PyMem_New(int32_t, n);
    if (f->enums == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    f->n_enum = n;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (int_item(enums, i, INT32_MIN, INT32_MAX, &v) < 0) return -1;
        f->enums[i] = (int32_t)v;
    }
    qsort(f->enums, (size_t)n, sizeof(int32_t), cmp_int32);
    return 0;
}

/* type: tuple of fields */
static int load_type(PyObject *fields, Py_ssize_t n_types, Type *t) {
    if (!PyTuple_Check(fields)) {
        PyErr_SetString(PyExc_TypeError, "a type is a tuple of fields");
        return -1;
    }
    Py_ssize_t n = PyTuple_Size(fields);
    t->fields = PyMem_New(Field, n > 0 ? n : 1);
    if (t->fields == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    memset(t->fields, 0, sizeof(Field) * (size_t)(n > 0 ? n : 1));
    t->n_fields = n;
    uint32_t *numbers = PyMem_New(uint32_t, n > 0 ? n : 1);
    if (numbers == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    int rc = 0;
    for (Py_ssize_t i = 0; i < n && rc == 0; i++) {
        rc = load_field(PyTuple_GetItem(fields, i), n_types, &t->fields[i], &numbers[i]);
        if (rc == 0 && t->fields[i].bit >= 0) {
            uint64_t bit = (uint64_t)1 << t->fields[i].bit;
            if (t->required & bit) {
                PyErr_SetString(PyExc_ValueError, "a required-field bit is used twice");
                rc = -1;
            }
            t->required |= bit;
        }
        if (rc == 0 && numbers[i] > t->max_number) t->max_number = numbers[i];
    }
    if (rc == 0) {
        t->slots = PyMem_New(int32_t, (size_t)t->max_number + 1);
        if (t->slots == NULL) {
            PyErr_NoMemory();
            rc = -1;
        }
    }
    if (rc == 0) {
        for (uint32_t k = 0; k <= t->max_number; k++) t->slots[k] = -1;
        for (Py_ssize_t i = 0; i < n && rc == 0; i++) {
            if (t->slots[numbers[i]] >= 0) {
                PyErr_Format(PyExc_ValueError, "field number %u is listed twice", numbers[i]);
                rc = -1;
            }
            t->slots[numbers[i]] = (int32_t)i;
        }
    }
    PyMem_Free(numbers);
    return rc;
}

static PyObject *Checker_new(PyTypeObject *cls, PyObject *args, PyObject *kwargs) {
    static char *names[] = {"types", "root", NULL};
    PyObject *types;
    int root;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!i:Checker", names, &PyTuple_Type, &types, &root))
        return NULL;
    Py_ssize_t n = PyTuple_Size(types);
    if (root < 0 || root >= n) {
        PyErr_SetString(PyExc_ValueError, "root is not the index of a type");
        return NULL;
    }
    Type *loaded = PyMem_New(Type, n);
    if (loaded == NULL) return PyErr_NoMemory();
    memset(loaded, 0, sizeof(Type) * (size_t)n);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (load_type(PyTuple_GetItem(types, i), n, &loaded[i]) < 0) {
            free_types(loaded, n);
            return NULL;
        }
    }
    allocfunc alloc = (allocfunc)PyType_GetSlot(cls, Py_tp_alloc);
    Checker *self = (Checker *)alloc(cls, 0);
    if (self == NULL) {
        free_types(loaded, n);
        return NULL;
    }
    self->types = loaded;
    self->n_types = n;
    self->root = root;
    return (PyObject *)self;
}

static void Checker_dealloc(PyObject *self) {
    Checker *c = (Checker *)self;
    PyTypeObject *type = Py_TYPE(self);
    free_types(c->types, c->n_types);
    freefunc free_self = (freefunc)PyType_GetSlot(type, Py_tp_free);
    free_self(self);
    Py_DECREF(type); /* instances of a heap type own a reference to it */
}

static PyMethodDef Checker_methods[] = {
    {"complete", Checker_complete, METH_O,
     "complete(data) -> bool: True if the wire bytes provably hold every required field."},
    {NULL, NULL, 0, NULL},
};

/* A heap type made from a spec: the stable ABI (Py_LIMITED_API) has no static type objects. */
static PyType_Slot Checker_slots[] = {
    {Py_tp_dealloc, Checker_dealloc},
    {Py_tp_doc, "Checker(types, root): required-field tables for one root message type."},
    {Py_tp_methods, Checker_methods},
    {Py_tp_new, Checker_new},
    {0, NULL},
};

static PyType_Spec Checker_spec = {
    .name = "mesos_framework.protocol._wirecheck.Checker",
    .basicsize = sizeof(Checker),
    .flags = Py_TPFLAGS_DEFAULT,
    .slots = Checker_slots,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "mesos_framework.protocol._wirecheck",
    .m_doc = "Required-field check on protobuf wire bytes (tables built by _required.py).",
    .m_size = -1,
};

PyMODINIT_FUNC PyInit__wirecheck(void) {
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    PyObject *type = PyType_FromSpec(&Checker_spec);
    if (type == NULL || PyModule_AddObjectRef(m, "Checker", type) < 0) {
        Py_XDECREF(type);
        Py_DECREF(m);
        return NULL;
    }
    Py_DECREF(type);
    return m;
}
