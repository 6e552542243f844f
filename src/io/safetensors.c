/* safetensors.c — validated reader (header in memory, data on demand) and atomic writer. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/atomic.h"
#include "io/json.h"
#include "io/safetensors.h"

static const struct {
    const char *name;
    size_t size;
} dtypes[ST_NUM_DTYPES] = {
    [ST_F64] = {"F64", 8},   [ST_F32] = {"F32", 4},         [ST_F16] = {"F16", 2},
    [ST_BF16] = {"BF16", 2}, [ST_I64] = {"I64", 8},         [ST_I32] = {"I32", 4},
    [ST_I16] = {"I16", 2},   [ST_I8] = {"I8", 1},           [ST_U8] = {"U8", 1},
    [ST_BOOL] = {"BOOL", 1}, [ST_U16] = {"U16", 2},         [ST_U32] = {"U32", 4},
    [ST_U64] = {"U64", 8},   [ST_F8_E5M2] = {"F8_E5M2", 1}, [ST_F8_E4M3] = {"F8_E4M3", 1},
};

const char *st_dtype_name(st_dtype dt) { return (unsigned)dt < ST_NUM_DTYPES ? dtypes[dt].name : "?"; }
size_t st_dtype_size(st_dtype dt) { return (unsigned)dt < ST_NUM_DTYPES ? dtypes[dt].size : 0; }

static char *copy_string(const char *s)
{
    size_t n = strlen(s);
    char *c = xlstm_alloc(n + 1, 1, "safetensors string");
    if (c != NULL) memcpy(c, s, n + 1);
    return c;
}

static uint64_t load_le(const unsigned char *p, int nbytes)
{
    uint64_t v = 0;
    for (int i = nbytes - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static void store_le(unsigned char *p, uint64_t v, int nbytes)
{
    for (int i = 0; i < nbytes; i++, v >>= 8) p[i] = (unsigned char)v;
}

/* ---------------------------------------------------------------- reading */

/* n bytes at absolute file offset `off`; a short read means the file shrank while open. */
static int read_at(const st_file *f, size_t off, void *buf, size_t n)
{
    if (f->fd < 0) {
        memcpy(buf, f->mem + off, n); /* callers keep off + n within the validated image */
        return 0;
    }
    unsigned char *dst = buf;
    while (n > 0) {
        ssize_t got = pread(f->fd, dst, n, (off_t)off);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return xlstm_fail("safetensors: %s: read failed: %s", f->label, strerror(errno));
        if (got == 0) return xlstm_fail("safetensors: %s: unexpected end of file (truncated while open?)", f->label);
        dst += got;
        off += (size_t)got;
        n -= (size_t)got;
    }
    return 0;
}

/* An array of non-negative integers; returns its length or -1 (message names `what`). */
static int want_uint_list(const st_file *f, const char *name, const char *what, const json_value *v, int max_len,
                          uint64_t *out)
{
    if (v == NULL) return xlstm_fail("safetensors: %s: tensor '%.100s' has no %s", f->label, name, what);
    if (v->type != JSON_ARRAY)
        return xlstm_fail("safetensors: %s: tensor '%.100s': %s must be a list (got %s)", f->label, name, what,
                          json_type_name(v->type));
    if (v->len > (size_t)max_len)
        return xlstm_fail("safetensors: %s: tensor '%.100s': %s has %zu entries (at most %d)", f->label, name,
                          what, v->len, max_len);
    for (size_t i = 0; i < v->len; i++) {
        const json_value *e = &v->items[i];
        if (e->type != JSON_NUMBER || !e->is_integer || e->integer < 0)
            return xlstm_fail("safetensors: %s: tensor '%.100s': %s[%zu] is not a non-negative integer", f->label,
                              name, what, i);
        out[i] = (uint64_t)e->integer;
    }
    return (int)v->len;
}

static int parse_entry(const st_file *f, const json_member *m, st_entry *e)
{
    const char *name = m->key;
    const json_value *v = &m->value;
    if (strlen(name) != m->key_len)
        return xlstm_fail("safetensors: %s: a tensor name contains a NUL byte", f->label);
    if (v->type != JSON_OBJECT)
        return xlstm_fail("safetensors: %s: tensor '%.100s': entry must be an object (got %s)", f->label, name,
                          json_type_name(v->type));
    const json_value *dt = json_get(v, "dtype");
    if (dt == NULL || dt->type != JSON_STRING)
        return xlstm_fail("safetensors: %s: tensor '%.100s': dtype %s", f->label, name,
                          dt == NULL ? "is missing" : "must be a string");
    int found = -1;
    for (int i = 0; i < ST_NUM_DTYPES; i++)
        if (json_is_cstring(dt) && strcmp(dt->str, dtypes[i].name) == 0) found = i;
    if (found < 0)
        return xlstm_fail("safetensors: %s: tensor '%.100s': unknown dtype \"%.32s\"", f->label, name, dt->str);
    e->dtype = (st_dtype)found;

    uint64_t dims[ST_MAX_DIMS], offs[2];
    int ndim = want_uint_list(f, name, "shape", json_get(v, "shape"), ST_MAX_DIMS, dims);
    if (ndim < 0) return -1;
    int noff = want_uint_list(f, name, "data_offsets", json_get(v, "data_offsets"), 2, offs);
    if (noff < 0) return -1;
    if (noff != 2)
        return xlstm_fail("safetensors: %s: tensor '%.100s': data_offsets must be [begin, end]", f->label, name);

    size_t numel = 1, bytes;
    for (int i = 0; i < ndim; i++) {
        /* dims are < 2^63 (they came from int64) */
        if (xlstm_mul_size(numel, (size_t)dims[i], &numel) != 0)
            return xlstm_fail("safetensors: %s: tensor '%.100s': shape product overflows", f->label, name);
        e->shape[i] = (int64_t)dims[i];
    }
    if (xlstm_mul_size(numel, dtypes[e->dtype].size, &bytes) != 0)
        return xlstm_fail("safetensors: %s: tensor '%.100s': byte size overflows", f->label, name);
    if (offs[1] < offs[0])
        return xlstm_fail("safetensors: %s: tensor '%.100s': data_offsets end %llu < begin %llu", f->label, name,
                          (unsigned long long)offs[1], (unsigned long long)offs[0]);
    if (offs[1] > f->data_size)
        return xlstm_fail("safetensors: %s: tensor '%.100s': data_offsets end %llu is past the data block (%zu bytes)",
                          f->label, name, (unsigned long long)offs[1], f->data_size);
    if (offs[1] - offs[0] != bytes)
        return xlstm_fail("safetensors: %s: tensor '%.100s': %llu data bytes, but shape and dtype %s need %zu",
                          f->label, name, (unsigned long long)(offs[1] - offs[0]), dtypes[e->dtype].name, bytes);
    e->ndim = ndim;
    e->numel = numel;
    e->begin = (size_t)offs[0];
    e->end = (size_t)offs[1];
    e->name = copy_string(name);
    return e->name != NULL ? 0 : -1;
}

static int parse_metadata(st_file *f, const json_value *meta)
{
    if (meta->type == JSON_NULL) return 0;
    if (meta->type != JSON_OBJECT)
        return xlstm_fail("safetensors: %s: __metadata__ must be an object (got %s)", f->label,
                          json_type_name(meta->type));
    f->meta_keys = xlstm_alloc(meta->len + 1, sizeof(char *), "safetensors metadata");
    f->meta_values = xlstm_alloc(meta->len + 1, sizeof(char *), "safetensors metadata");
    if (f->meta_keys == NULL || f->meta_values == NULL) return -1;
    for (size_t i = 0; i < meta->len; i++) {
        const json_member *m = &meta->members[i];
        if (strlen(m->key) != m->key_len || !json_is_cstring(&m->value))
            return xlstm_fail("safetensors: %s: __metadata__ value of '%.100s' must be a string without NUL bytes",
                              f->label, m->key);
        f->meta_keys[i] = copy_string(m->key);
        f->meta_values[i] = copy_string(m->value.str);
        if (f->meta_keys[i] == NULL || f->meta_values[i] == NULL) return -1;
        f->nmeta++;
    }
    return 0;
}

/* Entries (sorted by name, as the JSON members are) and metadata from the parsed header. */
static int parse_header(st_file *f, const json_value *root)
{
    if (root->type != JSON_OBJECT)
        return xlstm_fail("safetensors: %s: header must be a JSON object (got %s)", f->label,
                          json_type_name(root->type));
    const json_value *meta = json_get(root, "__metadata__");
    if (meta != NULL && parse_metadata(f, meta) != 0) return -1;
    size_t n = root->len - (meta != NULL);
    if (n > (size_t)INT32_MAX) return xlstm_fail("safetensors: %s: too many tensors", f->label);
    f->entries = xlstm_alloc(n + 1, sizeof *f->entries, "safetensors entries");
    if (f->entries == NULL) return -1;
    for (size_t i = 0; i < root->len; i++) {
        if (&root->members[i].value == meta) continue;
        if (parse_entry(f, &root->members[i], &f->entries[f->n]) != 0) return -1;
        f->n++;
    }
    return 0;
}

/* Validate the file of `size` bytes whose bytes read_at can reach. */
static int load(st_file *f, size_t size)
{
    unsigned char len8[8];
    if (size < 8)
        return xlstm_fail("safetensors: %s: file is %zu bytes, too short for the 8-byte header length", f->label,
                          size);
    if (read_at(f, 0, len8, 8) != 0) return -1;
    uint64_t hlen = load_le(len8, 8);
    if (hlen > ST_MAX_HEADER)
        return xlstm_fail("safetensors: %s: header length %llu is absurd (limit %u bytes)", f->label,
                          (unsigned long long)hlen, ST_MAX_HEADER);
    if (hlen > size - 8)
        return xlstm_fail("safetensors: %s: header length %llu exceeds the %zu bytes after it", f->label,
                          (unsigned long long)hlen, size - 8);
    f->data_start = 8 + (size_t)hlen;
    f->data_size = size - f->data_start;

    char *text = xlstm_alloc((size_t)hlen + 1, 1, "safetensors header");
    if (text == NULL || read_at(f, 8, text, (size_t)hlen) != 0) {
        xlstm_free(text);
        return -1;
    }
    json_value root;
    int rc = json_parse(&root, text, (size_t)hlen);
    xlstm_free(text);
    if (rc != 0) {
        char why[256];
        snprintf(why, sizeof why, "%s", xlstm_errmsg());
        return xlstm_fail("safetensors: %s: header is not valid JSON: %s", f->label, why);
    }
    rc = parse_header(f, &root);
    json_free(&root);
    return rc;
}

static int open_common(st_file *f, const char *label)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    f->label = copy_string(label);
    return f->label != NULL ? 0 : -1;
}

int st_open(st_file *f, const char *path)
{
    struct stat sb;
    if (open_common(f, path) != 0) return -1;
    f->fd = open(path, O_RDONLY);
    if (f->fd < 0) {
        int err = errno;
        st_close(f);
        return xlstm_fail("safetensors: cannot open %s: %s", path, strerror(err));
    }
    if (fstat(f->fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st_close(f);
        return xlstm_fail("safetensors: %s is not a regular file", path);
    }
    if (load(f, (size_t)sb.st_size) != 0) {
        st_close(f);
        return -1;
    }
    return 0;
}

int st_open_mem(st_file *f, const void *buf, size_t size, const char *label)
{
    if (open_common(f, label) != 0) return -1;
    f->mem = buf;
    if (load(f, size) != 0) {
        st_close(f);
        return -1;
    }
    return 0;
}

void st_close(st_file *f)
{
    if (f->fd >= 0) close(f->fd);
    for (int i = 0; i < f->n; i++) xlstm_free(f->entries[i].name);
    for (int i = 0; i < f->nmeta; i++) {
        xlstm_free(f->meta_keys[i]);
        xlstm_free(f->meta_values[i]);
    }
    xlstm_free(f->entries);
    xlstm_free(f->meta_keys);
    xlstm_free(f->meta_values);
    xlstm_free(f->label);
    memset(f, 0, sizeof *f);
    f->fd = -1;
}

/* bsearch comparators: entries and metadata keys are sorted by strcmp (the JSON order). */
static int cmp_entry(const void *key, const void *entry)
{
    return strcmp(key, ((const st_entry *)entry)->name);
}

static int cmp_meta(const void *key, const void *meta_key)
{
    return strcmp(key, *(char *const *)meta_key);
}

const st_entry *st_find(const st_file *f, const char *name)
{
    if (f->n == 0) return NULL;
    return bsearch(name, f->entries, (size_t)f->n, sizeof *f->entries, cmp_entry);
}

const char *st_meta(const st_file *f, const char *key)
{
    if (f->nmeta == 0) return NULL;
    char *const *k = bsearch(key, f->meta_keys, (size_t)f->nmeta, sizeof *f->meta_keys, cmp_meta);
    return k == NULL ? NULL : f->meta_values[k - f->meta_keys];
}

/* IEEE half -> float, exact for every value (subnormals, infinities, NaN payloads). */
static float f16_to_float(uint32_t h)
{
    uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff, u;
    if (exp == 0) {
        float mag = ldexpf((float)mant, -24); /* zero or subnormal: mant * 2^-24 */
        memcpy(&u, &mag, 4);
    } else if (exp == 31) {
        u = 0x7f800000u | (mant << 13);
    } else {
        u = ((exp + 127 - 15) << 23) | (mant << 13);
    }
    u |= (h & 0x8000u) << 16;
    float x;
    memcpy(&x, &u, 4);
    return x;
}

static double bits_to_double(uint64_t u, st_dtype dt)
{
    float x;
    uint32_t u32;
    double d;
    switch (dt) {
    case ST_F64: memcpy(&d, &u, 8); return d;
    case ST_F32: u32 = (uint32_t)u; memcpy(&x, &u32, 4); return x;
    case ST_F16: return f16_to_float((uint32_t)u);
    default: u32 = (uint32_t)u << 16; memcpy(&x, &u32, 4); return x; /* BF16: the top half of a float */
    }
}

/* Elements converted per read or write (buffers of CHUNK * 8 bytes live on the stack). */
#define CHUNK 4096
static int check_read(const st_file *f, const st_entry *e, size_t count, int want_float)
{
    int is_float = e->dtype == ST_F64 || e->dtype == ST_F32 || e->dtype == ST_F16 || e->dtype == ST_BF16;
    int is_int = e->dtype == ST_I64 || e->dtype == ST_I32;
    if (want_float ? !is_float : !is_int)
        return xlstm_fail("safetensors: %s: tensor '%.100s' has dtype %s, expected %s", f->label, e->name,
                          dtypes[e->dtype].name, want_float ? "F64, F32, F16 or BF16" : "I64 or I32");
    if (count != e->numel)
        return xlstm_fail("safetensors: %s: tensor '%.100s' has %zu elements, expected %zu", f->label, e->name,
                          e->numel, count);
    return 0;
}

int st_read_real(const st_file *f, const st_entry *e, real *dst, size_t count)
{
    unsigned char buf[CHUNK * 8];
    int size = (int)dtypes[e->dtype].size;
    if (check_read(f, e, count, 1) != 0) return -1;
    for (size_t i = 0; i < count; i += CHUNK) {
        size_t k = count - i < CHUNK ? count - i : CHUNK;
        if (read_at(f, f->data_start + e->begin + i * (size_t)size, buf, k * (size_t)size) != 0) return -1;
        for (size_t j = 0; j < k; j++) dst[i + j] = (real)bits_to_double(load_le(buf + j * (size_t)size, size), e->dtype);
    }
    return 0;
}

int st_read_i64(const st_file *f, const st_entry *e, int64_t *dst, size_t count)
{
    unsigned char buf[CHUNK * 8];
    int size = (int)dtypes[e->dtype].size;
    if (check_read(f, e, count, 0) != 0) return -1;
    for (size_t i = 0; i < count; i += CHUNK) {
        size_t k = count - i < CHUNK ? count - i : CHUNK;
        if (read_at(f, f->data_start + e->begin + i * (size_t)size, buf, k * (size_t)size) != 0) return -1;
        for (size_t j = 0; j < k; j++) {
            uint64_t u = load_le(buf + j * (size_t)size, size);
            dst[i + j] = size == 8 ? (int64_t)u : (int64_t)(int32_t)(uint32_t)u;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- writing */

/* float -> IEEE half, round to nearest even; overflow to infinity, NaN kept NaN. */
static uint32_t float_to_f16(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    uint32_t sign = (u >> 16) & 0x8000u, exp = (u >> 23) & 0xff, mant = u & 0x7fffffu;
    if (exp == 255) return sign | 0x7c00u | (mant ? 0x200u : 0);
    int e = (int)exp - 127 + 15;
    if (e >= 31) return sign | 0x7c00u;
    if (e <= 0) { /* subnormal half (or zero): shift the full mantissa, rounding */
        if (e < -10) return sign;
        mant |= 0x800000u;
        int shift = 14 - e;
        uint32_t half = mant >> shift, rest = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rest > mid || (rest == mid && (half & 1))) half++;
        return sign | half;
    }
    uint32_t half = ((uint32_t)e << 10) | (mant >> 13), rest = mant & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (half & 1))) half++; /* may carry into the exponent: correct */
    return sign | half;
}

/* float -> bfloat16 (the top half of a float), round to nearest even; NaN kept NaN. */
static uint32_t float_to_bf16(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (u >> 16) | 0x40u;
    return (u + 0x7fffu + ((u >> 16) & 1)) >> 16;
}

/* Element j of a tensor to write, in its dtype's bits. */
static uint64_t encode(const st_out_tensor *t, size_t j)
{
    if (t->dtype == ST_I64 || t->dtype == ST_I32) return (uint64_t)((const int64_t *)t->data)[j];
    double d = (double)((const real *)t->data)[j];
    float x = (float)d;
    uint32_t u32;
    uint64_t u64;
    switch (t->dtype) {
    case ST_F64: memcpy(&u64, &d, 8); return u64;
    case ST_F16: return float_to_f16(x);
    case ST_BF16: return float_to_bf16(x);
    default: memcpy(&u32, &x, 4); return u32;
    }
}

/* Tensor data in the file's little-endian form, chunk by chunk. */
static int write_tensor(atomic_file *f, const st_out_tensor *t, size_t numel)
{
    unsigned char buf[CHUNK * 8];
    int size = (int)dtypes[t->dtype].size;
    for (size_t i = 0; i < numel; i += CHUNK) {
        size_t k = numel - i < CHUNK ? numel - i : CHUNK;
        for (size_t j = 0; j < k; j++) store_le(buf + (size_t)size * j, encode(t, i + j), size);
        if (atomic_write(f, buf, k * (size_t)size) != 0) return -1;
    }
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A name that occurs twice among names[0, n) (sorted in place), or NULL. */
static const char *find_duplicate(const char **names, int n)
{
    qsort(names, (size_t)n, sizeof *names, cmp_names);
    for (int i = 1; i < n; i++)
        if (strcmp(names[i - 1], names[i]) == 0) return names[i];
    return NULL;
}

/* Check one tensor to write and count its elements. */
static int check_out_tensor(const char *path, const st_out_tensor *t, int i, size_t *numel)
{
    size_t count = 1;
    if (t->name == NULL || strcmp(t->name, "__metadata__") == 0)
        return xlstm_fail("safetensors: %s: tensor %d has a bad name", path, i);
    int writable = t->dtype == ST_F64 || t->dtype == ST_F32 || t->dtype == ST_F16 || t->dtype == ST_BF16 ||
                   t->dtype == ST_I64 || t->dtype == ST_I32;
    if (!writable || t->ndim < 0 || t->ndim > ST_MAX_DIMS)
        return xlstm_fail("safetensors: %s: tensor '%.100s': can write only F64, F32, F16, BF16, I64 or I32 with "
                          "ndim <= %d", path, t->name, ST_MAX_DIMS);
    for (int d = 0; d < t->ndim; d++)
        if (t->shape[d] < 0 || xlstm_mul_size(count, (size_t)t->shape[d], &count) != 0 || count > SIZE_MAX / 8)
            return xlstm_fail("safetensors: %s: tensor '%.100s': bad shape", path, t->name);
    if (t->data == NULL && count > 0) return xlstm_fail("safetensors: %s: tensor '%.100s' has no data", path, t->name);
    for (size_t j = 0; t->dtype == ST_I32 && j < count; j++) {
        int64_t v = ((const int64_t *)t->data)[j];
        if (v < INT32_MIN || v > INT32_MAX)
            return xlstm_fail("safetensors: %s: tensor '%.100s': value %lld at %zu does not fit I32", path, t->name,
                              (long long)v, j);
    }
    *numel = count;
    return 0;
}

/* Check the tensors and metadata and build the padded header; numel[i] receives the
 * element counts. */
static int build_header(const char *path, const st_out_tensor *t, int n, const char *const *meta_kv, size_t *numel,
                        char **header, size_t *hlen)
{
    int nmeta = 0;
    while (meta_kv != NULL && meta_kv[2 * nmeta] != NULL) {
        if (meta_kv[2 * nmeta + 1] == NULL)
            return xlstm_fail("safetensors: %s: metadata key '%.100s' has no value", path, meta_kv[2 * nmeta]);
        nmeta++;
    }
    int most = n > nmeta ? n : nmeta;
    const char **names = xlstm_alloc((size_t)most + 1, sizeof(char *), "safetensors names");
    if (names == NULL) return -1;
    const char *dup = NULL;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        rc = check_out_tensor(path, &t[i], i, &numel[i]);
        names[i] = t[i].name;
    }
    if (rc == 0 && (dup = find_duplicate(names, n)) != NULL)
        rc = xlstm_fail("safetensors: %s: duplicate tensor name '%.100s'", path, dup);
    for (int i = 0; i < nmeta; i++) names[i] = meta_kv[2 * i];
    if (rc == 0 && (dup = find_duplicate(names, nmeta)) != NULL)
        rc = xlstm_fail("safetensors: %s: duplicate metadata key '%.100s'", path, dup);
    xlstm_free(names);
    if (rc != 0) return -1;

    json_writer w;
    jw_init(&w);
    jw_raw(&w, "{");
    if (nmeta > 0) {
        jw_raw(&w, "\"__metadata__\":{");
        for (int i = 0; i < nmeta; i++) {
            jw_raw(&w, i ? "," : "");
            jw_string(&w, meta_kv[2 * i]);
            jw_raw(&w, ":");
            jw_string(&w, meta_kv[2 * i + 1]);
        }
        jw_raw(&w, n ? "}," : "}");
    }
    size_t offset = 0;
    for (int i = 0; i < n; i++) {
        size_t end = offset + numel[i] * dtypes[t[i].dtype].size; /* numel <= SIZE_MAX / 8 */
        if (end < offset) {
            jw_free(&w);
            return xlstm_fail("safetensors: %s: total data size overflows", path);
        }
        jw_raw(&w, i ? "," : "");
        jw_string(&w, t[i].name);
        jw_printf(&w, ":{\"dtype\":\"%s\",\"shape\":[", dtypes[t[i].dtype].name);
        for (int d = 0; d < t[i].ndim; d++) jw_printf(&w, "%s%lld", d ? "," : "", (long long)t[i].shape[d]);
        jw_printf(&w, "],\"data_offsets\":[%zu,%zu]}", offset, end);
        offset = end;
    }
    jw_raw(&w, "}");
    /* pad with spaces so that the data block starts 8-byte aligned, as the official writer does */
    while (!w.failed && w.len % 8 != 0) jw_raw(&w, " ");
    return jw_finish(&w, header, hlen);
}

int st_write(const char *path, const st_out_tensor *tensors, int n, const char *const *meta_kv)
{
    if (n < 0 || (n > 0 && tensors == NULL)) return xlstm_fail("safetensors: %s: bad tensor list", path);
    size_t *numel = xlstm_alloc((size_t)n + 1, sizeof(size_t), "safetensors sizes");
    char *header = NULL;
    size_t hlen = 0;
    int rc = -1;
    atomic_file f;
    if (numel != NULL && build_header(path, tensors, n, meta_kv, numel, &header, &hlen) == 0 &&
        atomic_open(&f, path) == 0) {
        unsigned char len8[8];
        store_le(len8, hlen, 8);
        /* a failed write is remembered by f and reported by atomic_commit */
        if (atomic_write(&f, len8, 8) == 0 && atomic_write(&f, header, hlen) == 0)
            for (int i = 0; i < n && write_tensor(&f, &tensors[i], numel[i]) == 0; i++) continue;
        rc = atomic_commit(&f);
    }
    xlstm_free(numel);
    xlstm_free(header);
    return rc;
}
