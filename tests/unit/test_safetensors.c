/* test_safetensors.c — reading the reference files, write/read round trips, dtype decoding,
 * and refusal (never a crash) of corrupt files. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "io/safetensors.h"
#include "test.h"

#define REF "tests/data/ref/"

/* A file image: 8-byte little-endian header length, header, data. Caller frees. */
static unsigned char *image(const char *header, const void *data, size_t data_len, size_t *size)
{
    size_t h = strlen(header);
    *size = 8 + h + data_len;
    unsigned char *buf = malloc(*size);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(buf + 8, header, h);
    if (data_len) memcpy(buf + 8 + h, data, data_len);
    return buf;
}

static unsigned char *read_file(const char *path, size_t *size)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) return NULL;
    fseek(fp, 0, SEEK_END);
    *size = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *buf = malloc(*size ? *size : 1);
    if (fread(buf, 1, *size, fp) != *size) {
        free(buf);
        buf = NULL;
    }
    fclose(fp);
    return buf;
}

static void check_ref_lm(const st_file *f)
{
    CHECK(f->n == 125, "125 tensors, got %d", f->n);
    CHECK(st_meta(f, "kind") && strcmp(st_meta(f, "kind"), "lm") == 0, "kind lm");
    CHECK(st_meta(f, "nope") == NULL && st_find(f, "nope") == NULL, "absent names");
    const char *cfg_json = st_meta(f, "config");
    xlstm_config cfg;
    CHECK(cfg_json && xlstm_config_parse(&cfg, cfg_json, strlen(cfg_json)) == 0, "config: %s", xlstm_errmsg());
    CHECK(cfg.num_blocks == 4 && cfg.is_slstm[1] && cfg.slstm.backend == XLSTM_BACKEND_VANILLA, "config values");

    const st_entry *e = st_find(f, "output.logits");
    CHECK(e && e->dtype == ST_F32 && e->ndim == 3 && e->shape[0] == 2 && e->shape[1] == 32 && e->shape[2] == 64 &&
              e->numel == 4096,
          "output.logits [2, 32, 64]");
    real logits[4096];
    CHECK(e && st_read_real(f, e, logits, 4096) == 0, "%s", xlstm_errmsg());
    CHECK(logits[0] == (real)0.8375394940376282f && logits[1] == (real)0.8021194338798523f &&
              logits[2] == (real)-1.182832956314087f,
          "logits[0..2] = %g %g %g", (double)logits[0], (double)logits[1], (double)logits[2]);

    real loss;
    e = st_find(f, "output.loss");
    CHECK(e && e->ndim == 1 && e->shape[0] == 1 && st_read_real(f, e, &loss, 1) == 0 && loss == (real)4.387517929077148f,
          "loss");
    e = st_find(f, "param.token_embedding.weight");
    real emb[64 * 64];
    CHECK(e && e->shape[0] == 64 && e->shape[1] == 64 && st_read_real(f, e, emb, 4096) == 0 &&
              emb[0] == (real)-0.060924187302589417f && emb[1] == (real)0.2012518346309662f,
          "token embedding");
    e = st_find(f, "param.xlstm_block_stack.blocks.1.xlstm.slstm_cell._recurrent_kernel_");
    CHECK(e && e->ndim == 3 && e->shape[0] == 4 && e->shape[1] == 64 && e->shape[2] == 16, "recurrent kernel");

    int64_t ids[64];
    e = st_find(f, "input.ids");
    CHECK(e && e->dtype == ST_I64 && e->numel == 64 && st_read_i64(f, e, ids, 64) == 0, "ids: %s", xlstm_errmsg());
    CHECK(ids[0] == 20 && ids[1] == 53 && ids[2] == 46 && ids[3] == 49 && ids[4] == 50 && ids[5] == 39, "ids values");

    /* type and count mismatches are refused */
    CHECK(st_read_real(f, e, logits, 64) != 0 && strstr(xlstm_errmsg(), "'input.ids' has dtype I64"), "%s",
          xlstm_errmsg());
    e = st_find(f, "output.logits");
    CHECK(st_read_i64(f, e, ids, 4096) != 0 && strstr(xlstm_errmsg(), "expected I64 or I32"), "%s", xlstm_errmsg());
    CHECK(st_read_real(f, e, logits, 4095) != 0 && strstr(xlstm_errmsg(), "4096 elements, expected 4095"), "%s",
          xlstm_errmsg());
}

static void test_read_ref(void)
{
    st_file f;
    CHECK(st_open(&f, REF "lm_mixed_small.safetensors") == 0, "%s", xlstm_errmsg());
    check_ref_lm(&f);
    st_close(&f);

    size_t size;
    unsigned char *buf = read_file(REF "lm_mixed_small.safetensors", &size);
    CHECK(buf != NULL, "read the file");
    if (buf) {
        CHECK(st_open_mem(&f, buf, size, "lm (memory)") == 0, "%s", xlstm_errmsg());
        check_ref_lm(&f);
        st_close(&f);
        free(buf);
    }

    static const struct {
        const char *path, *kind;
        int n;
    } others[] = {{REF "slstm_layer.safetensors", "slstm_layer", 24},
                  {REF "mlstm_layer.safetensors", "mlstm_layer", 32},
                  {REF "lm_mixed_small.state_dict.safetensors", NULL, 58},
                  {REF "lm_mixed_small.cuda_layout.state_dict.safetensors", NULL, 58}};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        CHECK(st_open(&f, others[i].path) == 0, "%s", xlstm_errmsg());
        CHECK(f.n == others[i].n, "%s: %d tensors", others[i].path, f.n);
        const char *kind = st_meta(&f, "kind");
        CHECK(others[i].kind ? kind && strcmp(kind, others[i].kind) == 0 : kind == NULL, "%s: kind", others[i].path);
        CHECK(st_meta(&f, "config") != NULL, "%s: config", others[i].path);
        st_close(&f);
    }
    CHECK(st_open(&f, REF "no_such_file.safetensors") != 0 &&
              strstr(xlstm_errmsg(), "no_such_file.safetensors: No such file or directory"),
          "%s", xlstm_errmsg());
    CHECK(st_open(&f, REF) != 0 && strstr(xlstm_errmsg(), "not a regular file"), "%s", xlstm_errmsg());
}

static char tmpdir[64];

static int count_dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (d == NULL) return -1;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static void test_write_round_trip(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/rt.safetensors", tmpdir);
    real a[6] = {1.5f, -2.25f, 0.0f, 3.0e-39f, -1e30f, (real)0.1f};
    int64_t b[4] = {INT64_MIN, -1, 0, INT64_MAX};
    real scalar = 42.0f;
    st_out_tensor t[4] = {
        {"weights.a", ST_F32, 2, {2, 3}, a},
        {"ids", ST_I64, 1, {4}, b},
        {"scalar", ST_F32, 0, {0}, &scalar},
        {"empty", ST_F32, 2, {0, 5}, NULL},
    };
    const char *meta[] = {"config", "{\"a\": \"q\\\"\"}\n\xc3\xa9", "kind", "test", NULL};
    for (int pass = 0; pass < 2; pass++) { /* the second write replaces the first */
        CHECK(st_write(path, t, 4, meta) == 0, "write: %s", xlstm_errmsg());
        CHECK(count_dir_entries(tmpdir) == 1, "only the file is left, no temporary");
    }
    size_t size;
    unsigned char *raw = read_file(path, &size);
    uint64_t hlen = 0;
    for (int i = 7; raw && i >= 0; i--) hlen = (hlen << 8) | raw[i];
    CHECK(raw && hlen % 8 == 0 && size == 8 + hlen + 24 + 32 + 4, "layout: header %llu, size %zu",
          (unsigned long long)hlen, size);
    CHECK(raw && raw[8] == '{' && (raw[8 + hlen - 1] == '}' || raw[8 + hlen - 1] == ' '), "header padded");
    free(raw);

    st_file f;
    CHECK(st_open(&f, path) == 0, "%s", xlstm_errmsg());
    CHECK(f.n == 4, "4 tensors");
    real a2[6];
    int64_t b2[4];
    const st_entry *e = st_find(&f, "weights.a");
    CHECK(e && e->ndim == 2 && e->shape[0] == 2 && e->shape[1] == 3 && st_read_real(&f, e, a2, 6) == 0 &&
              memcmp(a, a2, sizeof a) == 0,
          "F32 exact");
    e = st_find(&f, "ids");
    CHECK(e && st_read_i64(&f, e, b2, 4) == 0 && memcmp(b, b2, sizeof b) == 0, "I64 exact");
    e = st_find(&f, "scalar");
    real s2 = 0;
    CHECK(e && e->ndim == 0 && e->numel == 1 && st_read_real(&f, e, &s2, 1) == 0 && s2 == 42.0f, "scalar");
    e = st_find(&f, "empty");
    CHECK(e && e->numel == 0 && e->begin == e->end && st_read_real(&f, e, NULL, 0) == 0, "empty");
    CHECK(st_meta(&f, "config") && strcmp(st_meta(&f, "config"), meta[1]) == 0, "metadata with escapes");
    CHECK(st_meta(&f, "kind") && strcmp(st_meta(&f, "kind"), "test") == 0, "metadata kind");
    st_close(&f);
    remove(path);

    /* no tensors, no metadata */
    CHECK(st_write(path, NULL, 0, NULL) == 0 && st_open(&f, path) == 0 && f.n == 0 && f.nmeta == 0, "empty file: %s",
          xlstm_errmsg());
    st_close(&f);
    remove(path);
}

/* Writing every writable dtype: F16 and BF16 round to nearest even (ties, overflow,
 * subnormals), F64 and I32 exact, and an I32 value out of range is refused. */
static void test_write_dtypes(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/dt.safetensors", tmpdir);
    /* ties: 1+2^-11 lies halfway between 1 and 1+2^-10 -> 1 (even); 1+3*2^-11 -> 1+2^-9 (even) */
    real h[8] = {1.0f, 1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f, 65504.0f, 70000.0f, 0x1p-24f, -0x1p-14f, -0.0f};
    real h_want[8] = {1.0f, 1.0f, 1.0f + 0x1p-9f, 65504.0f, INFINITY, 0x1p-24f, -0x1p-14f, -0.0f};
    real bf[4] = {1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, 0x1.fffffep127f, -2.5f};
    real bf_want[4] = {1.0f, 1.0f + 0x1p-6f, INFINITY, -2.5f};
    real d[2] = {(real)0.1, -3.0f};
    int64_t i32[3] = {INT32_MIN, 7, INT32_MAX};
    st_out_tensor t[4] = {
        {"h", ST_F16, 1, {8}, h}, {"bf", ST_BF16, 1, {4}, bf}, {"d", ST_F64, 1, {2}, d}, {"i", ST_I32, 1, {3}, i32}};
    CHECK(st_write(path, t, 4, NULL) == 0, "write: %s", xlstm_errmsg());
    st_file f;
    CHECK(st_open(&f, path) == 0, "%s", xlstm_errmsg());
    real h2[8], bf2[4], d2[2];
    int64_t i2[3];
    CHECK(st_read_real(&f, st_find(&f, "h"), h2, 8) == 0 && memcmp(h2, h_want, sizeof h2) == 0, "F16 rounding");
    for (int k = 0; k < 8; k++) CHECK(h2[k] == h_want[k] || (h2[k] != h2[k]), "F16 %d: %g vs %g", k, h2[k], h_want[k]);
    CHECK(st_read_real(&f, st_find(&f, "bf"), bf2, 4) == 0, "bf16 read");
    for (int k = 0; k < 4; k++) CHECK(bf2[k] == bf_want[k], "BF16 %d: %.9g vs %.9g", k, bf2[k], bf_want[k]);
    CHECK(st_read_real(&f, st_find(&f, "d"), d2, 2) == 0 && d2[0] == d[0] && d2[1] == d[1], "F64 exact");
    CHECK(st_read_i64(&f, st_find(&f, "i"), i2, 3) == 0 && memcmp(i2, i32, sizeof i2) == 0, "I32 exact");
    st_close(&f);
    int64_t big = (int64_t)INT32_MAX + 1;
    st_out_tensor bad = {"i", ST_I32, 1, {1}, &big};
    CHECK(st_write(path, &bad, 1, NULL) != 0 && strstr(xlstm_errmsg(), "does not fit I32"), "%s", xlstm_errmsg());
    remove(path);
}

static void test_write_errors(void)
{
    real x[2] = {1, 2};
    st_out_tensor t[2] = {{"x", ST_F32, 1, {2}, x}, {"x", ST_F32, 1, {2}, x}};
    char path[128];
    snprintf(path, sizeof path, "%s/err.safetensors", tmpdir);

    CHECK(st_write(path, t, 2, NULL) != 0 && strstr(xlstm_errmsg(), "duplicate tensor name 'x'"), "%s",
          xlstm_errmsg());
    const char *dup_meta[] = {"k", "1", "k", "2", NULL};
    CHECK(st_write(path, t, 1, dup_meta) != 0 && strstr(xlstm_errmsg(), "duplicate metadata key 'k'"), "%s",
          xlstm_errmsg());
    const char *odd_meta[] = {"k", NULL};
    CHECK(st_write(path, t, 1, odd_meta) != 0 && strstr(xlstm_errmsg(), "metadata key 'k' has no value"), "%s",
          xlstm_errmsg());
    st_out_tensor bad = {"y", ST_U8, 1, {2}, x};
    CHECK(st_write(path, &bad, 1, NULL) != 0 && strstr(xlstm_errmsg(), "can write only F64, F32, F16, BF16, I64 or I32"),
          "%s", xlstm_errmsg());
    bad = (st_out_tensor){"y", ST_F32, 1, {-2}, x};
    CHECK(st_write(path, &bad, 1, NULL) != 0 && strstr(xlstm_errmsg(), "'y': bad shape"), "%s", xlstm_errmsg());
    CHECK(count_dir_entries(tmpdir) == 0, "nothing written");

    CHECK(st_write("/nonexistent_dir_xlstm/a.safetensors", t, 1, NULL) != 0 &&
              strstr(xlstm_errmsg(), "cannot write /nonexistent_dir_xlstm/a.safetensors: No such file or directory"),
          "%s", xlstm_errmsg());
    /* rename over a directory fails after the data was written: the temporary must go */
    char dir[128];
    snprintf(dir, sizeof dir, "%s/adir", tmpdir);
    mkdir(dir, 0755);
    CHECK(st_write(dir, t, 1, NULL) != 0 && strstr(xlstm_errmsg(), "cannot write") && strstr(xlstm_errmsg(), dir),
          "%s", xlstm_errmsg());
    CHECK(count_dir_entries(tmpdir) == 1, "temporary removed after a failed rename");
    rmdir(dir);
}

/* IEEE half and bfloat16 patterns, decoded exactly (subnormals, infinities, NaN, -0). */
static void test_dtypes(void)
{
    static const uint16_t h[] = {0x0000, 0x8000, 0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff,
                                 0x0400, 0x3555, 0x7c00, 0xfc00, 0x7e00, 0x8001};
    const double hv[] = {0, -0.0, 1, -2, 65504, ldexp(1, -24), ldexp(1023, -24), ldexp(1, -14),
                         0.333251953125, INFINITY, -INFINITY, NAN, -ldexp(1, -24)};
    static const uint16_t bf[] = {0x3f80, 0xc0a0, 0x7f7f, 0x0001, 0x8000, 0x7f80, 0xff80, 0x7fc0};
    const double bv[] = {1, -5, ldexp(255, 120), ldexp(1, -133), -0.0, INFINITY, -INFINITY, NAN};
    unsigned char data[128];
    size_t n = 0;
    for (size_t i = 0; i < 13; i++, n += 2) data[n] = (unsigned char)h[i], data[n + 1] = (unsigned char)(h[i] >> 8);
    for (size_t i = 0; i < 8; i++, n += 2) data[n] = (unsigned char)bf[i], data[n + 1] = (unsigned char)(bf[i] >> 8);
    double d = 0.1;
    memcpy(data + n, &d, 8); /* the test host is little-endian (x86-64, aarch64) */
    n += 8;
    int32_t i32[2] = {-1, INT32_MAX};
    memcpy(data + n, i32, 8);
    n += 8;
    const char *header = "{\"h\":{\"dtype\":\"F16\",\"shape\":[13],\"data_offsets\":[0,26]},"
                         "\"b\":{\"dtype\":\"BF16\",\"shape\":[8],\"data_offsets\":[26,42]},"
                         "\"d\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[42,50]},"
                         "\"i\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[50,58]},"
                         "\"u\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}";
    size_t size;
    unsigned char *img = image(header, data, n, &size);
    st_file f;
    CHECK(st_open_mem(&f, img, size, "dtypes") == 0, "%s", xlstm_errmsg());
    real out[13];
    CHECK(st_read_real(&f, st_find(&f, "h"), out, 13) == 0, "%s", xlstm_errmsg());
    for (int i = 0; i < 13; i++) {
        int ok = isnan(hv[i]) ? isnan(out[i]) : out[i] == (real)hv[i] && !signbit(out[i]) == !signbit(hv[i]);
        CHECK(ok, "F16 0x%04x -> %.9g, want %.9g", h[i], (double)out[i], hv[i]);
    }
    CHECK(st_read_real(&f, st_find(&f, "b"), out, 8) == 0, "%s", xlstm_errmsg());
    for (int i = 0; i < 8; i++) {
        int ok = isnan(bv[i]) ? isnan(out[i]) : out[i] == (real)bv[i] && !signbit(out[i]) == !signbit(bv[i]);
        CHECK(ok, "BF16 0x%04x -> %.9g, want %.9g", bf[i], (double)out[i], bv[i]);
    }
    CHECK(st_read_real(&f, st_find(&f, "d"), out, 1) == 0 && out[0] == (real)0.1, "F64");
    int64_t iv[2];
    CHECK(st_read_i64(&f, st_find(&f, "i"), iv, 2) == 0 && iv[0] == -1 && iv[1] == INT32_MAX, "I32");
    CHECK(st_find(&f, "u")->dtype == ST_U8 && st_read_real(&f, st_find(&f, "u"), out, 2) != 0, "U8 listed, not read");
    st_close(&f);
    free(img);
}

/* Crafted headers: each must be refused with a message naming the problem. */
static void test_corrupt_headers(void)
{
    static const struct {
        const char *header, *message;
    } cases[] = {
        {"[]", "header must be a JSON object (got array)"},
        {"{", "header is not valid JSON: json: unexpected end of input at byte 1"},
        {"{\"a\":3}", "tensor 'a': entry must be an object"},
        {"{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", "tensor 'a': dtype is missing"},
        {"{\"a\":{\"dtype\":5,\"shape\":[1],\"data_offsets\":[0,4]}}", "tensor 'a': dtype must be a string"},
        {"{\"a\":{\"dtype\":\"F17\",\"shape\":[1],\"data_offsets\":[0,4]}}", "tensor 'a': unknown dtype \"F17\""},
        {"{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", "tensor 'a' has no shape"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", "tensor 'a' has no data_offsets"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":1,\"data_offsets\":[0,4]}}", "shape must be a list (got number)"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", "shape[0] is not a non-negative integer"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", "shape[0] is not a non-negative"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", "at most 8"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,4]}}",
         "shape product overflows"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,2],\"data_offsets\":[0,4]}}", "byte size overflows"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", "data_offsets end 0 < begin 4"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", "end 8 is past the data block (4 bytes)"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,99999999999999999999]}}",
         "data_offsets[1] is not a non-negative integer"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", "4 data bytes, but shape and dtype F32 need 8"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", "data_offsets must be [begin, end]"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", "data_offsets has 3 entries"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":\"x\"}}", "data_offsets must be a list"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
         "\"data_offsets\":[0,4]}}",
         "duplicate key \"a\""},
        {"{\"a\\u0000b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", "tensor name contains a NUL"},
        {"{\"__metadata__\":{\"k\":1}}", "__metadata__ value of 'k' must be a string"},
        {"{\"__metadata__\":{\"k\":\"a\\u0000\"}}", "__metadata__ value of 'k' must be a string"},
        {"{\"__metadata__\":[]}", "__metadata__ must be an object (got array)"},
    };
    float four[1] = {1.0f};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t size;
        unsigned char *img = image(cases[i].header, four, 4, &size);
        st_file f;
        CHECK(st_open_mem(&f, img, size, "crafted") != 0, "case %zu accepted", i);
        CHECK(strstr(xlstm_errmsg(), "safetensors: crafted") == xlstm_errmsg() &&
                  strstr(xlstm_errmsg(), cases[i].message),
              "case %zu: \"%s\" lacks \"%s\"", i, xlstm_errmsg(), cases[i].message);
        free(img);
    }
    /* accepted oddities: overlapping ranges, empty tensors, null metadata, padding */
    const char *fine = "{\"__metadata__\":null,\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                       "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                       "\"c\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[4,4]}}    ";
    size_t size;
    unsigned char *img = image(fine, four, 4, &size);
    st_file f;
    CHECK(st_open_mem(&f, img, size, "fine") == 0 && f.n == 3 && f.nmeta == 0, "%s", xlstm_errmsg());
    st_close(&f);
    free(img);
}

/* Bad lengths, every truncation, and random byte mutations of a valid file. */
static void test_corrupt_files(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/c.safetensors", tmpdir);
    real x[6] = {1, 2, 3, 4, 5, 6};
    int64_t ids[3] = {7, 8, 9};
    st_out_tensor t[2] = {{"x", ST_F32, 2, {3, 2}, x}, {"ids", ST_I64, 1, {3}, ids}};
    const char *meta[] = {"config", "{\"vocab_size\": 8}", NULL};
    CHECK(st_write(path, t, 2, meta) == 0, "%s", xlstm_errmsg());
    size_t size;
    unsigned char *good = read_file(path, &size);
    if (good == NULL) {
        CHECK(0, "cannot read back %s", path);
        return;
    }
    st_file f;
    unsigned char small[7] = {0};
    CHECK(st_open_mem(&f, small, 7, "short") != 0 && strstr(xlstm_errmsg(), "file is 7 bytes, too short"), "%s",
          xlstm_errmsg());
    unsigned char *bad = malloc(size);
    static const uint64_t lens[] = {UINT64_MAX, 1ull << 63, 200u << 20, 0};
    for (int i = 0; i < 4; i++) {
        memcpy(bad, good, size);
        uint64_t len = lens[i] ? lens[i] : size - 7; /* one byte more than there is */
        for (int k = 0; k < 8; k++) bad[k] = (unsigned char)(len >> (8 * k));
        CHECK(st_open_mem(&f, bad, size, "len") != 0 &&
                  (strstr(xlstm_errmsg(), "is absurd") || strstr(xlstm_errmsg(), "exceeds the")),
              "header length %llu: %s", (unsigned long long)len, xlstm_errmsg());
    }

    /* every proper prefix fails (exact-size copies, so ASan sees any overread) */
    int accepted = 0;
    for (size_t k = 0; k < size; k++) {
        unsigned char *cut = malloc(k ? k : 1);
        memcpy(cut, good, k);
        if (st_open_mem(&f, cut, k, "cut") == 0) {
            accepted++;
            st_close(&f);
        } else {
            CHECK(strncmp(xlstm_errmsg(), "safetensors: cut: ", 18) == 0, "message: %s", xlstm_errmsg());
        }
        free(cut);
    }
    CHECK(accepted == 0, "%d truncations accepted", accepted);
    /* a few truncated files on disk, through st_open */
    for (size_t k = 0; k < size; k += size / 5) {
        FILE *fp = fopen(path, "wb");
        fwrite(good, 1, k, fp);
        fclose(fp);
        CHECK(st_open(&f, path) != 0 && strstr(xlstm_errmsg(), path), "truncated file %zu: %s", k, xlstm_errmsg());
    }
    remove(path);

    /* random mutations: must either open (then every tensor reads) or fail cleanly */
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    int opened = 0;
    for (int trial = 0; trial < 3000; trial++) {
        memcpy(bad, good, size);
        int flips = 1 + trial % 4;
        for (int k = 0; k < flips; k++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            size_t pos = (size_t)(rng >> 33) % size;
            /* aim most mutations at the header, where the parsing happens */
            if (trial % 2 == 0) pos = (size_t)(rng >> 33) % (size < 200 ? size : 200);
            bad[pos] = (unsigned char)(rng >> 17);
        }
        if (st_open_mem(&f, bad, size, "mutant") != 0) {
            CHECK(strncmp(xlstm_errmsg(), "safetensors: mutant: ", 21) == 0, "message: %s", xlstm_errmsg());
            continue;
        }
        opened++;
        for (int i = 0; i < f.n; i++) {
            const st_entry *e = &f.entries[i];
            if (e->numel > 1024) continue;
            real r[1024];
            int64_t v[1024];
            if (st_read_real(&f, e, r, e->numel) != 0) st_read_i64(&f, e, v, e->numel);
        }
        st_close(&f);
    }
    CHECK(opened > 0, "some mutants (data bytes) still open");
    free(bad);
    free(good);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/xlstm_test_st_XXXXXX");
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_read_ref);
    RUN(test_write_round_trip);
    RUN(test_write_errors);
    RUN(test_write_dtypes);
    RUN(test_dtypes);
    RUN(test_corrupt_headers);
    RUN(test_corrupt_files);
    rmdir(tmpdir);
    TEST_EXIT();
}
