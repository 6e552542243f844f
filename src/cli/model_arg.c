/* model_arg.c — opening the model given on the command line, and checked flag values. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "cli.h"
#include "data.h"
#include "model_arg.h"

/* A checkpoint with a config from a separate JSON file (an official state_dict). */
static xlstm_model *load_with_config(const char *path, const char *config_json)
{
    uint8_t *json;
    size_t len;
    if (text_load(config_json, &json, &len) != 0) die("%s", xlstm_errmsg());
    xlstm_model *m;
    if (xlstm_model_load_with_config(&m, path, (const char *)json, len) != 0)
        die("%s (with the config of %s)", xlstm_errmsg(), config_json);
    free(json);
    return m;
}

xlstm_model *open_model(const char *path, const char *config_json)
{
    struct stat st;
    if (stat(path, &st) != 0) die("%s: %s (expected a run directory or a .safetensors checkpoint)", path, strerror(errno));
    char file[PATH_MAX];
    if (S_ISDIR(st.st_mode)) {
        int w = snprintf(file, sizeof file, "%s/model.safetensors", path);
        if (w < 0 || (size_t)w >= sizeof file) die("%s: path too long", path);
        if (stat(file, &st) != 0 || !S_ISREG(st.st_mode))
            die("%s: not a run directory (no model.safetensors inside)", path);
    } else if (S_ISREG(st.st_mode)) {
        snprintf(file, sizeof file, "%s", path);
    } else {
        die("%s: neither a run directory nor a checkpoint file", path);
    }
    if (config_json) return load_with_config(file, config_json);
    xlstm_model *m;
    if (xlstm_model_load(&m, file) != 0) die("%s", xlstm_errmsg());
    return m;
}

const char *flag_value(const char *verb, int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) die("%s: %s needs a value", verb, argv[*i]);
    return argv[++*i];
}

long flag_long(const char *verb, const char *flag, const char *value, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (end == value || *end || errno == ERANGE) die("%s: %s '%s' is not a whole number", verb, flag, value);
    if (v < min || v > max) die("%s: %s %ld is out of range [%ld, %ld]", verb, flag, v, min, max);
    return v;
}

uint64_t flag_u64(const char *verb, const char *flag, const char *value)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(value, &end, 10);
    /* strtoull would take "-1" as 2^64 - 1 */
    if (strchr(value, '-') || end == value || *end || errno == ERANGE)
        die("%s: %s '%s' is not a whole number in [0, 2^64)", verb, flag, value);
    return (uint64_t)v;
}

double flag_double(const char *verb, const char *flag, const char *value)
{
    char *end;
    errno = 0;
    double v = strtod(value, &end);
    if (end == value || *end || !isfinite(v)) die("%s: %s '%s' is not a finite number", verb, flag, value);
    return v;
}

void flag_threads(const char *verb, const char *value)
{
    long n = flag_long(verb, "--threads", value, 1, 1024);
#ifdef _OPENMP
    omp_set_num_threads((int)n);
#else
    if (n > 1) die("%s: --threads %ld: this build has no OpenMP", verb, n);
#endif
}
