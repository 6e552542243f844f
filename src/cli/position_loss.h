/* position_loss.h — loss by position in a window, the measure of length extrapolation used
 * by `xlstm eval` and `xlstm experiment extrapolation`: per-position sums of the
 * cross-entropy, then buckets [0, 64), [64, 128), [128, 256), ... doubling up to the window. */
#ifndef XLSTM_CLI_POSITION_LOSS_H
#define XLSTM_CLI_POSITION_LOSS_H

#include <stdint.h>

#include "xlstm.h"

#define POSITION_FIRST_BUCKET 64 /* positions [0, 64), then buckets doubling in size */
#define POSITION_MAX_BUCKETS 63  /* edges need one more entry */

/* Adds each position's loss -log softmax(logits)[target], in double, into pos_loss [T].
 * logits [B, T, V], targets [B, T]. */
void add_position_losses(const xlstm_real *logits, const int32_t *targets, int B, int T, int V, double *pos_loss);

/* Bucket edges 0, 64, 128, 256, ... up to T (the last bucket ends at T); returns the count
 * of buckets. edges needs room for POSITION_MAX_BUCKETS + 1 entries. */
int bucket_edges(int T, int *edges);

#endif
