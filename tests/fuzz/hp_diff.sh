#!/usr/bin/env bash
# Differential check of the HTTP/1.x parser: builds tests/fuzz/hp_diff.c with preload/http_parse.c
# as it is and as it was at REV (default: main), runs both over the inputs (default: the fuzz seeds
# plus build-fuzz/corpus/http_parse when scripts/test has fuzzed), and fails when any report differs.
# For restructuring the parser: the split tests prove it agrees with itself, this that it agrees
# with the parser it replaces. Not run by ctest (it needs the git history).
# Usage: tests/fuzz/hp_diff.sh [REV [INPUT...]]
set -euo pipefail
cd "$(dirname "$0")/../.."
rev=${1:-main}
shift || true
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/old"
git show "$rev:preload/http_parse.c" >"$work/old/http_parse.c"
for h in $(git ls-tree --name-only "$rev" preload/ | grep -E '^preload/http_.*\.h$'); do
	git show "$rev:$h" >"$work/old/${h#preload/}" # the parser's own headers, as they were
done
cp preload/rs.h "$work/old/"
cc -O1 -std=gnu11 -Ipreload -o "$work/new" tests/fuzz/hp_diff.c preload/http_parse.c
# The old parser with its own header, the driver's include of the header redirected to it.
sed 's|"../unit/hp_driver.h"|"hp_driver.h"|' tests/fuzz/hp_diff.c >"$work/old/hp_diff.c"
sed 's|"../../preload/http_parse.h"|"http_parse.h"|' tests/unit/hp_driver.h >"$work/old/hp_driver.h"
cc -O1 -std=gnu11 -I"$work/old" -Ipreload -o "$work/oldbin" "$work/old/hp_diff.c" "$work/old/http_parse.c"
inputs=("$@")
if ((${#inputs[@]} == 0)); then
	inputs=(tests/fuzz/corpus/http_parse/*)
	[[ -d build-fuzz/corpus/http_parse ]] && inputs+=(build-fuzz/corpus/http_parse/*)
fi
"$work/new" "${inputs[@]}" >"$work/new.out"
"$work/oldbin" "${inputs[@]}" >"$work/old.out"
if ! cmp -s "$work/old.out" "$work/new.out"; then
	diff -a "$work/old.out" "$work/new.out" | head -40 >&2
	echo "hp_diff: the parser reports differently from $rev's (above: < $rev, > now)" >&2
	exit 1
fi
echo "hp_diff: ${#inputs[@]} inputs, every report the same as at $rev"
