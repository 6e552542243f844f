/* safetensors.h — reading and atomically writing safetensors files.
 *
 * Format: 8-byte little-endian header length N, N bytes of JSON header
 *   {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 *    "__metadata__": {"key": "value", ...}}
 * then the data block; offsets are relative to its start, data is little-endian.
 * Opening validates the whole header (every entry's dtype, shape, byte range); tensor data
 * is read on demand (pread from the file, or from a caller's buffer), so only the header
 * is held in memory. Nothing here reads outside the file or the buffer, on any input. */
#ifndef XLSTM_SAFETENSORS_H
#define XLSTM_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

#define ST_MAX_DIMS 8
#define ST_MAX_HEADER (100u << 20) /* header bytes: larger is refused as corrupt */

/* Dtypes as named in the header. Only F64/F32/F16/BF16 (to real) and I64/I32 (to int64)
 * can be read; the others may appear in a file. */
typedef enum {
    ST_F64, ST_F32, ST_F16, ST_BF16, ST_I64, ST_I32,
    ST_I16, ST_I8, ST_U8, ST_BOOL, ST_U16, ST_U32, ST_U64, ST_F8_E5M2, ST_F8_E4M3,
    ST_NUM_DTYPES
} st_dtype;

typedef struct {
    char *name;
    st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    size_t numel;
    size_t begin, end;        /* byte range in the data block */
} st_entry;

typedef struct {
    char *label;              /* file path (or the caller's label), for messages */
    int fd;                   /* -1 when reading from memory */
    const unsigned char *mem; /* the whole file image when reading from memory */
    size_t data_start;        /* 8 + header length */
    size_t data_size;         /* bytes in the data block */
    int n;                    /* tensors, sorted by name */
    st_entry *entries;
    int nmeta;                /* __metadata__ pairs, sorted by key */
    char **meta_keys, **meta_values;
} st_file;

/* Open and validate; on failure the message names the file and the entry or field. */
int st_open(st_file *f, const char *path);
/* The same on a file image in memory; buf must outlive f. `label` names it in messages. */
int st_open_mem(st_file *f, const void *buf, size_t size, const char *label);
void st_close(st_file *f);

const st_entry *st_find(const st_file *f, const char *name);
/* __metadata__[key], or NULL. */
const char *st_meta(const st_file *f, const char *key);
const char *st_dtype_name(st_dtype dt);
size_t st_dtype_size(st_dtype dt);

/* Tensor data converted to real (from F64/F32/F16/BF16; F16 and BF16 decoded exactly) or to
 * int64 (from I64/I32); count must equal the tensor's element count. */
int st_read_real(const st_file *f, const st_entry *e, real *dst, size_t count);
int st_read_i64(const st_file *f, const st_entry *e, int64_t *dst, size_t count);

/* One tensor to write: float dtypes (F64, F32, F16, BF16; rounded to nearest even) take
 * `const real *data`, integer dtypes (I64, I32) `const int64_t *data` (I32 values must fit). */
typedef struct {
    const char *name;
    st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    const void *data;
} st_out_tensor;

/* Write atomically: path.tmp.<pid> in the same directory, fsync, rename over path, fsync the
 * directory; on failure the temporary file is removed. meta_kv: NULL or a NULL-terminated
 * key, value, key, value ... list for __metadata__. */
int st_write(const char *path, const st_out_tensor *tensors, int n, const char *const *meta_kv);

#endif
