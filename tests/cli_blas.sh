#!/bin/sh
# tests/cli_blas.sh — the OpenBLAS kernel set: a user's OPENBLAS_CORETYPE is respected and
# reported as theirs (a generic fallback included), and where OpenBLAS's own detection falls
# back to generic kernels the program re-executes itself once with the set for the CPU's
# vectors and says so (xlstm version, the bench header). The detection that fails is played
# by a preloaded openblas_get_corename (tests/fake_corename.c): the CPUs OpenBLAS does not
# recognize are not this machine's.
. tests/lib.sh
check() { name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; cat "$tmp/out"; fi; }
has() { grep -q -- "$1" "$tmp/out"; }

"$XLSTM" version > "$tmp/out" 2>&1
if ! has "OpenBLAS ("; then
    # a build without OpenBLAS: the variable changes nothing
    OPENBLAS_CORETYPE=Prescott "$XLSTM" version > "$tmp/out" 2>&1
    check blas_none_unaffected has "portable C matmul (no BLAS)"
    exit 0
fi
# OpenBLAS's own choice on this machine's CPU is never narrower than its vectors
check blas_default_own_choice has "kernels: OpenBLAS's own choice for this CPU's"
check blas_default_suits_cpu sh -c '! grep -q "xlstm would choose" "$1"' sh "$tmp/out"

# the user's choice, even a generic fallback, is kept and named as theirs (in any case)
OPENBLAS_CORETYPE=Prescott "$XLSTM" version > "$tmp/out" 2>&1
check blas_user_fallback_kept has "OpenBLAS (Prescott kernels: OPENBLAS_CORETYPE=Prescott, the user's choice"
OPENBLAS_CORETYPE=nehalem "$XLSTM" version > "$tmp/out" 2>&1
check blas_user_choice_kept has "OpenBLAS (Nehalem kernels: OPENBLAS_CORETYPE=nehalem, the user's choice"

fake="$(cd "$(dirname "$XLSTM")" && pwd)/tests/fake_corename.so"
# (an ASan build checks that its runtime comes first among the libraries)
preload() { ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 LD_PRELOAD="$fake" timeout 120 "$@"; }
if grep -q "for this CPU's \(AVX\|AVX2\|AVX-512\))" "$tmp/out"; then
    # the fallback detected: one re-execution (a loop would run into the timeout) with the
    # set for the CPU, reported with the reason
    for empty in "" "set empty"; do
        if [ -n "$empty" ]; then export OPENBLAS_CORETYPE=; else unset OPENBLAS_CORETYPE; fi
        preload "$XLSTM" version > "$tmp/out" 2>&1
        check "blas_fallback_replaced${empty:+ ($empty)}" \
            has "OpenBLAS ([A-Za-z]* kernels: chosen by xlstm for this CPU's [-A-Z0-9]*, as OpenBLAS's own detection gave Prescott)"
    done
    unset OPENBLAS_CORETYPE
    check blas_fallback_replaced_by_wider sh -c '! grep -q "(Prescott kernels" "$1"' sh "$tmp/out"
    # the re-executed program gets its arguments: the bench runs and names the choice
    preload "$XLSTM" bench micro --seconds 0.05 --threads 1 > "$tmp/out" 2>&1
    check blas_fallback_replaced_bench sh -c 'grep -q "^xlstm.c bench: .*chosen by xlstm" "$1" && grep -q "^micro *generate" "$1"' sh "$tmp/out"
    # the user's fallback is theirs even where the detection failed too
    OPENBLAS_CORETYPE=Prescott preload "$XLSTM" version > "$tmp/out" 2>&1
    check blas_user_fallback_kept_on_unknown_cpu \
        has "OpenBLAS (Prescott kernels: OPENBLAS_CORETYPE=Prescott, the user's choice; xlstm would choose"
else
    skip blas_fallback_replaced "this CPU has no AVX: no set wider than OpenBLAS's fallback"
fi
