#!/usr/bin/env bash
# Output files cannot be turned against the user: symlinks planted at the exact names the span
# and profile files will have are not followed (the victim they point at is untouched and the
# shim writes beside them), the files are 0600, an output directory that is itself a symlink or
# is writable by all without the sticky bit is refused with one stderr line (the program runs
# on), and an over-long setting costs one stderr line and takes its default.
source "$(dirname "$0")/lib.sh"

make_site
port=$(free_port)
start_python "$port" "$WORK/site" bare
H=$PROGS/hostile
echo "do not touch" >"$WORK/victim"
chmod 644 "$WORK/victim"

# --- planted symlinks: bash's pid is the program's once it execs (sigprof works the CPU long
# enough to be sampled).
mkdir -m 1777 "$OUT"
bash -c 'for s in traces.jsonl 0.pb.gz 1.pb.gz; do ln -s "$1" "$2/hostile.$$.$s"; done
	exec env LD_PRELOAD="$3" RINGSIDE_OUTPUT_DIR="$2" RINGSIDE_PROFILE=cpu "$4" sigprof "$5"' \
	_ "$WORK/victim" "$OUT" "$SHIM" "$H" "$port" >"$WORK/stdout" 2>"$WORK/err" ||
	fail "the program failed: $(cat "$WORK/err")"
[[ $(tail -1 "$WORK/stdout") == ok ]] || fail "unexpected output: $(cat "$WORK/stdout")"
[[ $(cat "$WORK/victim") == "do not touch" && $(stat -c %a "$WORK/victim") == 644 ]] ||
	fail "the file behind a planted symlink changed"
links=$(find "$OUT" -type l | wc -l)
[[ $links == 3 ]] || fail "planted symlinks: $links left of 3"
find "$OUT" -type l -delete # the checker would read the victim through them
spans=$(find "$OUT" -type f -name 'hostile.*.traces.jsonl')
[[ $(echo "$spans" | grep -c .) == 1 ]] || fail "expected one span file beside the symlink: $(ls -l "$OUT")"
"${CHECK[@]}" validate "$OUT" >/dev/null || fail "output is not valid OTLP/JSON"
expect_spans 3 --kind client --tcp
[[ -n $(find "$OUT" -type f -name 'hostile.*.pb.gz') ]] || fail "no profile file beside the symlinks"
for f in $(find "$OUT" -type f); do
	[[ $(stat -c %a "$f") == 600 ]] || fail "$f is $(stat -c %a "$f"), not 600"
done
[[ ! -s $WORK/err ]] || fail "stderr: $(cat "$WORK/err")"

# --- an output directory that is a symlink (to a directory the user could write), or writable by
# all without the sticky bit: refused in one line, nothing written, the program unaffected.
mkdir -m 1777 "$WORK/real"
ln -s "$WORK/real" "$WORK/linked"
mkdir "$WORK/open"
chmod 777 "$WORK/open"
for dir in "$WORK/linked" "$WORK/open"; do
	env LD_PRELOAD="$SHIM" RINGSIDE_OUTPUT_DIR="$dir" "$H" threads "$port" 5 r >"$WORK/stdout" 2>"$WORK/err" ||
		fail "the program failed with $dir: $(cat "$WORK/err")"
	[[ $(tail -1 "$WORK/stdout") == ok ]] || fail "$dir: unexpected output: $(cat "$WORK/stdout")"
	[[ -z $(find "$WORK/real" "$WORK/open" -mindepth 1) ]] ||
		fail "$dir: something was written: $(find "$WORK/real" "$WORK/open" -mindepth 1)"
	[[ $(grep -c "RINGSIDE_OUTPUT_DIR $dir" "$WORK/err") == 1 ]] ||
		fail "$dir: expected one line saying why: $(cat "$WORK/err")"
done

# --- over-long values: one line each, the defaults used, the program unaffected.
rm -rf "$OUT"
long=$(head -c 5000 /dev/zero | tr '\0' x)
env LD_PRELOAD="$SHIM" RINGSIDE_OUTPUT_DIR="$OUT" OTEL_SERVICE_NAME="$long" \
	OTEL_EXPORTER_OTLP_HEADERS="a=$long" "$H" threads "$port" 2 r >"$WORK/stdout" 2>"$WORK/err" ||
	fail "the program failed with over-long settings: $(cat "$WORK/err")"
[[ $(grep -c 'OTEL_SERVICE_NAME=.* is longer than' "$WORK/err") == 1 &&
	$(grep -c 'OTEL_EXPORTER_OTLP_HEADERS=.* is longer than' "$WORK/err") == 1 &&
	$(grep -c . "$WORK/err") == 2 ]] || fail "expected one line per over-long setting: $(cat "$WORK/err")"
[[ $(wc -L <"$WORK/err") -lt 300 ]] || fail "a complaint repeats the whole value"
grep -q '"unknown_service:hostile"' "$OUT"/hostile.*.traces.jsonl || fail "the default service name was not used"
stop_python
echo PASS
