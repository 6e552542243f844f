/* fuzz_safetensors.c — libFuzzer target: any byte string as a safetensors file image.
 * Opening must either fail with a message or give entries whose every read stays inside
 * the image. */
#include <stdint.h>
#include <stdlib.h>

#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    st_file f;
    if (st_open_mem(&f, data, size, "fuzz") != 0) return 0;
    for (int i = 0; i < f.n; i++) {
        const st_entry *e = &f.entries[i];
        if (e->numel > (1u << 20)) continue; /* a valid but large tensor: reading it proves nothing more */
        real *r = malloc((e->numel ? e->numel : 1) * sizeof *r);
        int64_t *v = malloc((e->numel ? e->numel : 1) * sizeof *v);
        if (r && v) {
            st_read_real(&f, e, r, e->numel);
            st_read_i64(&f, e, v, e->numel);
        }
        free(r);
        free(v);
        if (st_find(&f, e->name) != e) abort(); /* lookup must find every listed entry */
    }
    st_meta(&f, "config");
    st_close(&f);
    return 0;
}
