/* headwise.c — block-diagonal linear map (official LinearHeadwiseExpand), W [H, dout, din].
 * Small blocks (the 4x4 q/k/v maps of the mLSTM, H up to hundreds) run as direct loops over
 * rows; large blocks (the sLSTM gate maps, DH x DH) run as one gemm per head. */
#include "matmul.h"
#include "ops.h"
#include "split.h"

/* Blocks with at most this many weights take the direct loops: below ~16x16 a gemm call
 * per head costs more in dispatch than it computes. */
#define HEADWISE_DIRECT_MAX 256

static int headwise_is_small(int dout, int din) { return (long)dout * din <= HEADWISE_DIRECT_MAX; }

/* Most heads per task of the small-block dW reduction (4x4 blocks: 16 KiB of dW in float). */
#define HEADWISE_DW_HEADS 256

/* One block of one row: y[o] = b[o] + sum_d W[o, d] x[d]. Inline, so that the calls with
 * constant 4x4 below get fully unrolled code. */
static inline void block_forward(real *y, const real *W, const real *b, const real *x, int dout, int din)
{
    for (int o = 0; o < dout; o++) {
        real s = b ? b[o] : 0;
        for (int d = 0; d < din; d++) s += W[o * din + d] * x[d];
        y[o] = s;
    }
}

/* dx[d] += sum_o dy[o] W[o, d] */
static inline void block_backward_x(real *dx, const real *W, const real *dy, int dout, int din)
{
    for (int o = 0; o < dout; o++)
        for (int d = 0; d < din; d++) dx[d] += dy[o] * W[o * din + d];
}

/* dW[o, d] += dy[o] x[d]; db[o] += dy[o] */
static inline void block_backward_w(real *dW, real *db, const real *dy, const real *x, int dout, int din)
{
    for (int o = 0; o < dout; o++) {
        if (db) db[o] += dy[o];
        for (int d = 0; d < din; d++) dW[o * din + d] += dy[o] * x[d];
    }
}

/* The three small-block loops, each over rows (or head blocks) calling the block kernels;
 * "dout, din" are constants where the caller passes them so. */
static inline void headwise_forward_small(real *y, int ldy, const real *x, int ldx, const real *W, const real *bias,
                                          int N, int H, int dout, int din)
{
#pragma omp parallel for schedule(static) if ((long)N * H * dout * din > 32768)
    for (int n = 0; n < N; n++)
        for (int h = 0; h < H; h++)
            block_forward(y + (size_t)n * ldy + (size_t)h * dout, W + (size_t)h * dout * din,
                          bias ? bias + (size_t)h * dout : NULL, x + (size_t)n * ldx + (size_t)h * din, dout, din);
}

/* dx rows are independent (parallel over rows); dW and dbias are reductions over rows, so
 * they are parallel over ranges of heads, each task owning its heads' dW. */
static inline void headwise_backward_small(real *dx, int lddx, real *dW, real *dbias, const real *dy, int lddy,
                                           const real *x, int ldx, const real *W, int N, int H, int dout, int din)
{
    long work = (long)N * H * dout * din;
    (void)work; /* read only by the OpenMP if() clauses */
    int hb = split_per_thread(H, HEADWISE_DW_HEADS);
    if (dx) {
#pragma omp parallel for schedule(static) if (work > 32768)
        for (int n = 0; n < N; n++)
            for (int h = 0; h < H; h++)
                block_backward_x(dx + (size_t)n * lddx + (size_t)h * din, W + (size_t)h * dout * din,
                                 dy + (size_t)n * lddy + (size_t)h * dout, dout, din);
    }
#pragma omp parallel for schedule(static) if (work > 32768)
    for (int h0 = 0; h0 < H; h0 += hb) {
        int h1 = h0 + hb < H ? h0 + hb : H;
        for (int n = 0; n < N; n++)
            for (int h = h0; h < h1; h++)
                block_backward_w(dW + (size_t)h * dout * din, dbias ? dbias + (size_t)h * dout : NULL,
                                 dy + (size_t)n * lddy + (size_t)h * dout, x + (size_t)n * ldx + (size_t)h * din,
                                 dout, din);
    }
}

/* y [N, H*dout] (stride ldy), x [N, H*din] (stride ldx). */
void headwise_forward(real *y, int ldy, const real *x, int ldx, const real *W, const real *bias, int N, int H,
                      int dout, int din)
{
    if (dout == 4 && din == 4) /* the mLSTM q/k/v maps (qkv_proj_blocksize 4): unrolled */
        headwise_forward_small(y, ldy, x, ldx, W, bias, N, H, 4, 4);
    else if (headwise_is_small(dout, din))
        headwise_forward_small(y, ldy, x, ldx, W, bias, N, H, dout, din);
    else
        for (int h = 0; h < H; h++)
            linear_forward(y + (size_t)h * dout, ldy, x + (size_t)h * din, ldx, W + (size_t)h * dout * din,
                           bias ? bias + (size_t)h * dout : NULL, N, din, dout);
}

void headwise_backward(real *dx, int lddx, real *dW, real *dbias, const real *dy, int lddy, const real *x, int ldx,
                       const real *W, int N, int H, int dout, int din)
{
    if (dout == 4 && din == 4)
        headwise_backward_small(dx, lddx, dW, dbias, dy, lddy, x, ldx, W, N, H, 4, 4);
    else if (headwise_is_small(dout, din))
        headwise_backward_small(dx, lddx, dW, dbias, dy, lddy, x, ldx, W, N, H, dout, din);
    else
        for (int h = 0; h < H; h++)
            linear_backward(dx ? dx + (size_t)h * din : NULL, lddx, dW + (size_t)h * dout * din,
                            dbias ? dbias + (size_t)h * dout : NULL, dy + (size_t)h * dout, lddy,
                            x + (size_t)h * din, ldx, W + (size_t)h * dout * din, N, din, dout);
}
