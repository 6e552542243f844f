/* bench.c — `xlstm bench`: speed of named configurations. For each: training tokens/s
 * (forward + backward + AdamW), forward tokens/s, generation tokens/s (batch 1, recurrent
 * step after a 64-token prompt), model FLOPs per token, achieved GFLOP/s and that rate as a
 * percentage of this machine's own sgemm rate (measured here with the same BLAS and
 * threads), and peak resident memory. Each configuration runs in a child process so that
 * its peak memory is its own. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "cli.h"
#include "optim.h"
#include "common.h"
#include "kernels/matmul.h"

typedef struct {
    const char *name, *about;
    int D, blocks, slstm_at, V, B, T; /* slstm_at < 0: no sLSTM block */
} bench_config;

static const bench_config CONFIGS[] = {
    {"micro", "D=32, 2 blocks, sLSTM at 1 (keeps CI exercising the bench)", 32, 2, 1, 256, 2, 32},
    {"small", "D=256, 4 blocks, sLSTM at 1, 4 heads", 256, 4, 1, 256, 8, 256},
    {"mlstm", "small without sLSTM blocks", 256, 4, -1, 256, 8, 256},
    {"medium", "D=512, 8 blocks, sLSTM at 3, 4 heads", 512, 8, 3, 256, 4, 512},
    {"long", "medium at length 4096", 512, 8, 3, 256, 1, 4096},
};
#define NCONFIGS (int)(sizeof CONFIGS / sizeof *CONFIGS)
#define GEN_PROMPT 64

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static void make_config(const bench_config *b, xlstm_config *c)
{
    xlstm_config_default(c);
    c->vocab_size = b->V;
    c->embedding_dim = b->D;
    c->num_blocks = b->blocks;
    c->context_length = b->T;
    c->has_mlstm_block = 1;
    c->has_slstm_block = b->slstm_at >= 0;
    if (b->slstm_at >= 0) c->is_slstm[b->slstm_at] = 1;
    if (xlstm_config_validate(c) != 0) die("bench: config %s: %s", b->name, xlstm_errmsg());
}

/* FLOPs of the forward per token: 2 m n k for every matrix product, and the mLSTM's
 * chunkwise products (q k^T and weights x V inside a chunk, q^T C and the state update
 * across chunks). The backward does twice the forward's products. */
static double forward_flops_per_token(const xlstm_config *c, int chunk, int T)
{
    double D = c->embedding_dim, E = c->mlstm.inner_dim, NH = c->mlstm.num_heads, DHm = E / NH;
    double bs = c->mlstm.qkv_proj_blocksize, F = c->ffn.up_dim, DHs = D / c->slstm.num_heads;
    double L = chunk < T ? chunk : T, f = 2 * D * c->vocab_size; /* head */
    for (int i = 0; i < c->num_blocks; i++) {
        if (c->is_slstm[i])
            f += 2 * D * DHs * 4 + 2 * DHs * 4 * DHs * c->slstm.num_heads /* gates, recurrence */
                 + (c->ffn.enabled ? 2 * D * 2 * F + 2 * F * D : 0);
        else
            f += 2 * D * 2 * E + 3 * 2 * E * bs + 2 * 2 * 3 * E * NH + 2 * E * D /* projections, gates */
                 + NH * (2 * L * DHm * 2 + 2 * DHm * DHm * 2);                  /* cell */
    }
    return f;
}

/* The machine's probes keep their best repetition over at least this long: on a shared
 * machine a few repetitions often all land in a busy moment (5 sgemm calls gave 92-178
 * GFLOP/s from run to run), and the best is the machine's rate. */
#define PROBE_SECONDS 1.5

static double bench_seconds = 3; /* each figure is timed for at least this long */

/* (shorter when the figures are: the test suite's quick runs) */
static double probe_seconds(void) { return bench_seconds < PROBE_SECONDS ? bench_seconds : PROBE_SECONDS; }

/* sgemm rate of this BLAS and thread count, GFLOP/s */
static double measure_sgemm(void)
{
    int M = 1024, N = 1024, K = 1024;
    real *a = xlstm_alloc((size_t)M * K, sizeof(real), "bench"), *b = xlstm_alloc((size_t)K * N, sizeof(real), "bench");
    real *c = xlstm_alloc((size_t)M * N, sizeof(real), "bench");
    if (!a || !b || !c) die("bench: %s", xlstm_errmsg());
    for (size_t i = 0; i < (size_t)M * K; i++) a[i] = b[i] = (real)((i % 7) * 0.1);
    gemm(0, 0, M, N, K, 1, a, K, b, N, 0, c, N);
    double best = 0, start = now();
    for (int rep = 0; rep < 5 || now() - start < probe_seconds(); rep++) {
        double t0 = now();
        gemm(0, 0, M, N, K, 1, a, K, b, N, 0, c, N);
        double r = 2.0 * M * N * K / (now() - t0) / 1e9;
        best = r > best ? r : best;
    }
    xlstm_free(a), xlstm_free(b), xlstm_free(c);
    return best;
}

/* read bandwidth, GB/s: summing a 256 MB array (16 independent sums per thread, so that
 * the loop vectorizes and is bound by memory, not by the latency of one add chain), in
 * the pages the weights get (xlstm_alloc's huge pages: 10% faster than 4 KB ones here) */
static double measure_bandwidth(void)
{
    size_t n = (size_t)64 << 20;
    float *x = xlstm_alloc(n, sizeof *x, "bench");
    if (!x) die("bench: %s", xlstm_errmsg());
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) x[i] = 1.0f;
    double best = 0, sink = 0, start = now();
    for (int rep = 0; rep < 4 || now() - start < probe_seconds(); rep++) {
        double t0 = now(), s = 0;
#pragma omp parallel reduction(+ : s)
        {
            float acc[16] = {0};
#pragma omp for schedule(static)
            for (size_t i = 0; i < n; i += 16)
                for (int j = 0; j < 16; j++) acc[j] += x[i + j];
            for (int j = 0; j < 16; j++) s += acc[j];
        }
        double r = n * sizeof *x / (now() - t0) / 1e9;
        sink += s;
        best = r > best ? r : best;
    }
    xlstm_free(x);
    return sink > 0 ? best : 0;
}

static double peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

/* Timing on a shared machine: the body runs in windows of at least WINDOW_SECONDS (one
 * call, or as many as take that long) for at least `seconds` in all and at least two windows,
 * after one warm-up call. The rate is calls per second in the fastest window, what the
 * machine does in its quiet moments: the statistic of the probes, whose repetitions take
 * about as long, so that the percentages compare like with like. The mean over all windows
 * is reported beside it. */
#define WINDOW_SECONDS 0.01

typedef struct {
    double best, mean; /* calls per second */
} rate;

#define TIME_WINDOWS(out, seconds, body)                                                                               \
    do {                                                                                                               \
        double w_ = now();                                                                                             \
        body;                                                                                                          \
        w_ = now() - w_;                                                                                               \
        int calls_ = w_ >= WINDOW_SECONDS ? 1 : (int)(WINDOW_SECONDS / (w_ > 1e-7 ? w_ : 1e-7)) + 1, windows_ = 0;    \
        double t0_ = now(), fastest_ = 1e300;                                                                          \
        while (windows_ < 2 || now() - t0_ < (seconds)) {                                                              \
            double s_ = now();                                                                                         \
            for (int c_ = 0; c_ < calls_; c_++) body;                                                                  \
            double dt_ = now() - s_;                                                                                   \
            fastest_ = dt_ < fastest_ ? dt_ : fastest_;                                                                \
            windows_++;                                                                                                \
        }                                                                                                              \
        (out).best = calls_ / fastest_;                                                                                \
        (out).mean = (double)calls_ * windows_ / (now() - t0_);                                                        \
    } while (0)

/* One configuration: training, forward and generation, against the machine's figures
 * (sgemm GFLOP/s, read GB/s) measured just before. */
static void run_config(const bench_config *b, double seconds, const double machine[2])
{
    xlstm_config c;
    make_config(b, &c);
    xlstm_model *m;
    if (xlstm_model_create(&m, &c) != 0 || xlstm_model_init(m, 1) != 0) die("bench: %s", xlstm_errmsg());
    int N = b->B * b->T, chunk = 64;
    int32_t *tok = malloc((size_t)(N + 1) * sizeof *tok);
    if (!tok) die("bench: out of memory");
    for (int i = 0; i <= N; i++) tok[i] = (int32_t)((i * 7919) % b->V);
    adamw opt;
    if (adamw_init(&opt, xlstm_model_num_params(m)) != 0) die("bench: %s", xlstm_errmsg());
    double fwd_flops = forward_flops_per_token(&c, chunk, b->T);
    float loss;
    rate train, fwd, gen;

    double sgemm = machine[0], bandwidth = machine[1];
    TIME_WINDOWS(train, seconds, {
        xlstm_zero_grad(m);
        if (xlstm_forward(m, tok, tok + 1, b->B, b->T, &loss) != 0 || xlstm_backward(m) != 0)
            die("bench: %s", xlstm_errmsg());
        adamw_begin(&opt);
        adamw_update(&opt, xlstm_model_params(m), xlstm_model_grads(m), 0, xlstm_model_num_params(m), 1e-4, 0.1);
    });
    double train_rss = peak_rss_mb();
    TIME_WINDOWS(fwd, seconds, {
        if (xlstm_forward(m, tok, NULL, b->B, b->T, NULL) != 0) die("bench: %s", xlstm_errmsg());
    });

    xlstm_state *s;
    real *logits = malloc((size_t)b->V * sizeof *logits);
    if (!logits || xlstm_state_create(m, &s) != 0) die("bench: %s", xlstm_errmsg());
    if (xlstm_prefill(m, s, tok, GEN_PROMPT, logits) != 0) die("bench: %s", xlstm_errmsg());
    int32_t next = 1;
    TIME_WINDOWS(gen, seconds, {
        if (xlstm_step(m, s, next, logits) != 0) die("bench: %s", xlstm_errmsg());
        next = (next * 31 + 7) % b->V;
    });
    /* batch-1 generation reads every weight once per token (the embedding: one row) */
    double weight_bytes = (double)(xlstm_model_num_params(m) - (size_t)c.vocab_size * c.embedding_dim) * sizeof(real);
    double gen_bound = bandwidth * 1e9 / weight_bytes;

    double peak = peak_rss_mb();
    printf("%-7s machine   sgemm %.1f GFLOP/s (1024^3, this BLAS and threads), memory reads %.1f GB/s\n", b->name,
           sgemm, bandwidth);
    printf("%-7s train     %9.0f tok/s (mean %6.0f)  %7.1f GFLOP/s  %5.1f%% of sgemm  peak RSS %6.0f MB  (%.2f "
           "MFLOP/token, B=%d T=%d)\n",
           b->name, N * train.best, N * train.mean, N * train.best * 3 * fwd_flops / 1e9,
           100 * N * train.best * 3 * fwd_flops / 1e9 / sgemm, train_rss, 3 * fwd_flops / 1e6, b->B, b->T);
    printf("%-7s forward   %9.0f tok/s (mean %6.0f)  %7.1f GFLOP/s  %5.1f%% of sgemm\n", b->name, N * fwd.best,
           N * fwd.mean, N * fwd.best * fwd_flops / 1e9, 100 * N * fwd.best * fwd_flops / 1e9 / sgemm);
    printf("%-7s generate  %9.0f tok/s (mean %6.0f)  %7.2f MB of weights/token: bandwidth bound %.0f tok/s (%.0f%%)  "
           "peak RSS %6.0f MB\n",
           b->name, gen.best, gen.mean, weight_bytes / 1e6, gen_bound, 100 * gen.best / gen_bound, peak);
    fflush(stdout);
    xlstm_state_free(s);
    free(logits);
    free(tok);
    adamw_free(&opt);
    xlstm_model_free(m);
}

/* Fork a child that measures the machine (writing sgemm and bandwidth to *out_fd) or runs
 * configuration b with those figures; wait for it. */
static void run_child(const bench_config *b, const int *out_fd, const double machine[2])
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) die("bench: fork failed");
    if (pid == 0) {
        if (out_fd) {
            double fig[2] = {measure_sgemm(), measure_bandwidth()};
            _exit(write(*out_fd, fig, sizeof fig) == (ssize_t)sizeof fig ? 0 : 1);
        }
        run_config(b, bench_seconds, machine);
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die("bench: %s failed", out_fd ? "machine measurement" : b->name);
}

int cmd_bench(int argc, char **argv)
{
    int threads = 0, chosen[NCONFIGS] = {0}, any = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: xlstm bench [CONFIG ...] [--seconds S] [--threads N]\n\n"
                   "Measures training, forward and generation speed of named configurations (default: all\n"
                   "but micro). Each figure is timed for at least S seconds (default 3).\n"
                   "  --threads N   OpenMP/BLAS threads (default: all cores)\n\nconfigurations:\n");
            for (int k = 0; k < NCONFIGS; k++)
                printf("  %-7s %s, batch %d x length %d\n", CONFIGS[k].name, CONFIGS[k].about, CONFIGS[k].B,
                       CONFIGS[k].T);
            return 0;
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            char *end;
            bench_seconds = strtod(argv[++i], &end);
            if (*end || !(bench_seconds > 0 && bench_seconds < 3600)) die("bench: --seconds must be in (0, 3600), got '%s'", argv[i]);
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            char *end;
            long t = strtol(argv[++i], &end, 10);
            if (*end || t < 1 || t > 1024) die("bench: --threads must be in [1, 1024], got '%s'", argv[i]);
            threads = (int)t;
        } else if (argv[i][0] == '-') {
            die("bench: unknown flag '%s' (see xlstm bench --help)", argv[i]);
        } else {
            int k = 0;
            while (k < NCONFIGS && strcmp(CONFIGS[k].name, argv[i]) != 0) k++;
            if (k == NCONFIGS) die("bench: unknown configuration '%s' (see xlstm bench --help)", argv[i]);
            chosen[k] = any = 1;
        }
    }
    if (!any)
        for (int k = 1; k < NCONFIGS; k++) chosen[k] = 1;
#ifdef _OPENMP
    if (threads) omp_set_num_threads(threads);
#else
    if (threads > 1) die("bench: --threads %d: this build has no OpenMP", threads);
#endif
    /* Every measurement runs in a child process: each configuration's peak memory is its own,
     * and the parent never starts OpenMP or BLAS threads (a child forked from a process with
     * running thread pools can deadlock). Before each configuration a child measures the
     * machine, so that a long run compares each one with the machine of its own minutes. */
    int fds[2];
    if (pipe(fds) != 0) die("bench: pipe failed");
    printf("xlstm.c bench: %s\n", xlstm_build_info());
    printf("each figure: its fastest window of %.0f ms or one call, timed for at least %g s (the mean over all "
           "windows in brackets); each probe: its fastest repetition\n",
           WINDOW_SECONDS * 1e3, bench_seconds);
    for (int k = 0; k < NCONFIGS; k++) {
        if (!chosen[k]) continue;
        double machine[2];
        run_child(&CONFIGS[k], &fds[1], NULL);
        if (read(fds[0], machine, sizeof machine) != (ssize_t)sizeof machine) die("bench: machine measurement failed");
        run_child(&CONFIGS[k], NULL, machine);
    }
    close(fds[0]);
    close(fds[1]);
    return 0;
}
