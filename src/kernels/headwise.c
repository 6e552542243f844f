/* headwise.c — block-diagonal linear map (official LinearHeadwiseExpand), W [H, dout, din].
 * Small blocks (the 4x4 q/k/v maps of the mLSTM, H up to hundreds) run as direct loops over
 * rows; large blocks (the sLSTM gate maps, DH x DH) run as one gemm per head. */
#include "matmul.h"
#include "ops.h"
#include "split.h"
#include "tuning.h"

/* Blocks with at most HEADWISE_DIRECT_MAX weights take the direct loops (tuning.h). */
static int headwise_is_small(int dout, int din) { return (long)dout * din <= HEADWISE_DIRECT_MAX; }

/* One row through all H blocks: y[h*dout + o] = bias[h*dout + o] + sum_d W[h, o, d] x[h*din + d]
 * (the sum in order of d). restrict, and dout, din constant where the callers below pass
 * them so: then the loops vectorize (the 4x4 blocks across o or d). */
static inline void row_forward(real *restrict y, const real *restrict x, const real *restrict W,
                               const real *restrict bias, int H, int dout, int din)
{
    for (int i = 0; i < H * dout; i++) y[i] = bias ? bias[i] : 0;
    for (int h = 0; h < H; h++)
        for (int o = 0; o < dout; o++) {
            const real *w = W + ((size_t)h * dout + o) * din, *xh = x + (size_t)h * din;
            real s = y[h * dout + o];
            for (int d = 0; d < din; d++) s += w[d] * xh[d];
            y[h * dout + o] = s;
        }
}

/* dx[h*din + d] += sum_o dy[h*dout + o] W[h, o, d] */
static inline void row_backward_x(real *restrict dx, const real *restrict dy, const real *restrict W, int H, int dout,
                                  int din)
{
    for (int h = 0; h < H; h++)
        for (int o = 0; o < dout; o++)
            for (int d = 0; d < din; d++) dx[h * din + d] += dy[h * dout + o] * W[((size_t)h * dout + o) * din + d];
}

/* dW[h, o, d] += dy[h*dout + o] x[h*din + d] */
static inline void row_backward_w(real *restrict dW, const real *restrict dy, const real *restrict x, int H, int dout,
                                  int din)
{
    for (int h = 0; h < H; h++)
        for (int o = 0; o < dout; o++)
            for (int d = 0; d < din; d++) dW[((size_t)h * dout + o) * din + d] += dy[h * dout + o] * x[h * din + d];
}

/* The backward of the mLSTM q/k/v maps (qkv_proj_blocksize 4) in AVX2 clones (ops.h); not
 * the forward, whose strided loads of W became gathers in AVX2, which measured 2x slower
 * on Zen 3. */
AVX2_CLONES static void row_backward_x_4x4(real *dx, const real *dy, const real *W, int H)
{
    row_backward_x(dx, dy, W, H, 4, 4);
}

AVX2_CLONES static void row_backward_w_4x4(real *dW, const real *dy, const real *x, int H)
{
    row_backward_w(dW, dy, x, H, 4, 4);
}

/* The same map from WT [H, din, dout] (W transposed per block): a contiguous update of the
 * block's outputs per input, which vectorizes across o; W's own layout would need a gather
 * across o (GCC's AVX2 code for that was 2x slower than SSE). Each output is summed in the
 * order of d, from bias or 0, as in row_forward: the same bits. */
static inline void row_forward_t(real *restrict y, const real *restrict x, const real *restrict WT,
                                 const real *restrict bias, int H, int dout, int din)
{
    for (int h = 0; h < H; h++) {
        real *yh = y + (size_t)h * dout;
        const real *xh = x + (size_t)h * din, *w = WT + (size_t)h * din * dout;
        for (int o = 0; o < dout; o++) yh[o] = bias ? bias[h * dout + o] : 0;
        for (int d = 0; d < din; d++)
            for (int o = 0; o < dout; o++) yh[o] += w[d * dout + o] * xh[d];
    }
}

AVX2_CLONES static void row_forward_t_4x4(real *y, const real *x, const real *WT, const real *bias, int H)
{
    row_forward_t(y, x, WT, bias, H, 4, 4);
}

void headwise_transpose(real *WT, const real *W, int H, int dout, int din)
{
    for (int h = 0; h < H; h++)
        for (int o = 0; o < dout; o++)
            for (int d = 0; d < din; d++)
                WT[((size_t)h * din + d) * dout + o] = W[((size_t)h * dout + o) * din + d];
}

void headwise_row_forward_t(real *y, const real *x, const real *WT, const real *bias, int H, int dout, int din)
{
    if (dout == 4 && din == 4)
        row_forward_t_4x4(y, x, WT, bias, H);
    else
        row_forward_t(y, x, WT, bias, H, dout, din);
}

void headwise_row_forward(real *y, const real *x, const real *W, const real *bias, int H, int dout, int din)
{
    if (dout == 4 && din == 4) /* the mLSTM q/k/v maps (qkv_proj_blocksize 4) */
        row_forward(y, x, W, bias, H, 4, 4);
    else
        row_forward(y, x, W, bias, H, dout, din);
}

void headwise_row_backward(real *dx, real *dW, real *dbias, const real *dy, const real *x, const real *W, int H,
                           int dout, int din)
{
    if (dx && dout == 4 && din == 4)
        row_backward_x_4x4(dx, dy, W, H);
    else if (dx)
        row_backward_x(dx, dy, W, H, dout, din);
    if (dW && dout == 4 && din == 4)
        row_backward_w_4x4(dW, dy, x, H);
    else if (dW)
        row_backward_w(dW, dy, x, H, dout, din);
    if (dbias)
        for (int i = 0; i < H * dout; i++) dbias[i] += dy[i];
}

/* The small-block loops over rows. dx rows are independent (parallel over rows); dW and
 * dbias are reductions over rows, so they are parallel over ranges of heads, each task
 * owning its heads' dW. */
static void headwise_forward_small(real *y, int ldy, const real *x, int ldx, const real *W, const real *bias, int N,
                                   int H, int dout, int din)
{
#pragma omp parallel for schedule(static) if ((long)N * H * dout * din > PAR_MIN_MULADDS)
    for (int n = 0; n < N; n++) headwise_row_forward(y + (size_t)n * ldy, x + (size_t)n * ldx, W, bias, H, dout, din);
}

static void headwise_backward_small(real *dx, int lddx, real *dW, real *dbias, const real *dy, int lddy,
                                    const real *x, int ldx, const real *W, int N, int H, int dout, int din)
{
    long work = (long)N * H * dout * din;
    (void)work; /* read only by the OpenMP if() clauses */
    int hb = split_per_thread(H, HEADWISE_DW_HEADS);
    if (dx) {
#pragma omp parallel for schedule(static) if (work > PAR_MIN_MULADDS)
        for (int n = 0; n < N; n++)
            headwise_row_backward(dx + (size_t)n * lddx, NULL, NULL, dy + (size_t)n * lddy, NULL, W, H, dout, din);
    }
#pragma omp parallel for schedule(static) if (work > PAR_MIN_MULADDS)
    for (int h0 = 0; h0 < H; h0 += hb) {
        int nh = h0 + hb < H ? hb : H - h0;
        for (int n = 0; n < N; n++)
            headwise_row_backward(NULL, dW + (size_t)h0 * dout * din, dbias ? dbias + (size_t)h0 * dout : NULL,
                                  dy + (size_t)n * lddy + (size_t)h0 * dout, x + (size_t)n * ldx + (size_t)h0 * din,
                                  W + (size_t)h0 * dout * din, nh, dout, din);
    }
}

void headwise_forward_maps(linear_batch *batch, real *y, const real *x, const real *W, const real *bias, int H, int dout,
                           int din)
{
    for (int h = 0; h < H; h++)
        linear_batch_add(batch, (linear_map){y + (size_t)h * dout, x + (size_t)h * din, W + (size_t)h * dout * din,
                                             bias ? bias + (size_t)h * dout : NULL, din, dout});
}

/* y [N, H*dout] (stride ldy), x [N, H*din] (stride ldx). */
void headwise_forward(real *y, int ldy, const real *x, int ldx, const real *W, const real *bias, int N, int H,
                      int dout, int din)
{
    if (headwise_is_small(dout, din))
        headwise_forward_small(y, ldy, x, ldx, W, bias, N, H, dout, din);
    else if (N == 1) { /* generation: the heads' products share a parallel region */
        linear_batch batch = {.n = 0};
        headwise_forward_maps(&batch, y, x, W, bias, H, dout, din);
        linear_batch_run(&batch);
    }
    else
        for (int h = 0; h < H; h++)
            linear_forward(y + (size_t)h * dout, ldy, x + (size_t)h * din, ldx, W + (size_t)h * dout * din,
                           bias ? bias + (size_t)h * dout : NULL, N, din, dout);
}

void headwise_backward(real *dx, int lddx, real *dW, real *dbias, const real *dy, int lddy, const real *x, int ldx,
                       const real *W, int N, int H, int dout, int din)
{
    if (headwise_is_small(dout, din))
        headwise_backward_small(dx, lddx, dW, dbias, dy, lddy, x, ldx, W, N, H, dout, din);
    else
        for (int h = 0; h < H; h++)
            linear_backward(dx ? dx + (size_t)h * din : NULL, lddx, dW + (size_t)h * dout * din,
                            dbias ? dbias + (size_t)h * dout : NULL, dy + (size_t)h * dout, lddy,
                            x + (size_t)h * din, ldx, W + (size_t)h * dout * din, N, din, dout);
}
