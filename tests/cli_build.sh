#!/bin/sh
# tests/cli_build.sh — the Makefile's configuration stamp: objects built in a directory by a
# make that found no BLAS are rebuilt by the next make that finds it (not linked beside the
# new ones), they then use it, and a make that changes nothing compiles nothing. Two small
# objects in a scratch build directory, with this machine's default compiler.
. tests/lib.sh
# a make of its own, not a part of the make that runs the tests
unset MAKEFLAGS MFLAGS MAKELEVEL
B=$tmp/b
OBJS="$B/f32/src/build_info.o $B/f32/src/error.o"
# mk NAME ARGS...: make the two objects with ARGS; its output in $tmp/NAME.out
mk() {
    out=$tmp/$1.out; shift
    make --no-print-directory BUILD="$B" "$@" config $OBJS > "$out" 2>&1 || { cat "$out"; return 1; }
}
# compiled FILE: how many of the two objects the make of FILE compiled
compiled() { grep -c -e ' -c src/build_info\.c ' -e ' -c src/error\.c ' "$1"; }
# blas_in_object: build_info.o calls OpenBLAS
blas_in_object() { nm "$B/f32/src/build_info.o" | grep -q ' U openblas_get_corename$'; }

if mk none BLAS=none && ! blas_in_object && mk none_again BLAS=none &&
    [ "$(compiled "$tmp/none.out")" -eq 2 ] && [ "$(compiled "$tmp/none_again.out")" -eq 0 ]; then
    pass build_same_config_compiles_nothing
else
    fail build_same_config_compiles_nothing; cat "$tmp/none_again.out"
fi
if ! mk auto BLAS=auto; then
    fail build_blas_found_rebuilds_all
elif ! grep -q "BLAS=openblas" "$tmp/auto.out"; then
    skip build_blas_found_rebuilds_all "make finds no BLAS here"
elif [ "$(compiled "$tmp/auto.out")" -eq 2 ] && grep -q "configuration in .* changed" "$tmp/auto.out" && blas_in_object; then
    pass build_blas_found_rebuilds_all
else
    fail build_blas_found_rebuilds_all; cat "$tmp/auto.out" "$B/config.stamp"
fi
exit 0
