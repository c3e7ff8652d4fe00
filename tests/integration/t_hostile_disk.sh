#!/usr/bin/env bash
# A full disk under the file exporter (a 64 KiB tmpfs as RINGSIDE_OUTPUT_DIR): the program runs
# on unaffected, the failure costs one stderr line per file (not one per batch), every span
# is either in a complete line of the file or counted as lost in the exit summary, and no
# profile file is left cut short.
source "$(dirname "$0")/lib.sh"

[[ $(id -u) == 0 ]] || skip "mounting a small tmpfs needs root"
mkdir -p "$WORK/full"
mount -t tmpfs -o size=64k,mode=1777 tmpfs "$WORK/full" || skip "cannot mount a tmpfs here"
at_exit 'umount "$WORK/full" 2>/dev/null || umount -l "$WORK/full"'

make_site
port=$(free_port)
start_python "$port" "$WORK/site" bare
env LD_PRELOAD="$SHIM" RINGSIDE_OUTPUT_DIR="$WORK/full" RINGSIDE_PROFILE=cpu,wait \
	RINGSIDE_PROFILE_INTERVAL_S=1 "$PROGS/hostile" threads "$port" 3000 r \
	>"$WORK/stdout" 2>"$WORK/err" || fail "the program failed on a full disk: $(cat "$WORK/err")"
[[ $(tail -1 "$WORK/stdout") == ok ]] || fail "unexpected output: $(cat "$WORK/stdout")"
[[ $(grep -c 'traces.jsonl failed: No space left on device' "$WORK/err") == 1 ]] ||
	fail "expected one line about the span file: $(cat "$WORK/err")"
# One line per profile file at most; a slow run (a loaded machine, ASan) spans more than one
# 1 s interval, so more than one file.
[[ -z $(grep -o '[^ ]*pb.gz failed' "$WORK/err" | sort | uniq -d) ]] ||
	fail "more than one line about a profile file: $(cat "$WORK/err")"
# A profile the disk cut short is removed, not left as a file pprof cannot read.
for f in "$WORK"/full/*.pb.gz; do
	[[ -e $f ]] || continue
	gzip -t "$f" 2>/dev/null || fail "a cut-short profile file was left: $(ls -l "$f")"
done
read -r lost recorded < <(sed -n 's/.*: \([0-9]*\) spans lost of \([0-9]*\) recorded.*/\1 \2/p' "$WORK/err")
[[ -n ${recorded:-} && $recorded -ge 6002 ]] || fail "no loss summary for 6002 spans: $(cat "$WORK/err")"
# Spans in complete lines: a line the disk cut short is not one.
written=$("$PYTHON" - "$WORK/full" <<'PY'
import glob, json, sys
n = 0
for path in glob.glob(sys.argv[1] + "/*.traces.jsonl"):
    for line in open(path, "rb").read().split(b"\n"):
        try:
            req = json.loads(line)
        except ValueError:
            continue
        for rs in req["resourceSpans"]:
            for ss in rs["scopeSpans"]:
                n += len(ss["spans"])
print(n)
PY
)
[[ $((written + lost)) == "$recorded" ]] ||
	fail "$written spans written and $lost counted as lost, but $recorded recorded"
stop_python
echo PASS
