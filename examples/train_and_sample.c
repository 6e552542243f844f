/* train_and_sample.c — links only libxlstm: train a byte-level xLSTM on a text, then continue its first line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xlstm.h"

typedef struct { const unsigned char *text; size_t n; unsigned long long seed; } corpus;

/* Random windows of the text: each token predicts the next byte. */
static int windows(void *ctx, int32_t *tokens, int32_t *targets, int B, int T)
{
    corpus *c = ctx;
    for (int b = 0; b < B; b++) {
        c->seed = c->seed * 6364136223846793005ull + 1442695040888963407ull;
        size_t off = (size_t)(c->seed >> 33) % (c->n - (size_t)T);
        for (int t = 0; t < T; t++) tokens[b * T + t] = c->text[off + t], targets[b * T + t] = c->text[off + t + 1];
    }
    return T;
}

int main(int argc, char **argv)
{
    static unsigned char text[1 << 22];
    FILE *f = fopen(argc > 1 ? argv[1] : "data/moby_dick.txt", "rb");
    corpus c = {text, f ? fread(text, 1, sizeof text, f) : 0, 1};
    if (f) fclose(f);
    if (c.n < 1000) return fprintf(stderr, "need a text file of at least 1000 bytes\n"), 1;
    const char *json = "{\"vocab_size\": 256, \"embedding_dim\": 64, \"num_blocks\": 2, \"slstm_at\": [1], "
                       "\"mlstm_block\": {}, \"slstm_block\": {}}";
    xlstm_model *m; xlstm_trainer *tr; xlstm_step_result r; xlstm_state *s; xlstm_sampler *smp;
    xlstm_train_opts o = xlstm_train_defaults();
    o.steps = argc > 2 ? atol(argv[2]) : 200, o.warmup = o.steps / 10, o.batch = 8, o.context = 64;
    if (xlstm_model_create_json(&m, json, strlen(json)) || xlstm_model_init(m, 42) || xlstm_trainer_create(&tr, m, &o))
        return fprintf(stderr, "%s\n", xlstm_errmsg()), 1;
    while (xlstm_trainer_steps_done(tr) < o.steps)
        if (xlstm_trainer_step(tr, windows, &c, &r) != 0) return fprintf(stderr, "%s\n", xlstm_errmsg()), 1;
        else if (r.step % 50 == 0) printf("step %ld loss %.3f\n", r.step, r.loss);
    xlstm_sampler_opts so = xlstm_sampler_defaults();
    so.temperature = 0.8;
    xlstm_real logits[256];
    if (xlstm_state_create(m, &s) || xlstm_sampler_create(&smp, 256, &so, 7)) return fprintf(stderr, "%s\n", xlstm_errmsg()), 1;
    for (size_t i = 0; i < c.n && text[i] != '\n'; i++) xlstm_step(m, s, text[i], logits), putchar(text[i]);
    for (int i = 0, tok; i < 200 && (tok = xlstm_sampler_next(smp, logits)) >= 0; i++) putchar(tok), xlstm_step(m, s, tok, logits);
    printf("\nfinal training loss %.3f nats/byte\n", r.loss);
    xlstm_sampler_free(smp), xlstm_state_free(s), xlstm_trainer_free(tr), xlstm_model_free(m);
    return 0;
}
