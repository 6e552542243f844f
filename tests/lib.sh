# tests/lib.sh — what every tests/cli*.sh shares: a temporary directory removed on exit,
# PASS/FAIL/SKIP lines (counted by tests/run.sh), and the check for a clean refusal.
XLSTM=${XLSTM:-build/xlstm}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

failures=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1"; failures=$((failures + 1)); }
# skip NAME WHY: the test cannot run in this build or on this system; counted apart from passes
skip() { echo "SKIP $1: $2"; }

# expect_ok NAME CMD...: exit 0
expect_ok() {
    name=$1; shift
    if "$@" > "$tmp/out" 2>&1; then pass "$name"; else fail "$name"; cat "$tmp/out"; fi
}

# expect_error NAME PATTERN CMD...: a non-zero exit that is not a crash (signal), and exactly
# one line on stderr matching PATTERN
expect_error() {
    name=$1; pattern=$2; shift 2
    "$@" > "$tmp/out" 2> "$tmp/err" < /dev/null
    rc=$?
    if [ $rc -ne 0 ] && [ $rc -lt 128 ] && [ "$(wc -l < "$tmp/err")" -eq 1 ] && grep -q -- "$pattern" "$tmp/err"; then
        pass "$name"
    else
        fail "$name"; echo "  exit $rc, stderr:"; cat "$tmp/err"
    fi
}

# sigint_after METRICS STEP DONE_PATTERN LOG SECONDS CMD...: run CMD in the background (stderr
# to LOG), send SIGINT once METRICS has the line of STEP, wait (at most SECONDS) for
# DONE_PATTERN in LOG, else kill it; rc is its exit status
sigint_after() {
    metrics=$1; step=$2; done_pattern=$3; log=$4; limit=$5; shift 5
    "$@" > /dev/null 2> "$log" &
    pid=$!
    wait_until "$limit" grep -qs "^$step," "$metrics"
    kill -INT $pid
    wait_until "$limit" grep -q "$done_pattern" "$log" || kill -9 $pid
    wait $pid
    rc=$?
}

# tiny_fixture BYTES: $tmp/text.txt, the first BYTES of the bundled corpus, and $tmp/tiny.json,
# the model of the training tests (D 32, 2 blocks, sLSTM at block 1, 2 heads)
tiny_fixture() {
    head -c "$1" data/moby_dick.txt > "$tmp/text.txt"
    cat > "$tmp/tiny.json" <<'EOF'
{"vocab_size": 256, "embedding_dim": 32, "num_blocks": 2, "slstm_at": [1],
 "mlstm_block": {"mlstm": {"num_heads": 2}},
 "slstm_block": {"slstm": {"num_heads": 2}, "feedforward": {"proj_factor": 1.3}}}
EOF
}

# last_line_error NAME PATTERN CMD...: exit 1 and the last stderr line matches PATTERN (for
# verbs that print a line of progress, such as train's summary of the run, before failing)
last_line_error() {
    name=$1; pattern=$2; shift 2
    "$@" > "$tmp/out" 2> "$tmp/err" < /dev/null
    rc=$?
    if [ $rc -eq 1 ] && tail -1 "$tmp/err" | grep -q -- "$pattern"; then pass "$name"; else fail "$name"; echo "  exit $rc"; cat "$tmp/err"; fi
}

# wait_until SECONDS CMD...: run CMD every 0.01 s (a short poll: some tests must act within
# a few training steps) until it succeeds; fails after about SECONDS
wait_until() {
    limit=$(($1 * 100)); shift
    i=0
    until "$@"; do
        [ $i -ge $limit ] && return 1
        sleep 0.01
        i=$((i + 1))
    done
}
