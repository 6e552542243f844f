#!/usr/bin/python3
"""official_bench.py: speed of the OFFICIAL NX-AI PyTorch xLSTM code on this machine, on the
same configurations as `xlstm bench` (src/cli/bench.c), so that the two can be compared on
the same hardware.

For each configuration: training tokens/s (forward + cross-entropy + backward + AdamW step,
fp32), forward tokens/s (torch.no_grad), generation tokens/s at batch 1 through the official
xLSTMLMModel.step() after a 64-token prompt, and peak resident memory. Each configuration
runs in its own subprocess so that its peak RSS is its own (that RSS includes the Python
interpreter and the torch libraries; the baseline after import and model construction is
shown as well).

The official package is the `xlstm/` directory of https://github.com/NX-AI/xlstm, e.g.
    mkdir -p /tmp/official
    git -C /work/.mirror/NX-AI+xlstm/repo archive HEAD | tar -x -C /tmp/official
Run with Debian's PyTorch (the interpreter that has torch), e.g.
    /usr/bin/python3 tools/official_bench.py small mlstm medium --seconds 3 --threads 2

Model configuration (mirrors xlstm_config_default in src/io/config.c and make_config in
src/cli/bench.c): mLSTM conv 4, qkv_proj_blocksize 4, 4 heads, proj_factor 2 (rounded up to
a multiple of 64); sLSTM 4 heads, conv 4, powerlaw_blockdependent bias init, zero recurrent
init, backend "vanilla" (ours defaults to "cuda", which only names the official CUDA kernel;
on CPU the official code can only run "vanilla"); sLSTM blocks get the gated FFN, proj_factor
1.3 (rounded up to 64), gelu; bias False, dropout 0, post-blocks LayerNorm, untied head;
context_length = T. The official mLSTM layer has no backend switch: its forward is the
parallel stabilized form (a T x T matrix per head), its step() the recurrent form.

Timing follows bench.c's TIME_WINDOWS: one warm-up call, then windows of at least 10 ms (one
call, or as many calls as take that long) until at least --seconds have passed and at least
two windows ran; each figure is the rate in the fastest window, with the mean over all
windows beside it. Tokens are tok[i] = (i * 7919) % V as in
bench.c; AdamW lr 1e-4, weight decay 0.1 on every parameter, as in bench.c. Generation:
the official LM model has no prefill that returns a state (its forward() returns logits
only), so the 64-token prompt is fed token by token through step() (not timed); then one
step() per generated token, with the next token chosen as in bench.c (next = next*31+7 mod V,
no sampling), under torch.no_grad.
"""
import argparse
import os
import re
import resource
import subprocess
import sys
import time

CONFIGS = {
    # name: (D, blocks, slstm_at or None, V, B, T, about)
    "small": (256, 4, 1, 256, 8, 256, "D=256, 4 blocks, sLSTM at 1, 4 heads"),
    "mlstm": (256, 4, None, 256, 8, 256, "small without sLSTM blocks"),
    "medium": (512, 8, 3, 256, 4, 512, "D=512, 8 blocks, sLSTM at 3, 4 heads"),
    "long": (512, 8, 3, 256, 1, 4096, "medium at length 4096"),
}
DEFAULT_CONFIGS = ["small", "mlstm", "medium"]
GEN_PROMPT = 64


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def current_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


WINDOW_SECONDS = 0.01


def time_windows(seconds, fn):
    """bench.c's TIME_WINDOWS: calls per second in the fastest window and over all windows."""
    w = time.perf_counter()
    fn()
    w = time.perf_counter() - w
    calls = 1 if w >= WINDOW_SECONDS else int(WINDOW_SECONDS / max(w, 1e-7)) + 1
    windows, fastest, t0 = 0, float("inf"), time.perf_counter()
    while windows < 2 or time.perf_counter() - t0 < seconds:
        s = time.perf_counter()
        for _ in range(calls):
            fn()
        fastest = min(fastest, time.perf_counter() - s)
        windows += 1
    return calls / fastest, calls * windows / (time.perf_counter() - t0)


def loaded_math_libs():
    """The BLAS / oneDNN / OpenMP libraries actually mapped into this process, resolved."""
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6:
                    base = os.path.basename(parts[5])
                    if any(k in base for k in ("blas", "lapack", "mkl", "dnnl", "gomp", "iomp")):
                        libs.add(os.path.realpath(parts[5]))
    except OSError:
        pass
    return sorted(libs)


def header(threads):
    import torch

    cfg = torch.__config__.show()
    blas = re.search(r"\bBLAS_INFO=([^,\s]*)", cfg)
    lapack = re.search(r"\bLAPACK_INFO=([^,\s]*)", cfg)
    blas, lapack = (m.group(1) if m else "?" for m in (blas, lapack))
    torch.set_num_threads(threads)
    torch.zeros(64, 64) @ torch.zeros(64, 64)  # make sure the BLAS is loaded
    cap = [l.strip(" -") for l in cfg.splitlines() if "CPU capability" in l]
    print(f"official xLSTM (PyTorch) bench: torch {torch.__version__}, threads {threads} "
          f"(torch.get_num_threads() = {torch.get_num_threads()}), "
          f"BLAS_INFO={blas} LAPACK_INFO={lapack}, mkldnn {torch.backends.mkldnn.is_available()}, "
          f"mkl {torch.backends.mkl.is_available()}, {cap[0] if cap else ''}")
    print("math libraries loaded: " + " ".join(loaded_math_libs()))
    sys.stdout.flush()


def make_model(name, official_dir):
    sys.path.insert(0, official_dir)
    from xlstm import (FeedForwardConfig, mLSTMBlockConfig, mLSTMLayerConfig, sLSTMBlockConfig,
                       sLSTMLayerConfig, xLSTMLMModel, xLSTMLMModelConfig)

    D, blocks, slstm_at, V, B, T, _ = CONFIGS[name]
    cfg = xLSTMLMModelConfig(
        vocab_size=V,
        context_length=T,
        num_blocks=blocks,
        embedding_dim=D,
        add_post_blocks_norm=True,
        bias=False,
        dropout=0.0,
        tie_weights=False,
        mlstm_block=mLSTMBlockConfig(
            mlstm=mLSTMLayerConfig(conv1d_kernel_size=4, qkv_proj_blocksize=4, num_heads=4, proj_factor=2.0,
                                   round_proj_up_dim_up=True, round_proj_up_to_multiple_of=64)),
        slstm_block=None if slstm_at is None else sLSTMBlockConfig(
            slstm=sLSTMLayerConfig(backend="vanilla", num_heads=4, conv1d_kernel_size=4,
                                   bias_init="powerlaw_blockdependent", recurrent_weight_init="zeros"),
            feedforward=FeedForwardConfig(proj_factor=1.3, act_fn="gelu", round_proj_up_dim_up=True,
                                          round_proj_up_to_multiple_of=64)),
        slstm_at=[] if slstm_at is None else [slstm_at],
    )
    model = xLSTMLMModel(cfg)
    model.reset_parameters()
    return model


def run_config(name, seconds, threads, official_dir):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    D, blocks, slstm_at, V, B, T, _ = CONFIGS[name]
    model = make_model(name, official_dir)
    nparams = sum(p.numel() for p in model.parameters())
    base_rss = current_rss_mb()
    N = B * T
    tok = torch.tensor([(i * 7919) % V for i in range(N + 1)], dtype=torch.long)
    x, y = tok[:N].view(B, T), tok[1:].view(B, T)

    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.1)
    model.train()

    def train_step():
        opt.zero_grad(set_to_none=True)
        logits = model(x)
        loss = F.cross_entropy(logits.view(-1, V), y.reshape(-1))
        loss.backward()
        opt.step()

    train_best, train_mean = time_windows(seconds, train_step)
    train_rss = peak_rss_mb()

    model.eval()  # dropout is 0 and the vanilla sLSTM ignores the mode: same arithmetic as train
    with torch.no_grad():
        fwd_best, fwd_mean = time_windows(seconds, lambda: model(x))

        state = None
        logits = None
        for t in range(GEN_PROMPT):  # official LM model: no stateful prefill, so feed the prompt by step()
            logits, state = model.step(tok[t].view(1, 1), state)
        nxt = [1]

        def gen_step():
            nonlocal state, logits
            logits, state = model.step(torch.tensor([[nxt[0]]], dtype=torch.long), state)
            nxt[0] = (nxt[0] * 31 + 7) % V

        gen_best, gen_mean = time_windows(seconds, gen_step)
        assert logits.shape == (1, 1, V) and torch.isfinite(logits).all()

    peak = peak_rss_mb()
    print(f"{name:<7} train     {N * train_best:9.0f} tok/s (mean {N * train_mean:6.0f})  peak RSS {train_rss:6.0f} MB  "
          f"(B={B} T={T}, {nparams / 1e6:.2f}M params, RSS after import + model build {base_rss:.0f} MB)")
    print(f"{name:<7} forward   {N * fwd_best:9.0f} tok/s (mean {N * fwd_mean:6.0f})")
    print(f"{name:<7} generate  {gen_best:9.0f} tok/s (mean {gen_mean:6.0f})  peak RSS {peak:6.0f} MB  (batch 1, step() after a "
          f"{GEN_PROMPT}-token prompt)")
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="configurations:\n" + "\n".join(
                                     f"  {k:<7} {v[6]}, batch {v[4]} x length {v[5]}" for k, v in CONFIGS.items()))
    ap.add_argument("configs", nargs="*", help=f"configurations to run (default: {' '.join(DEFAULT_CONFIGS)})")
    ap.add_argument("--seconds", type=float, default=3.0, help="time each figure for at least S seconds (default 3)")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    ap.add_argument("--long", action="store_true", help="also run 'long' (medium at 1 x 4096; slow)")
    ap.add_argument("--official-dir", default="/tmp/official",
                    help="directory that contains the official xlstm/ package (default /tmp/official)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if not (0 < args.seconds < 3600):
        ap.error("--seconds must be in (0, 3600)")
    if args.threads < 1:
        ap.error("--threads must be >= 1")
    if not os.path.isdir(os.path.join(args.official_dir, "xlstm")):
        ap.error(f"no official xlstm/ package under {args.official_dir} (see --help)")

    if args.child:
        run_config(args.child, args.seconds, args.threads, args.official_dir)
        return

    names = args.configs or list(DEFAULT_CONFIGS)
    if args.long and "long" not in names:
        names.append("long")
    for n in names:
        if n not in CONFIGS:
            ap.error(f"unknown configuration '{n}' (choose from {', '.join(CONFIGS)})")

    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads),
               MKL_NUM_THREADS=str(args.threads), PYTHONDONTWRITEBYTECODE="1")
    # the header runs in a child as well, so that the parent never loads torch
    common = ["--seconds", str(args.seconds), "--threads", str(args.threads), "--official-dir", args.official_dir]
    rc = subprocess.run([sys.executable, "-c",
                         f"import sys; sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r}); "
                         f"import official_bench as b; b.header({args.threads})"], env=env).returncode
    if rc != 0:
        sys.exit(f"official_bench: header failed (exit {rc})")
    for n in names:
        rc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", n] + common, env=env).returncode
        if rc != 0:
            sys.exit(f"official_bench: {n} failed (exit {rc})")


if __name__ == "__main__":
    main()
