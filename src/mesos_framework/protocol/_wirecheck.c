/*
 * Required-field and UTF-8 check on protobuf wire bytes: an optional
 * accelerator for mesos_framework.protocol.decode().  (The second half of
 * this file converts Mesos JSON into wire bytes; see below.)
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
 * The same scan checks that string fields hold valid UTF-8 (proto2's parser
 * keeps them as they come, and Python then sees bytes where it expects str):
 * check() reports a bad one, and the caller names the field from the parsed
 * message.
 *
 * Every read is bounds-checked: the bytes have been parsed by upb before, but
 * this module does not rely on it.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#define MAX_DEPTH 100        /* upb's default recursion limit */
#define MAX_FIELD 65535      /* largest field number with a slot table */

enum { WT_VARINT = 0, WT_FIXED64 = 1, WT_LEN = 2, WT_SGROUP = 3, WT_EGROUP = 4, WT_FIXED32 = 5 };

typedef struct {
    int wire_type;        /* the wire type the parser accepts for this field */
    int bit;              /* required-field bit, or -1 */
    int sub;              /* index of the message type to scan into, or -1 */
    Py_ssize_t n_enum;    /* closed enum: number of known values (0: any value) */
    int32_t *enums;       /* sorted known values */
    int utf8;             /* a string field: its bytes must be valid UTF-8 */
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

/* The scan's answer: 0 when every required field is proven present and every string field
   checked is valid UTF-8; else a mix of these bits. */
#define ST_INCOMPLETE 1  /* a required field is missing (or holds an enum value the parser drops) */
#define ST_BAD_UTF8 2    /* a string field's bytes are not valid UTF-8 (the scan stopped there) */
#define ST_UNSURE 4      /* bytes the scan does not follow (malformed, groups, too deep): stopped */

static int valid_utf8(const uint8_t *p, const uint8_t *end) {
    while (p < end) {
        if (*p < 0x80) {
            p++;
            continue;
        }
        uint8_t c = p[0];
        Py_ssize_t left = end - p;
        if (c >= 0xC2 && c <= 0xDF) {
            if (left < 2 || (p[1] & 0xC0) != 0x80) return 0;
            p += 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            if (left < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
            if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] >= 0xA0)) return 0;
            p += 3;
        } else if (c >= 0xF0 && c <= 0xF4) {
            if (left < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
                return 0;
            if ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] >= 0x90)) return 0;
            p += 4;
        } else {
            return 0;
        }
    }
    return 1;
}

static int scan(const Checker *c, int type, const uint8_t *p, const uint8_t *end, int depth) {
    const Type *t = &c->types[type];
    uint64_t seen = 0;
    int status = 0;
    if (depth > MAX_DEPTH) return ST_UNSURE;
    while (p < end) {
        uint64_t tag, value;
        if (!read_varint(&p, end, &tag) || tag > UINT32_MAX) return status | ST_UNSURE;
        uint32_t number = (uint32_t)(tag >> 3);
        int wt = (int)(tag & 7);
        if (number == 0) return status | ST_UNSURE;
        const Field *f = NULL;
        if (number <= t->max_number && t->slots[number] >= 0) f = &t->fields[t->slots[number]];
        switch (wt) {
        case WT_VARINT:
            if (!read_varint(&p, end, &value)) return status | ST_UNSURE;
            if (f != NULL && f->bit >= 0 && f->wire_type == WT_VARINT
                && (f->n_enum == 0 || known_enum(f, value)))
                seen |= (uint64_t)1 << f->bit;
            break;
        case WT_FIXED64:
        case WT_FIXED32: {
            Py_ssize_t size = wt == WT_FIXED64 ? 8 : 4;
            if (end - p < size) return status | ST_UNSURE;
            p += size;
            if (f != NULL && f->bit >= 0 && f->wire_type == wt) seen |= (uint64_t)1 << f->bit;
            break;
        }
        case WT_LEN: {
            uint64_t len;
            if (!read_varint(&p, end, &len) || len > (uint64_t)(end - p)) return status | ST_UNSURE;
            if (f != NULL && f->wire_type == WT_LEN) {
                if (f->sub >= 0) {
                    status |= scan(c, f->sub, p, p + len, depth + 1);
                    if (status & (ST_BAD_UTF8 | ST_UNSURE)) return status;
                }
                if (f->utf8 && !valid_utf8(p, p + len)) return status | ST_BAD_UTF8;
                if (f->bit >= 0) seen |= (uint64_t)1 << f->bit;
            }
            p += len;
            break;
        }
        default: /* groups and invalid wire types: leave it to IsInitialized() */
            return status | ST_UNSURE;
        }
    }
    if ((seen & t->required) != t->required) status |= ST_INCOMPLETE;
    return status;
}

static int check_data(const Checker *c, PyObject *data) {
    if (PyBytes_CheckExact(data)) {
        char *buffer;
        Py_ssize_t size;
        if (PyBytes_AsStringAndSize(data, &buffer, &size) < 0) return -1;
        const uint8_t *p = (const uint8_t *)buffer;
        return scan(c, c->root, p, p + size, 0);
    }
    Py_buffer view;
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0) return -1;
    const uint8_t *p = (const uint8_t *)view.buf;
    int status = scan(c, c->root, p, p + view.len, 0);
    PyBuffer_Release(&view);
    return status;
}

static PyObject *Checker_check(PyObject *self, PyObject *data) {
    int status = check_data((const Checker *)self, data);
    return status < 0 ? NULL : PyLong_FromLong(status);
}

static PyObject *Checker_complete(PyObject *self, PyObject *data) {
    int status = check_data((const Checker *)self, data);
    return status < 0 ? NULL : PyBool_FromLong(status == 0);
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

/* field: (number, wire_type, bit, sub, enum_values[, utf8]) */
static int load_field(PyObject *item, Py_ssize_t n_types, Field *f, uint32_t *number) {
    long v;
    if (!PyTuple_Check(item) || PyTuple_Size(item) < 5 || PyTuple_Size(item) > 6) {
        PyErr_SetString(PyExc_TypeError, "a field is (number, wire_type, bit, sub, enum_values[, utf8])");
        return -1;
    }
    if (PyTuple_Size(item) == 6) {
        if (int_item(item, 5, 0, 1, &v) < 0) return -1;
        f->utf8 = (int)v;
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
    if ((f->sub >= 0 || f->utf8) && f->wire_type != WT_LEN) {
        PyErr_SetString(PyExc_ValueError, "a message or string field has wire type 2");
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
     "complete(data) -> bool: True if the wire bytes provably hold every required field "
     "(and every string field checked is valid UTF-8)."},
    {"check", Checker_check, METH_O,
     "check(data) -> int: 0 if complete() holds; else bits: 1 a required field missing, "
     "2 a string field not valid UTF-8, 4 bytes the scan does not follow."},
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


/* ======================================================================
 * JSON -> protobuf wire bytes: the fast path of lenient JSON decoding.
 *
 * JsonWire(types, root).convert(data) reads one JSON document of Mesos's
 * (stout's) encoding and returns the protobuf wire bytes of the same
 * message, or None.  None means "not decided here": the caller runs the
 * exact Python path (mesos_framework/protocol/jsoncodec.py), which builds
 * the message or raises the precise error.  So this converter takes only
 * input that the exact path would accept unchanged and turn into the same
 * message: strings for string fields, JSON true/false for bools, integer
 * literals within the field's range for integer fields, finite numbers for
 * doubles, known enum names, padded or unpadded standard base64 without
 * escapes or whitespace for bytes, objects for messages, arrays for
 * repeated fields, null for "unset".  Anything else (numeric strings,
 * "Infinity", floats for integers, unknown enum names, escapes in keys, a
 * key given twice, map and float fields, a missing required field) gives
 * None.  Unknown keys are skipped, their values checked as strictly as
 * orjson checks them (valid UTF-8, no lone surrogates, finite numbers).
 * Tables are built by mesos_framework/protocol/_fastjson.py.
 * ====================================================================== */

enum {
    K_STRING, K_BYTES, K_BOOL, K_DOUBLE, K_INT32, K_INT64, K_UINT32, K_UINT64, K_SINT32, K_SINT64,
    K_FIXED32, K_FIXED64, K_SFIXED32, K_SFIXED64, K_ENUM, K_MESSAGE, K_UNSUPPORTED, K_COUNT
};

#define JSON_MAX_DEPTH 90     /* below upb's parse limit of 100 */
#define JSON_MAX_FIELDS 256   /* one bit per field of a type, for keys given twice */

typedef struct {
    char *name;
    Py_ssize_t len;
    int32_t number;
} EnumName;

typedef struct {
    char *name;
    Py_ssize_t len;
    int kind;
    int repeated;
    int bit;          /* required-field bit, or -1 */
    int sub;          /* message type index, or -1 */
    uint8_t tag[5];   /* the field's tag, encoded */
    int tag_len;
    EnumName *enums;  /* sorted by name */
    Py_ssize_t n_enums;
} JField;

typedef struct {
    JField *fields;   /* sorted by name */
    Py_ssize_t n_fields;
    uint64_t required;
} JType;

typedef struct {
    PyObject_HEAD
    JType *types;
    Py_ssize_t n_types;
    int root;
} JsonWire;

typedef struct {
    const uint8_t *p;
    const uint8_t *end;
    uint8_t *out;
    Py_ssize_t len;
    Py_ssize_t cap;
    int nomem;
} St;

static void free_jtypes(JType *types, Py_ssize_t n) {
    if (types == NULL) return;
    for (Py_ssize_t i = 0; i < n; i++) {
        for (Py_ssize_t j = 0; j < types[i].n_fields; j++) {
            JField *f = &types[i].fields[j];
            for (Py_ssize_t k = 0; k < f->n_enums; k++) PyMem_Free(f->enums[k].name);
            PyMem_Free(f->enums);
            PyMem_Free(f->name);
        }
        PyMem_Free(types[i].fields);
    }
    PyMem_Free(types);
}

/* -- output ------------------------------------------------------------ */

static int grow(St *s, Py_ssize_t need) {
    if (s->len + need <= s->cap) return 0;
    Py_ssize_t cap = s->cap * 2;
    if (cap < s->len + need) cap = s->len + need + 256;
    uint8_t *out = PyMem_Realloc(s->out, (size_t)cap);
    if (out == NULL) {
        s->nomem = 1;
        return -1;
    }
    s->out = out;
    s->cap = cap;
    return 0;
}

static inline int put_varint(St *s, uint64_t v) {
    if (grow(s, 10) < 0) return -1;
    uint8_t *o = s->out + s->len;
    while (v >= 0x80) {
        *o++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *o++ = (uint8_t)v;
    s->len = o - s->out;
    return 0;
}

static inline int put_bytes(St *s, const void *data, Py_ssize_t n) {
    if (grow(s, n) < 0) return -1;
    memcpy(s->out + s->len, data, (size_t)n);
    s->len += n;
    return 0;
}

static inline int put_tag(St *s, const JField *f) { return put_bytes(s, f->tag, f->tag_len); }

static inline int put_fixed(St *s, uint64_t v, int size) {
    if (grow(s, size) < 0) return -1;
    for (int i = 0; i < size; i++) s->out[s->len + i] = (uint8_t)(v >> (8 * i));
    s->len += size;
    return 0;
}

/* Length-delimited content: reserve one byte for the length, write the content, then
   fix the length up (moving the content when the length needs more than one byte). */
static inline Py_ssize_t open_len(St *s) {
    if (grow(s, 1) < 0) return -1;
    s->len += 1;
    return s->len;
}

static int close_len(St *s, Py_ssize_t start) {
    uint64_t n = (uint64_t)(s->len - start);
    if (n < 0x80) {
        s->out[start - 1] = (uint8_t)n;
        return 0;
    }
    uint8_t buf[10];
    int k = 0;
    uint64_t v = n;
    while (v >= 0x80) {
        buf[k++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    buf[k++] = (uint8_t)v;
    if (grow(s, k - 1) < 0) return -1;
    memmove(s->out + start + k - 1, s->out + start, (size_t)n);
    memcpy(s->out + start - 1, buf, (size_t)k);
    s->len += k - 1;
    return 0;
}

/* -- input ------------------------------------------------------------- */

static inline void ws(St *s) {
    const uint8_t *p = s->p;
    while (p < s->end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
    s->p = p;
}

static inline int lit(St *s, const char *word, Py_ssize_t n) {
    if (s->end - s->p < n || memcmp(s->p, word, (size_t)n) != 0) return -1;
    s->p += n;
    return 0;
}

/* Length of the valid UTF-8 sequence starting at p (p[0] >= 0x80), or 0. */
static inline int utf8_seq(const uint8_t *p, const uint8_t *end) {
    uint8_t c = p[0];
    if (c >= 0xC2 && c <= 0xDF) {
        return (end - p >= 2 && (p[1] & 0xC0) == 0x80) ? 2 : 0;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (end - p < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
        if (c == 0xE0 && p[1] < 0xA0) return 0;  /* overlong */
        if (c == 0xED && p[1] >= 0xA0) return 0; /* surrogates */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (end - p < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && p[1] < 0x90) return 0;  /* overlong */
        if (c == 0xF4 && p[1] >= 0x90) return 0; /* above U+10FFFF */
        return 4;
    }
    return 0;
}

static inline int hex4(const uint8_t *p, uint32_t *out) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        uint8_t c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

/* A JSON string (s->p after the opening quote): checked, unescaped into the output when
   emit is set.  *plain tells whether it held no escape (then [*start, *stop) is its text). */
static int string_body(St *s, int emit, const uint8_t **start, const uint8_t **stop, int *plain) {
    const uint8_t *p = s->p, *end = s->end;
    const uint8_t *run = p;
    *plain = 1;
    *start = p;
    for (;;) {
        while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') p++;
        if (p >= end) return -1;
        uint8_t c = *p;
        if (c == '"') {
            if (emit && put_bytes(s, run, p - run) < 0) return -1;
            *stop = p;
            s->p = p + 1;
            return 0;
        }
        if (c < 0x20) return -1; /* control characters must be escaped */
        if (c >= 0x80) {
            int n = utf8_seq(p, end);
            if (n == 0) return -1;
            p += n;
            continue;
        }
        /* a backslash */
        *plain = 0;
        if (emit && put_bytes(s, run, p - run) < 0) return -1;
        if (end - p < 2) return -1;
        uint8_t e = p[1];
        uint8_t one;
        switch (e) {
        case '"': one = '"'; break;
        case '\\': one = '\\'; break;
        case '/': one = '/'; break;
        case 'b': one = '\b'; break;
        case 'f': one = '\f'; break;
        case 'n': one = '\n'; break;
        case 'r': one = '\r'; break;
        case 't': one = '\t'; break;
        case 'u': {
            uint32_t cp, lo;
            if (end - p < 6 || hex4(p + 2, &cp) < 0) return -1;
            p += 6;
            if (cp >= 0xDC00 && cp <= 0xDFFF) return -1; /* a lone low surrogate */
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &lo) < 0) return -1;
                if (lo < 0xDC00 || lo > 0xDFFF) return -1;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            }
            if (emit) {
                uint8_t buf[4];
                int k;
                if (cp < 0x80) {
                    buf[0] = (uint8_t)cp;
                    k = 1;
                } else if (cp < 0x800) {
                    buf[0] = (uint8_t)(0xC0 | (cp >> 6));
                    buf[1] = (uint8_t)(0x80 | (cp & 0x3F));
                    k = 2;
                } else if (cp < 0x10000) {
                    buf[0] = (uint8_t)(0xE0 | (cp >> 12));
                    buf[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
                    buf[2] = (uint8_t)(0x80 | (cp & 0x3F));
                    k = 3;
                } else {
                    buf[0] = (uint8_t)(0xF0 | (cp >> 18));
                    buf[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
                    buf[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
                    buf[3] = (uint8_t)(0x80 | (cp & 0x3F));
                    k = 4;
                }
                if (put_bytes(s, buf, k) < 0) return -1;
            }
            run = p;
            continue;
        }
        default:
            return -1;
        }
        if (emit && put_bytes(s, &one, 1) < 0) return -1;
        p += 2;
        run = p;
    }
}

/* A JSON number at s->p: its text span; *integer when it has no fraction or exponent. */
static int number_span(St *s, const uint8_t **start, Py_ssize_t *n, int *integer) {
    const uint8_t *p = s->p, *end = s->end;
    *start = p;
    *integer = 1;
    if (p < end && *p == '-') p++;
    if (p >= end) return -1;
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9') p++;
    } else {
        return -1;
    }
    if (p < end && *p == '.') {
        *integer = 0;
        p++;
        if (p >= end || *p < '0' || *p > '9') return -1;
        while (p < end && *p >= '0' && *p <= '9') p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        *integer = 0;
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (p >= end || *p < '0' || *p > '9') return -1;
        while (p < end && *p >= '0' && *p <= '9') p++;
    }
    *n = p - *start;
    s->p = p;
    return 0;
}

/* A finite double from a number's text (correctly rounded, locale-independent). */
static int to_double(const uint8_t *text, Py_ssize_t n, double *out) {
    char buf[80];
    if (n >= (Py_ssize_t)sizeof(buf)) return -1; /* unusual: let the exact path decide */
    memcpy(buf, text, (size_t)n);
    buf[n] = 0;
    char *stop = NULL;
    double d = PyOS_string_to_double(buf, &stop, NULL);
    if (d == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        return -1;
    }
    if (stop != buf + n || !isfinite(d)) return -1;
    *out = d;
    return 0;
}

/* An integer literal's value: magnitude and sign; -1 beyond 64 bits. */
static int to_integer(const uint8_t *text, Py_ssize_t n, uint64_t *mag, int *negative) {
    const uint8_t *p = text, *end = text + n;
    *negative = 0;
    if (*p == '-') {
        *negative = 1;
        p++;
    }
    uint64_t v = 0;
    for (; p < end; p++) {
        uint64_t digit = (uint64_t)(*p - '0');
        if (v > (UINT64_MAX - digit) / 10) return -1;
        v = v * 10 + digit;
    }
    *mag = v;
    return 0;
}

static int skip_value(St *s, int depth);

static int skip_number(St *s) {
    const uint8_t *start;
    Py_ssize_t n;
    int integer;
    if (number_span(s, &start, &n, &integer) < 0) return -1;
    double d;
    /* orjson refuses numbers that overflow a double; the exact path would then fail */
    if (!integer || n > 19) return to_double(start, n, &d);
    return 0;
}

static int skip_value(St *s, int depth) {
    if (depth > JSON_MAX_DEPTH || s->p >= s->end) return -1;
    const uint8_t *a, *b;
    int plain;
    switch (*s->p) {
    case '"':
        s->p++;
        return string_body(s, 0, &a, &b, &plain);
    case '{':
        s->p++;
        ws(s);
        if (s->p < s->end && *s->p == '}') {
            s->p++;
            return 0;
        }
        for (;;) {
            ws(s);
            if (s->p >= s->end || *s->p != '"') return -1;
            s->p++;
            if (string_body(s, 0, &a, &b, &plain) < 0) return -1;
            ws(s);
            if (s->p >= s->end || *s->p != ':') return -1;
            s->p++;
            ws(s);
            if (skip_value(s, depth + 1) < 0) return -1;
            ws(s);
            if (s->p >= s->end) return -1;
            if (*s->p == ',') {
                s->p++;
                continue;
            }
            if (*s->p == '}') {
                s->p++;
                return 0;
            }
            return -1;
        }
    case '[':
        s->p++;
        ws(s);
        if (s->p < s->end && *s->p == ']') {
            s->p++;
            return 0;
        }
        for (;;) {
            ws(s);
            if (skip_value(s, depth + 1) < 0) return -1;
            ws(s);
            if (s->p >= s->end) return -1;
            if (*s->p == ',') {
                s->p++;
                continue;
            }
            if (*s->p == ']') {
                s->p++;
                return 0;
            }
            return -1;
        }
    case 't':
        return lit(s, "true", 4);
    case 'f':
        return lit(s, "false", 5);
    case 'n':
        return lit(s, "null", 4);
    default:
        return skip_number(s);
    }
}

static const JField *find_field(const JType *t, const uint8_t *key, Py_ssize_t n) {
    Py_ssize_t lo = 0, hi = t->n_fields;
    while (lo < hi) {
        Py_ssize_t mid = (lo + hi) / 2;
        const JField *f = &t->fields[mid];
        Py_ssize_t m = f->len < n ? f->len : n;
        int c = memcmp(f->name, key, (size_t)m);
        if (c == 0) c = (f->len > n) - (f->len < n);
        if (c == 0) return f;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

static const EnumName *find_enum(const JField *f, const uint8_t *name, Py_ssize_t n) {
    Py_ssize_t lo = 0, hi = f->n_enums;
    while (lo < hi) {
        Py_ssize_t mid = (lo + hi) / 2;
        const EnumName *e = &f->enums[mid];
        Py_ssize_t m = e->len < n ? e->len : n;
        int c = memcmp(e->name, name, (size_t)m);
        if (c == 0) c = (e->len > n) - (e->len < n);
        if (c == 0) return e;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

static const int8_t B64[256] = {
    ['A'] = 1,  ['B'] = 2,  ['C'] = 3,  ['D'] = 4,  ['E'] = 5,  ['F'] = 6,  ['G'] = 7,  ['H'] = 8,
    ['I'] = 9,  ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16,
    ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
    ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
    ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
    ['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
    ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
    ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
}; /* value + 1; 0: not in the standard alphabet */

/* A bytes field's base64 string (s->p after the opening quote) as a length-delimited value. */
static int base64_value(St *s) {
    const uint8_t *p = s->p, *end = s->end;
    const uint8_t *start = p;
    while (p < end && B64[*p]) p++;
    Py_ssize_t n = p - start;
    int pad = 0;
    while (p < end && *p == '=' && pad < 2) {
        p++;
        pad++;
    }
    if (p >= end || *p != '"') return -1; /* escapes, whitespace, other characters: exact path */
    if (n % 4 == 1) return -1;
    s->p = p + 1;
    Py_ssize_t size = n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
    if (put_varint(s, (uint64_t)size) < 0 || grow(s, size + 3) < 0) return -1;
    uint8_t *o = s->out + s->len;
    Py_ssize_t i = 0;
    for (; i + 4 <= n; i += 4) {
        uint32_t v = (uint32_t)(B64[start[i]] - 1) << 18 | (uint32_t)(B64[start[i + 1]] - 1) << 12
                     | (uint32_t)(B64[start[i + 2]] - 1) << 6 | (uint32_t)(B64[start[i + 3]] - 1);
        *o++ = (uint8_t)(v >> 16);
        *o++ = (uint8_t)(v >> 8);
        *o++ = (uint8_t)v;
    }
    if (n - i == 2) {
        uint32_t v = (uint32_t)(B64[start[i]] - 1) << 18 | (uint32_t)(B64[start[i + 1]] - 1) << 12;
        *o++ = (uint8_t)(v >> 16);
    } else if (n - i == 3) {
        uint32_t v = (uint32_t)(B64[start[i]] - 1) << 18 | (uint32_t)(B64[start[i + 1]] - 1) << 12
                     | (uint32_t)(B64[start[i + 2]] - 1) << 6;
        *o++ = (uint8_t)(v >> 16);
        *o++ = (uint8_t)(v >> 8);
    }
    s->len = o - s->out;
    return 0;
}

static int object_value(const JsonWire *w, St *s, int type, int depth);

/* One value (not null, not an array) of field f, with its tag. */
static int field_value(const JsonWire *w, St *s, const JField *f, int depth) {
    if (s->p >= s->end) return -1;
    uint8_t c = *s->p;
    switch (f->kind) {
    case K_STRING: {
        if (c != '"') return -1;
        s->p++;
        if (put_tag(s, f) < 0) return -1;
        Py_ssize_t at = open_len(s);
        const uint8_t *a, *b;
        int plain;
        if (at < 0 || string_body(s, 1, &a, &b, &plain) < 0) return -1;
        return close_len(s, at);
    }
    case K_BYTES:
        if (c != '"') return -1;
        s->p++;
        if (put_tag(s, f) < 0) return -1;
        return base64_value(s);
    case K_BOOL:
        if (c == 't') {
            if (lit(s, "true", 4) < 0) return -1;
            return put_tag(s, f) < 0 ? -1 : put_varint(s, 1);
        }
        if (c == 'f') {
            if (lit(s, "false", 5) < 0) return -1;
            return put_tag(s, f) < 0 ? -1 : put_varint(s, 0);
        }
        return -1;
    case K_DOUBLE: {
        const uint8_t *text;
        Py_ssize_t n;
        int integer;
        double d;
        if (c != '-' && (c < '0' || c > '9')) return -1;
        if (number_span(s, &text, &n, &integer) < 0 || to_double(text, n, &d) < 0) return -1;
        uint64_t bits;
        memcpy(&bits, &d, 8);
        return put_tag(s, f) < 0 ? -1 : put_fixed(s, bits, 8);
    }
    case K_ENUM: {
        if (c != '"') return -1;
        const uint8_t *name = s->p + 1, *q = name;
        while (q < s->end && *q != '"' && *q != '\\' && *q >= 0x20 && *q < 0x80) q++;
        if (q >= s->end || *q != '"') return -1;
        const EnumName *e = find_enum(f, name, q - name);
        if (e == NULL) return -1; /* unknown names: the exact path drops or refuses them */
        s->p = q + 1;
        return put_tag(s, f) < 0 ? -1 : put_varint(s, (uint64_t)(int64_t)e->number);
    }
    case K_MESSAGE: {
        if (c != '{') return -1;
        if (put_tag(s, f) < 0) return -1;
        Py_ssize_t at = open_len(s);
        if (at < 0 || object_value(w, s, f->sub, depth + 1) < 0) return -1;
        return close_len(s, at);
    }
    case K_UNSUPPORTED:
        return -1;
    default: { /* integers */
        const uint8_t *text;
        Py_ssize_t n;
        int integer, negative;
        uint64_t mag;
        if (c != '-' && (c < '0' || c > '9')) return -1;
        if (number_span(s, &text, &n, &integer) < 0 || !integer) return -1;
        if (to_integer(text, n, &mag, &negative) < 0) return -1;
        int64_t sv = 0;
        int is_signed = f->kind == K_INT32 || f->kind == K_INT64 || f->kind == K_SINT32
                        || f->kind == K_SINT64 || f->kind == K_SFIXED32 || f->kind == K_SFIXED64;
        int bits32 = f->kind == K_INT32 || f->kind == K_UINT32 || f->kind == K_SINT32
                     || f->kind == K_FIXED32 || f->kind == K_SFIXED32;
        if (is_signed) {
            uint64_t limit = bits32 ? (uint64_t)INT32_MAX : (uint64_t)INT64_MAX;
            if (mag > limit + (negative ? 1 : 0)) return -1;
            sv = negative ? (int64_t)(0 - mag) : (int64_t)mag;
        } else {
            if (negative && mag != 0) return -1;
            if (bits32 && mag > UINT32_MAX) return -1;
        }
        if (put_tag(s, f) < 0) return -1;
        switch (f->kind) {
        case K_INT32:
        case K_INT64:
            return put_varint(s, (uint64_t)sv);
        case K_UINT32:
        case K_UINT64:
            return put_varint(s, mag);
        case K_SINT32:
            return put_varint(s, (uint64_t)(uint32_t)(((uint32_t)sv << 1) ^ (uint32_t)((int32_t)sv >> 31)));
        case K_SINT64:
            return put_varint(s, ((uint64_t)sv << 1) ^ (uint64_t)(sv >> 63));
        case K_FIXED32:
            return put_fixed(s, mag, 4);
        case K_FIXED64:
            return put_fixed(s, mag, 8);
        case K_SFIXED32:
            return put_fixed(s, (uint64_t)(uint32_t)(int32_t)sv, 4);
        case K_SFIXED64:
            return put_fixed(s, (uint64_t)sv, 8);
        default:
            return -1;
        }
    }
    }
}

static int object_value(const JsonWire *w, St *s, int type, int depth) {
    const JType *t = &w->types[type];
    uint64_t seen[JSON_MAX_FIELDS / 64] = {0};
    uint64_t required = 0;
    if (depth > JSON_MAX_DEPTH || s->p >= s->end || *s->p != '{') return -1;
    s->p++;
    ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return (t->required == 0) ? 0 : -1;
    }
    for (;;) {
        ws(s);
        if (s->p >= s->end || *s->p != '"') return -1;
        const uint8_t *key = s->p + 1, *q = key;
        while (q < s->end && *q != '"' && *q != '\\' && *q >= 0x20 && *q < 0x80) q++;
        const JField *f = NULL;
        if (q < s->end && *q == '"') {
            f = find_field(t, key, q - key);
            s->p = q + 1;
        } else {
            /* not a plain ASCII key: no field has such a name, but check it as orjson would */
            const uint8_t *a, *b;
            int plain;
            s->p++;
            if (string_body(s, 0, &a, &b, &plain) < 0) return -1;
            if (!plain) return -1; /* an escaped key might spell a field's name */
        }
        ws(s);
        if (s->p >= s->end || *s->p != ':') return -1;
        s->p++;
        ws(s);
        if (f == NULL) {
            if (skip_value(s, depth + 1) < 0) return -1; /* unknown key: ignored, as Mesos does */
        } else {
            Py_ssize_t index = f - t->fields;
            uint64_t bit = (uint64_t)1 << (index % 64);
            if (seen[index / 64] & bit) return -1; /* a key given twice: the exact path keeps the last */
            seen[index / 64] |= bit;
            if (s->p >= s->end) return -1;
            if (*s->p == 'n') {
                if (lit(s, "null", 4) < 0) return -1; /* null: unset */
            } else if (f->repeated) {
                if (*s->p != '[') return -1;
                s->p++;
                ws(s);
                if (s->p < s->end && *s->p == ']') {
                    s->p++;
                } else {
                    for (;;) {
                        ws(s);
                        if (s->p < s->end && *s->p == 'n') {
                            if (lit(s, "null", 4) < 0) return -1; /* a null item is dropped */
                        } else if (field_value(w, s, f, depth) < 0) {
                            return -1;
                        }
                        ws(s);
                        if (s->p >= s->end) return -1;
                        if (*s->p == ',') {
                            s->p++;
                            continue;
                        }
                        if (*s->p == ']') {
                            s->p++;
                            break;
                        }
                        return -1;
                    }
                }
            } else {
                if (field_value(w, s, f, depth) < 0) return -1;
                if (f->bit >= 0) required |= (uint64_t)1 << f->bit;
            }
        }
        ws(s);
        if (s->p >= s->end) return -1;
        if (*s->p == ',') {
            s->p++;
            continue;
        }
        if (*s->p == '}') {
            s->p++;
            break;
        }
        return -1;
    }
    /* A missing required field: the exact path raises the error naming it. */
    return (required & t->required) == t->required ? 0 : -1;
}

static PyObject *JsonWire_convert(PyObject *self, PyObject *data) {
    const JsonWire *w = (const JsonWire *)self;
    Py_buffer view;
    if (PyUnicode_Check(data)) Py_RETURN_NONE;
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    St s = {0};
    s.p = (const uint8_t *)view.buf;
    s.end = s.p + view.len;
    s.cap = view.len + 64;
    s.out = PyMem_Malloc((size_t)s.cap);
    PyObject *result = NULL;
    if (s.out == NULL) {
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    ws(&s);
    int rc = object_value(w, &s, w->root, 0);
    if (rc == 0) {
        ws(&s);
        if (s.p != s.end) rc = -1;
    }
    if (s.nomem) {
        PyErr_NoMemory();
    } else if (rc < 0) {
        result = Py_NewRef(Py_None);
    } else {
        result = PyBytes_FromStringAndSize((const char *)s.out, s.len);
    }
    PyMem_Free(s.out);
    PyBuffer_Release(&view);
    return result;
}

/* -- tables ------------------------------------------------------------- */

static char *copy_name(PyObject *bytes, Py_ssize_t *len) {
    char *text;
    if (!PyBytes_Check(bytes)) {
        PyErr_SetString(PyExc_TypeError, "names are bytes");
        return NULL;
    }
    if (PyBytes_AsStringAndSize(bytes, &text, len) < 0) return NULL;
    char *copy = PyMem_Malloc((size_t)*len + 1);
    if (copy == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    memcpy(copy, text, (size_t)*len + 1);
    return copy;
}

static int cmp_names(const char *a, Py_ssize_t na, const char *b, Py_ssize_t nb) {
    Py_ssize_t m = na < nb ? na : nb;
    int c = memcmp(a, b, (size_t)m);
    return c != 0 ? c : (na > nb) - (na < nb);
}

/* field: (name: bytes, number, kind, repeated, bit, sub, enums: ((name, number), ...) | None);
   fields arrive sorted by name (checked). */
static int load_jfield(PyObject *item, Py_ssize_t n_types, JField *f) {
    long v;
    if (!PyTuple_Check(item) || PyTuple_Size(item) != 7) {
        PyErr_SetString(PyExc_TypeError, "a field is (name, number, kind, repeated, bit, sub, enums)");
        return -1;
    }
    f->name = copy_name(PyTuple_GetItem(item, 0), &f->len);
    if (f->name == NULL) return -1;
    if (int_item(item, 1, 1, 536870911L, &v) < 0) return -1;
    long number = v;
    if (int_item(item, 2, 0, K_COUNT - 1, &v) < 0) return -1;
    f->kind = (int)v;
    if (int_item(item, 3, 0, 1, &v) < 0) return -1;
    f->repeated = (int)v;
    if (int_item(item, 4, -1, 63, &v) < 0) return -1;
    f->bit = (int)v;
    if (int_item(item, 5, -1, (long)n_types - 1, &v) < 0) return -1;
    f->sub = (int)v;
    if (f->kind == K_MESSAGE && f->sub < 0) {
        PyErr_SetString(PyExc_ValueError, "a message field needs its type");
        return -1;
    }
    int wt;
    switch (f->kind) {
    case K_STRING: case K_BYTES: case K_MESSAGE: case K_UNSUPPORTED: wt = WT_LEN; break;
    case K_DOUBLE: case K_FIXED64: case K_SFIXED64: wt = WT_FIXED64; break;
    case K_FIXED32: case K_SFIXED32: wt = WT_FIXED32; break;
    default: wt = WT_VARINT;
    }
    uint64_t tag = ((uint64_t)number << 3) | (uint64_t)wt;
    f->tag_len = 0;
    while (tag >= 0x80) {
        f->tag[f->tag_len++] = (uint8_t)(tag | 0x80);
        tag >>= 7;
    }
    f->tag[f->tag_len++] = (uint8_t)tag;
    PyObject *enums = PyTuple_GetItem(item, 6);
    if (enums == Py_None) {
        if (f->kind == K_ENUM) {
            PyErr_SetString(PyExc_ValueError, "an enum field needs its names");
            return -1;
        }
        return 0;
    }
    if (!PyTuple_Check(enums)) {
        PyErr_SetString(PyExc_TypeError, "enums is None or a tuple of (name, number)");
        return -1;
    }
    Py_ssize_t n = PyTuple_Size(enums);
    f->enums = PyMem_New(EnumName, n > 0 ? n : 1);
    if (f->enums == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *pair = PyTuple_GetItem(enums, i);
        if (!PyTuple_Check(pair) || PyTuple_Size(pair) != 2) {
            PyErr_SetString(PyExc_TypeError, "an enum value is (name, number)");
            return -1;
        }
        f->enums[i].name = copy_name(PyTuple_GetItem(pair, 0), &f->enums[i].len);
        if (f->enums[i].name == NULL) return -1;
        f->n_enums = i + 1;
        if (int_item(pair, 1, INT32_MIN, INT32_MAX, &v) < 0) return -1;
        f->enums[i].number = (int32_t)v;
        if (i > 0 && cmp_names(f->enums[i - 1].name, f->enums[i - 1].len, f->enums[i].name,
                               f->enums[i].len) >= 0) {
            PyErr_SetString(PyExc_ValueError, "enum names must be sorted and distinct");
            return -1;
        }
    }
    return 0;
}

static PyObject *JsonWire_new(PyTypeObject *cls, PyObject *args, PyObject *kwargs) {
    static char *names[] = {"types", "root", NULL};
    PyObject *types;
    int root;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!i:JsonWire", names, &PyTuple_Type, &types, &root))
        return NULL;
    Py_ssize_t n = PyTuple_Size(types);
    if (root < 0 || root >= n) {
        PyErr_SetString(PyExc_ValueError, "root is not the index of a type");
        return NULL;
    }
    JType *loaded = PyMem_New(JType, n);
    if (loaded == NULL) return PyErr_NoMemory();
    memset(loaded, 0, sizeof(JType) * (size_t)n);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *fields = PyTuple_GetItem(types, i);
        if (!PyTuple_Check(fields) || PyTuple_Size(fields) > JSON_MAX_FIELDS) {
            PyErr_SetString(PyExc_ValueError, "a type is a tuple of at most 256 fields");
            goto fail;
        }
        Py_ssize_t m = PyTuple_Size(fields);
        loaded[i].fields = PyMem_New(JField, m > 0 ? m : 1);
        if (loaded[i].fields == NULL) {
            PyErr_NoMemory();
            goto fail;
        }
        memset(loaded[i].fields, 0, sizeof(JField) * (size_t)(m > 0 ? m : 1));
        for (Py_ssize_t j = 0; j < m; j++) {
            JField *f = &loaded[i].fields[j];
            loaded[i].n_fields = j + 1;
            if (load_jfield(PyTuple_GetItem(fields, j), n, f) < 0) goto fail;
            if (j > 0 && cmp_names(loaded[i].fields[j - 1].name, loaded[i].fields[j - 1].len, f->name,
                                   f->len) >= 0) {
                PyErr_SetString(PyExc_ValueError, "field names must be sorted and distinct");
                goto fail;
            }
            if (f->bit >= 0) {
                uint64_t bit = (uint64_t)1 << f->bit;
                if ((loaded[i].required & bit) || f->repeated) {
                    PyErr_SetString(PyExc_ValueError, "a required-field bit is used twice");
                    goto fail;
                }
                loaded[i].required |= bit;
            }
        }
    }
    allocfunc alloc = (allocfunc)PyType_GetSlot(cls, Py_tp_alloc);
    JsonWire *self = (JsonWire *)alloc(cls, 0);
    if (self == NULL) goto fail;
    self->types = loaded;
    self->n_types = n;
    self->root = root;
    return (PyObject *)self;
fail:
    free_jtypes(loaded, n);
    return NULL;
}

static void JsonWire_dealloc(PyObject *self) {
    JsonWire *w = (JsonWire *)self;
    PyTypeObject *type = Py_TYPE(self);
    free_jtypes(w->types, w->n_types);
    freefunc free_self = (freefunc)PyType_GetSlot(type, Py_tp_free);
    free_self(self);
    Py_DECREF(type);
}

static PyMethodDef JsonWire_methods[] = {
    {"convert", JsonWire_convert, METH_O,
     "convert(data) -> bytes | None: the protobuf wire bytes of a JSON document, or None "
     "when the exact path must decide."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot JsonWire_slots[] = {
    {Py_tp_dealloc, JsonWire_dealloc},
    {Py_tp_doc, "JsonWire(types, root): Mesos JSON to protobuf wire bytes for one root message type."},
    {Py_tp_methods, JsonWire_methods},
    {Py_tp_new, JsonWire_new},
    {0, NULL},
};

static PyType_Spec JsonWire_spec = {
    .name = "mesos_framework.protocol._wirecheck.JsonWire",
    .basicsize = sizeof(JsonWire),
    .flags = Py_TPFLAGS_DEFAULT,
    .slots = JsonWire_slots,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "mesos_framework.protocol._wirecheck",
    .m_doc = "Wire-level helpers: the required-field check on protobuf bytes (tables built by "
             "_required.py) and Mesos JSON to protobuf bytes (tables built by _fastjson.py).",
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
    type = PyType_FromSpec(&JsonWire_spec);
    if (type == NULL || PyModule_AddObjectRef(m, "JsonWire", type) < 0) {
        Py_XDECREF(type);
        Py_DECREF(m);
        return NULL;
    }
    Py_DECREF(type);
    return m;
}
