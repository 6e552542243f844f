/* trainer.h — the training step of libxlstm (xlstm_trainer_*: AdamW, the schedule,
 * clipping, accumulation), with its state open to the run-directory checkpoint of the CLI,
 * which saves and restores the moments and the step count. */
#ifndef XLSTM_TRAIN_TRAINER_H
#define XLSTM_TRAIN_TRAINER_H

#include "xlstm.h"
#include "train/optim.h"

struct xlstm_trainer {
    xlstm_model *m;
    xlstm_train_opts o;
    adamw opt;               /* its t counts the updates applied; step counts all */
    long step;               /* steps done (skipped updates included) */
    int32_t *tokens, *targets; /* [batch, context] a micro-batch */
};

/* Check the options; the message names the bad one. */
int train_opts_check(const xlstm_train_opts *o);

#endif
