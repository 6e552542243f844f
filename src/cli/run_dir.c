/* run_dir.c — saving and loading the checkpoint of a training run (see run_dir.h). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "cli/run_dir.h"
#include "io/atomic.h"
#include "io/json.h"
#include "io/safetensors.h"

#define FORMAT "xlstm.c train state 1"

static int join(char *out, const char *dir, const char *name)
{
    int w = snprintf(out, PATH_MAX, "%s/%s", dir, name);
    return w > 0 && w < PATH_MAX ? 0 : xlstm_fail("%s/%s: path too long", dir, name);
}

int run_has_checkpoint(const char *dir)
{
    char path[PATH_MAX];
    return join(path, dir, "optimizer.safetensors") == 0 && access(path, F_OK) == 0;
}

static int all_finite(const real *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

int run_save(const char *dir, const xlstm_model *m, const adamw *o, const run_position *pos)
{
    char model[PATH_MAX], prev[PATH_MAX], opt[PATH_MAX], step[32];
    if (join(model, dir, "model.safetensors") || join(prev, dir, "model.prev.safetensors") ||
        join(opt, dir, "optimizer.safetensors"))
        return -1;
    size_t n = o->n;
    xlstm_model *mm = (xlstm_model *)m; /* the parameter accessor is not const */
    if (!all_finite(xlstm_model_params(mm), n) || !all_finite(o->m, n) || !all_finite(o->v, n))
        return xlstm_fail("%s: step %lld: non-finite parameters or moments; checkpoint not written", dir,
                          (long long)pos->step);
    snprintf(step, sizeof step, "%lld", (long long)pos->step);

    /* keep the current model reachable until the new optimizer state is in place */
    if (unlink(prev) != 0 && errno != ENOENT) return xlstm_fail("cannot remove %s: %s", prev, strerror(errno));
    if (link(model, prev) != 0 && errno != ENOENT) return xlstm_fail("cannot link %s: %s", prev, strerror(errno));
    const char *model_meta[] = {"step", step, NULL};
    if (xlstm_model_save(m, model, model_meta) != 0) {
        unlink(prev); /* model.safetensors is still the current one */
        return -1;
    }

    int64_t t = o->t, s = pos->step, rng[4];
    memcpy(rng, pos->rng.s, sizeof rng); /* uint64 bits kept exactly in I64 */
    st_out_tensor tensors[] = {
        {"adamw.exp_avg", ST_F32, 1, {(int64_t)n}, o->m},
        {"adamw.exp_avg_sq", ST_F32, 1, {(int64_t)n}, o->v},
        {"adamw.t", ST_I64, 1, {1}, &t},
        {"train.rng", ST_I64, 1, {4}, rng},
        {"train.step", ST_I64, 1, {1}, &s},
    };
    const char *meta[] = {"format", FORMAT, "step", step, "train_args", pos->args_json, NULL};
    if (st_write(opt, tensors, (int)(sizeof tensors / sizeof tensors[0]), meta) != 0) return -1;
    if (unlink(prev) != 0 && errno != ENOENT) return xlstm_fail("cannot remove %s: %s", prev, strerror(errno));
    return 0;
}

static int read_i64(const st_file *f, const char *name, int64_t *dst, size_t count)
{
    const st_entry *e = st_find(f, name);
    if (e == NULL) return xlstm_fail("%s: tensor '%s' is missing", f->label, name);
    return st_read_i64(f, e, dst, count);
}

static int read_real(const st_file *f, const char *name, real *dst, size_t count)
{
    const st_entry *e = st_find(f, name);
    if (e == NULL) return xlstm_fail("%s: tensor '%s' is missing", f->label, name);
    if (e->numel != count)
        return xlstm_fail("%s: tensor '%s' has %zu elements but the model has %zu parameters", f->label, name, e->numel,
                          count);
    if (st_read_real(f, e, dst, count) != 0) return -1;
    return all_finite(dst, count) ? 0 : xlstm_fail("%s: tensor '%s' holds non-finite values", f->label, name);
}

/* The "step" recorded in the metadata of model file `path` into *step: 0, or -1 with a
 * message (the file is missing, is not a safetensors file, or has no step). */
static int model_step(const char *path, int64_t *step)
{
    st_file f;
    *step = -1;
    if (st_open(&f, path) != 0) return -1;
    const char *s = st_meta(&f, "step");
    char *end = NULL;
    long long v = s ? strtoll(s, &end, 10) : -1;
    const int bad = v < 0 || end == s || *end;
    st_close(&f); /* (s points into it) */
    if (bad) return xlstm_fail("%s: no \"step\" in its metadata", path);
    *step = v;
    return 0;
}

/* Is process pid running? Our own pid is a predecessor's: this process writes nothing
 * before run_clean. */
static int process_alive(long pid)
{
    if (pid == (long)getpid() || pid > INT_MAX) return 0;
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* The files of a run directory that are written atomically (run_save, cli/metrics.c). */
static const char *const written[] = {"model.safetensors", "optimizer.safetensors", "metrics.csv", "loss.svg"};

/* Remove the temporary files of `written` in dir whose writer is gone. */
static int remove_dead_temporaries(const char *dir, DIR *d)
{
    const struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        long pid;
        int ours = 0;
        for (size_t i = 0; i < sizeof written / sizeof written[0] && !ours; i++)
            ours = atomic_temp_of(e->d_name, written[i], &pid);
        if (!ours || process_alive(pid)) continue;
        char path[PATH_MAX];
        if (join(path, dir, e->d_name) != 0) return -1;
        if (unlink(path) != 0 && errno != ENOENT) return xlstm_fail("cannot remove %s: %s", path, strerror(errno));
    }
    return 0;
}

int run_clean(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL) return errno == ENOENT || errno == ENOTDIR ? 0 : xlstm_fail("cannot list %s: %s", dir, strerror(errno));
    int rc = remove_dead_temporaries(dir, d);
    closedir(d);
    char model[PATH_MAX], opt[PATH_MAX], csv[PATH_MAX];
    if (rc != 0 || join(model, dir, "model.safetensors") || join(opt, dir, "optimizer.safetensors") ||
        join(csv, dir, "metrics.csv"))
        return -1;
    /* a first checkpoint killed between its two files */
    int64_t step;
    if (access(opt, F_OK) != 0 && errno == ENOENT && access(csv, F_OK) == 0 && model_step(model, &step) == 0 &&
        unlink(model) != 0)
        return xlstm_fail("cannot remove %s: %s", model, strerror(errno));
    return 0;
}

/* Read the optimizer state file into o (allocated for `n` parameters once known) and pos. */
static int load_optimizer(const char *path, adamw *o, run_position *pos, int64_t *t)
{
    st_file f;
    if (st_open(&f, path) != 0) return -1;
    const char *format = st_meta(&f, "format"), *args = st_meta(&f, "train_args");
    int64_t rng[4];
    int rc = 0;
    if (format == NULL || strcmp(format, FORMAT) != 0 || args == NULL)
        rc = xlstm_fail("%s: not a training state of this program (metadata \"format\" or \"train_args\" missing)",
                        path);
    if (rc == 0 && (read_i64(&f, "train.step", &pos->step, 1) || read_i64(&f, "adamw.t", t, 1) ||
                    read_i64(&f, "train.rng", rng, 4)))
        rc = -1;
    if (rc == 0 && (pos->step < 0 || *t < 0 || *t > pos->step))
        rc = xlstm_fail("%s: bad step counters (step %lld, AdamW updates %lld)", path, (long long)pos->step,
                        (long long)*t);
    if (rc == 0) {
        memcpy(pos->rng.s, rng, sizeof rng);
        const st_entry *e = st_find(&f, "adamw.exp_avg");
        if (e == NULL) rc = xlstm_fail("%s: tensor 'adamw.exp_avg' is missing", path);
        else if (adamw_init(o, e->numel) != 0) rc = -1;
        else if (read_real(&f, "adamw.exp_avg", o->m, o->n) || read_real(&f, "adamw.exp_avg_sq", o->v, o->n)) rc = -1;
        else if (!(pos->args_json = strdup(args))) rc = xlstm_fail("%s: out of memory", path);
    }
    st_close(&f);
    return rc;
}

int run_train_data(const char *dir, char **data)
{
    char path[PATH_MAX];
    st_file f;
    *data = NULL;
    if (join(path, dir, "optimizer.safetensors") != 0 || access(path, F_OK) != 0 || st_open(&f, path) != 0) return 0;
    const char *args = st_meta(&f, "train_args");
    json_value doc = {0};
    const json_value *v = args && json_parse(&doc, args, strlen(args)) == 0 ? json_get(&doc, "data") : NULL;
    int known = v && (v->type == JSON_NULL || json_is_cstring(v));
    if (known && v->type != JSON_NULL && !(*data = strdup(v->str))) known = 0;
    json_free(&doc);
    st_close(&f);
    return known;
}

int run_load(const char *dir, xlstm_model **m, adamw *o, run_position *pos)
{
    char model[PATH_MAX], prev[PATH_MAX], opt[PATH_MAX];
    *m = NULL;
    memset(o, 0, sizeof *o);
    pos->args_json = NULL;
    int64_t t;
    if (join(model, dir, "model.safetensors") || join(prev, dir, "model.prev.safetensors") ||
        join(opt, dir, "optimizer.safetensors") || load_optimizer(opt, o, pos, &t) != 0)
        goto fail;
    o->t = t;
    /* a crash between the two renames of a save leaves the matching model as model.prev;
     * one after them leaves an older model there, which is of no use */
    int64_t at, prev_at;
    char unreadable[1024]; /* why model.safetensors cannot be read, before model.prev is tried */
    snprintf(unreadable, sizeof unreadable, "%s", model_step(model, &at) != 0 ? xlstm_errmsg() : "");
    if (at == pos->step) {
        if (unlink(prev) != 0 && errno != ENOENT) {
            xlstm_fail("cannot remove %s: %s", prev, strerror(errno));
            goto fail;
        }
    } else if (model_step(prev, &prev_at) != 0 || prev_at != pos->step) {
        if (access(model, F_OK) != 0)
            xlstm_fail("%s: model.safetensors is missing (the optimizer state is at step %lld)", dir, (long long)pos->step);
        else if (*unreadable)
            xlstm_fail("%s is damaged: %s", model, unreadable);
        else
            xlstm_fail("%s: no model file at the optimizer state's step %lld (model.safetensors is at %lld)", dir,
                       (long long)pos->step, (long long)at);
        goto fail;
    } else if (rename(prev, model) != 0) {
        xlstm_fail("cannot rename %s to %s: %s", prev, model, strerror(errno));
        goto fail;
    }
    if (xlstm_model_load(m, model) != 0) goto fail;
    if (xlstm_model_num_params(*m) != o->n) {
        xlstm_fail("%s: the optimizer state has %zu elements but the model %zu parameters", dir, o->n,
                   xlstm_model_num_params(*m));
        goto fail;
    }
    return 0;
fail:
    xlstm_model_free(*m);
    *m = NULL;
    adamw_free(o);
    free(pos->args_json);
    pos->args_json = NULL;
    return -1;
}
