/* tuning.h — the constants that fit the kernels to the machine: when a parallel region pays,
 * block sizes, prefetch lengths, the default mLSTM chunk. Each says the measurement behind
 * it (the commit, or docs/performance.md), taken with 2 threads on a 2-vCPU AMD EPYC of this
 * workplace: the Zen 3 unless said. Changing one changes only how the work is split, except
 * where marked (bits): those also change which sums are added in which order, so results
 * change in their last bits (the tests that compare bits compare two forms under the same
 * value).
 *
 * An OpenMP region costs about 1 us (fork, join and barrier of 2 threads: the best of 2*10^4
 * empty regions in a driver on the Zen 4, family 25 model 17, at a473d1b), and far more when
 * the host deschedules a thread (docs/performance.md, "On a busy machine"); the thresholds
 * keep a region to work of several times that. */
#ifndef XLSTM_TUNING_H
#define XLSTM_TUNING_H

/* ---- when a parallel region pays */

/* Elements of an elementwise pass (activations, norms, cross-entropy rows, the mLSTM
 * layer's row passes) above which it runs in parallel: 16384 of them take 2 us (axpy, from
 * L1) to 37 us (SiLU) on one thread in the same driver, 2 to 35 regions' cost. Set in the
 * first version (cd9adbb). (bits: the cross-entropy's sum and the mLSTM backward's
 * per-thread partial sums follow the thread count.) */
#define PAR_MIN_ELEMS 16384

/* Elements of a residual add (out = x + y: one add per element, the cheapest pass) above
 * which it runs in parallel; four times PAR_MIN_ELEMS so that a region's ~1 us start pays
 * for itself as it does there. Set in the first version; not measured on its own. */
#define RESIDUAL_PAR_MIN (4 * PAR_MIN_ELEMS)

/* Parameters of one AdamW update (src/train/optim.c: about ten operations an element) above
 * which it runs on all threads; elementwise, so the same bits on any number. Set in the
 * first version; not measured on its own. */
#define ADAMW_PAR_MIN 65536

/* Multiply-adds of a small product (the portable gemm, the block-diagonal maps with small
 * blocks, the causal conv and their backwards) above which it runs in parallel: 32768 take
 * 4.5 us vectorized (axpy) to 27 us in one chain (a dot product) in the same driver (cd9adbb). */
#define PAR_MIN_MULADDS 32768

/* Multiply-adds of the batch-1 products of one region (matmul.c) above which they run in
 * parallel: one of the sLSTM step's gate maps at medium (4 heads of 128 x 128, 65,536) stays
 * on one thread, which is why session 7 put all of the step's maps in one region
 * (docs/performance.md, "A batch-1 sLSTM step in one parallel region"; 313b77f). */
#define GEMV_PAR_MIN 65536

/* State elements (pairs x DK x DV) of an mLSTM step above which its (batch, head) pairs run
 * in parallel, each element two multiply-adds: the medium step (4 heads of 256 x 256) runs
 * on both threads, 317 us for its 7 layers' 7.5 MB of state (docs/performance.md, "A medium
 * token's timeline"). Set in cd9adbb. */
#define MLSTM_STEP_PAR_MIN 65536

/* Elements (pairs x T x DV) of the pass that adds the gradient through the mLSTM stabilizer
 * (xLSTM Large) above which its (batch, head) pairs run in parallel: the step's threshold,
 * for a pass over as many values; not measured on its own. */
#define MLSTM_STABILIZER_PAR_MIN 65536

/* State elements over the sequence (T x B x D) above which the sLSTM cell runs its heads'
 * time loops on threads of their own: each head loops over time with no synchronization
 * per step, so one region serves the whole sequence (da07e58: the per-head time loop, small
 * training 1.35x with the other changes of that commit). */
#define SLSTM_PAR_ELEMS 16384

/* Channels of a token (N x E) from which the mLSTM layer's row section with few rows
 * (generation) splits each row's channels and gates over the threads rather than leaving
 * them to one: 139-170 -> 110-139 us a medium token for its 7 layers (5daeb1e). The small
 * preset's rows (E = 512) split; the tiny preset's (256) stay on one thread. */
#define MLSTM_SPLIT_ROW_ELEMS 512

/* ---- block sizes */

/* Rows of a batch-1 product computed side by side, each load of x serving all of them: 8
 * rows streamed about 15% faster than 4 at 512 and 1024 columns (the prefetcher keeps more
 * lines in flight; 3f8e01c). matmul.c's dot_rows is written out for 8. */
#define GEMV_ROWS 8

/* Blocks of GEMV_ROWS rows a thread takes at a time as it comes free: barrier waits in medium
 * generation 5-9% / 14-15% of the two threads' samples, against 7-14% / 13-28% with OpenMP's
 * guided schedule, whose first piece is half the work (0418c35); 2 or 8 a grab measured
 * no different (session 6). */
#define GEMV_GRAB 4

/* Most batch-1 maps one region takes (linear_batch): the sLSTM step's 16 gate maps and 4
 * recurrent maps at 4 heads are 20; more run in regions of this many (5ed25d7). */
#define LINEAR_BATCH_MAX 32

/* Rows per block of the lower-triangular products (matmul.h; the mLSTM cell's), each only as
 * wide as the diagonal reaches (bits): 1-6% faster than no split at chunk 64, 17-20% on the
 * parallel form at T = 512; 16-row blocks were slower, the products too small for BLAS
 * (2d1d20a). */
#define TRI_ROWS 32

/* Rows of the mLSTM gates' backward per block (bits: the blocks are shared out to the
 * threads): each row of the input and forget gates' dW partial sums (3E floats, 24 KB at
 * medium) stays in L1 while the block's 8 rows are added into it (f0ed9b2). */
#define MLSTM_GATE_BLOCK 8

/* Blocks with at most this many weights take headwise.c's direct loops over rows, larger
 * ones a gemm per head (bits): below about 16 x 16 the call costs more in dispatch than it
 * computes (cd9adbb). The mLSTM's 4 x 4 q/k/v blocks are direct, the sLSTM's DH x DH gemms. */
#define HEADWISE_DIRECT_MAX 256

/* Most heads per task of the small-block dW reduction: 16 KB of 4 x 4 blocks, in L1 (cd9adbb). */
#define HEADWISE_DW_HEADS 256

/* Most columns per task of the norms' dw reduction: each task owns its block of dw, so no
 * scratch is needed; 16 KB of float (cd9adbb). */
#define NORM_DW_COLS 4096

/* The conv's dw/dbias reduction: a task owns at most CONV_DW_COLS channels and sums
 * CONV_DW_TAPS taps at a time into a stack buffer [taps, channels] of 8 KB (cd9adbb). */
#define CONV_DW_COLS 512
#define CONV_DW_TAPS 4

/* ---- prefetching */

/* Rows of at most this many floats are short: a block of them is a few KB, each row only a
 * few cache lines, too few for the hardware prefetcher to follow. For a block of short rows
 * that lie back to back, dot_rows prefetches the whole next block while it computes this
 * one (4 lines an iteration of 8 columns): the sLSTM step's 128-column maps (medium) read at
 * 0.65-0.85 of the up-projection's rate instead of 0.52-0.68 (7 runs alternating, c4c0e21).
 * Longer rows prefetch the first line of each row of the next block (5-15% faster at 512
 * columns, 313b77f): the whole next block of 512-column rows (16 KB) made the
 * up-projection slower (0.69-0.75 of the probe against 0.77-0.92). */
#define GEMV_SHORT_ROW 256

/* ---- the mLSTM cell */

/* The default chunk of the chunkwise form (bits): one thread forward + backward at medium
 * 9.2 + 23.2 ms, against 10.9 + 32.3 at 32 and 10.2 + 24.6 at 128, which was worse with 2
 * threads (session 4, 2d1d20a); neither beat 64 in whole steps (session 5). */
#define MLSTM_CHUNK_DEFAULT 64

#endif
