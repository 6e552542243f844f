#!/bin/sh
# tests/clones.sh — the baseline code that the AVX2 clones (src/kernels/ops.h) replace, which
# the suite on an AVX2 machine never runs: a build without the clones (make CLONES=no, into
# $BUILD, default build-noclones) passes the unit tests, and where the default build runs the
# AVX2 clones, the two builds' `verify --dump` of each reference file (outputs, activations,
# step and prefill logits, gradients) agree bit for bit, as the clones promise (elementwise
# loops and sums in explicit lanes). A second build, so not part of `make test`; .ci/run runs
# it. Run from the repository root: sh tests/clones.sh
BUILD=${BUILD:-build-noclones}
J=-j$(nproc 2> /dev/null || echo 2)
make -s $J build/xlstm > /dev/null && make -s $J BUILD="$BUILD" CLONES=no "$BUILD/xlstm" > /dev/null || exit 1
status=0
make -s $J BUILD="$BUILD" CLONES=no test-unit || status=1
. tests/lib.sh
echo "== $BUILD/xlstm verify --dump against build/xlstm's"
if build/xlstm version | grep -q "avx2 in use"; then
    for f in lm_mixed_small lm_mixed_small.cuda_layout slstm_layer mlstm_layer; do
        # (both dumps are written whatever the checks find)
        build/xlstm verify "tests/data/ref/$f.safetensors" --dump "$tmp/clones.st" > /dev/null
        "$BUILD/xlstm" verify "tests/data/ref/$f.safetensors" --dump "$tmp/baseline.st" > /dev/null
        cmp -s "$tmp/clones.st" "$tmp/baseline.st" && pass "clones_same_bits_$f" || fail "clones_same_bits_$f"
    done
else
    skip clones_same_bits "build/xlstm does not run the AVX2 clones here: $(build/xlstm version)"
fi
[ "$status" -eq 0 ] && [ "$failures" -eq 0 ]
