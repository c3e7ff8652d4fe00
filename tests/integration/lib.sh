# Shared by the integration tests: a scratch directory, the shim, servers on free ports, and the
# OTLP checker. A test exits 0 pass, 1 fail, 77 skip (ctest counts a skip as not passed and
# scripts/test fails on it).
set -euo pipefail

RS_SRC=${RS_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
RS_BUILD=${RS_BUILD:-$RS_SRC/build}
# SHIM is what goes in LD_PRELOAD; SHIM_LIB is the library file (for readelf, nm, test -r).
SHIM_LIB=$RS_BUILD/libringside.so
SHIM=$SHIM_LIB
PROGS=$RS_BUILD/tests
# Debian's python3: the http.server peer and the checker (scripts/deps test installs it).
PYTHON=${PYTHON:-/usr/bin/python3}
[[ -x $PYTHON ]] || PYTHON=$(command -v python3)
CHECK=("$PYTHON" "$RS_SRC/tests/integration/otlp_check.py")
WORK=$(mktemp -d /tmp/ringside-test.XXXXXX)
chmod 755 "$WORK"
OUT=$WORK/out
RS_PIDS=()

# Commands a test adds with at_exit run first at exit (the EXIT trap is lib.sh's).
RS_AT_EXIT=()
at_exit() {
	RS_AT_EXIT+=("$1")
}

cleanup() {
	local pid cmd
	for cmd in "${RS_AT_EXIT[@]}"; do
		eval "$cmd" || true
	done
	for pid in "${RS_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	if [[ ${RS_KEEP:-0} == 1 ]]; then
		echo "kept $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT

# ASan mode (RS_SANITIZE=address, an address build's ctest): the shim is built with
# -fsanitize=address,undefined, so its runtimes are preloaded first. Every traced program
# (python3, nginx, tests/progs, bash, strace) runs with the sanitized shim, except curl, which
# deadlocks at start under libasan (glibc's setlocale lock, with no shim at all): a static
# stand-in first in PATH runs it under the plain shim of build/ (RS_PLAIN_SHIM). Sanitizer
# reports go to files in $SAN_LOGS; any file there fails the test (the EXIT trap below), whatever
# the program that wrote it did with its exit status. Leak detection is off: the traced programs
# (python3, nginx, curl's libraries) leak at exit by design and the shim keeps process-lifetime
# state on purpose; growth is what scripts/soak measures.
if [[ ${RS_SANITIZE:-} == address ]]; then
	RS_PLAIN_SHIM=${RS_PLAIN_SHIM:-$RS_SRC/build/libringside.so}
	[[ -f $RS_PLAIN_SHIM ]] || fail "ASan mode runs curl under the plain shim: no $RS_PLAIN_SHIM (scripts/build build)"
	[[ -x $RS_BUILD/tests/unsan/curl ]] || fail "no $RS_BUILD/tests/unsan/curl: build first"
	export RS_PLAIN_SHIM
	SAN_LOGS=$WORK/sanitizer
	mkdir -p "$SAN_LOGS"
	chmod 777 "$SAN_LOGS"
	SHIM="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so):$SHIM_LIB"
	export ASAN_OPTIONS="verify_asan_link_order=0:detect_leaks=0:log_path=$SAN_LOGS/asan:handle_segv=1:allow_user_segv_handler=1"
	export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$SAN_LOGS/ubsan"
	PATH=$RS_BUILD/tests/unsan:$PATH
	echo "ASan mode: sanitized shim ($SHIM_LIB) in every traced program but curl; curl runs under the plain shim $RS_PLAIN_SHIM"
	san_check() {
		local rc=$? f
		for f in "$SAN_LOGS"/*; do
			[[ -e $f ]] || continue
			echo "FAIL: sanitizer report $f:" >&2
			cat "$f" >&2
			rc=1
		done
		# GCC 12's UBSan, combined with ASan, ignores log_path and writes to stderr: look for its
		# reports in whatever the test captured (stderr files under $WORK), not in span output.
		for f in $(grep -rlsI --exclude='*.jsonl' --exclude='*.pb.gz' --exclude-dir=sanitizer \
			-e ': runtime error: ' -e 'UndefinedBehaviorSanitizer' -e 'AddressSanitizer' "$WORK"); do
			echo "FAIL: sanitizer report in $f:" >&2
			grep -B2 -A20 -e ': runtime error: ' -e 'Sanitizer' "$f" | head -60 >&2
			rc=1
		done
		cleanup
		exit "$rc"
	}
	trap san_check EXIT
fi

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

skip() {
	echo "SKIP: $*" >&2
	exit 77
}

need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || skip "$c is not installed (scripts/deps test installs it)"
	done
}

[[ -f $SHIM_LIB ]] || fail "no $SHIM_LIB: build first"

free_port() {
	"$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Waits until something listens on TCP port $1, without connecting (a probe connection would be
# traced by the server and change the counts the tests check).
wait_listen() {
	local hex i
	hex=$(printf '%04X' "$1")
	for i in $(seq 200); do
		if awk -v p=":$hex" '$2 ~ p"$" && $4 == "0A" {f=1} END {exit !f}' /proc/net/tcp /proc/net/tcp6 2>/dev/null; then
			return 0
		fi
		sleep 0.05
	done
	fail "nothing listens on port $1"
}

# Runs a command under the shim, writing into $OUT (extra VAR=value settings may come first).
traced() {
	env LD_PRELOAD="$SHIM" RINGSIDE_OUTPUT_DIR="$OUT" "$@"
}

# The executable name the python server's spans carry (process.executable.name).
python_exe() {
	"$PYTHON" -c 'import os, sys; print(os.path.basename(os.path.realpath(sys.executable)))'
}

# Starts a command under the shim in the background; BG_PID is the command's own pid (the
# subshell execs it), so signals reach it.
traced_bg() {
	(exec env LD_PRELOAD="$SHIM" RINGSIDE_OUTPUT_DIR="$OUT" "$@") &
	BG_PID=$!
	RS_PIDS+=("$BG_PID")
}

# python_server PORT DIR LOG [PREFIX...]: `python3 -m http.server` serving DIR on PORT, run
# through PREFIX (e.g. env VAR=value...), its output in $WORK/LOG.log. Sets PY_PID.
python_server() {
	local port=$1 dir=$2 log=$3
	shift 3
	(cd "$dir" && exec "$@" "$PYTHON" -m http.server --bind 127.0.0.1 "$port") >"$WORK/$log.log" 2>&1 &
	PY_PID=$!
	RS_PIDS+=("$PY_PID")
	wait_listen "$port"
}

# Starts `python3 -m http.server` serving $2 on port $1, under the shim unless $3 is "bare".
# Sets PY_PID. Stop it with stop_python (SIGINT: Python exits cleanly, so the shim flushes).
start_python() {
	if [[ ${3:-traced} == bare ]]; then
		python_server "$1" "$2" python
	else
		python_server "$1" "$2" python env LD_PRELOAD="$SHIM" RINGSIDE_OUTPUT_DIR="$OUT"
	fi
}

# sigint_wait PID WHAT [SECONDS]: SIGINT (Python exits cleanly, so the shim flushes), then at most
# SECONDS (5: the tests' RINGSIDE_FLUSH_TIMEOUT_MS is 2000 at most, plus start-up slack).
sigint_wait() {
	kill -INT "$1"
	local i
	for i in $(seq $((${3:-5} * 20))); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.05
	done
	fail "$2 did not exit within ${3:-5} s of SIGINT"
}

stop_python() {
	sigint_wait "$PY_PID" "python http.server"
}

# serve_site LOG [VAR=value...]: python3 -m http.server serving $WORK/site under the shim with
# those settings, its output in $WORK/LOG.log. Sets PORT and PY_PID (stop it with sigint_wait).
serve_site() {
	local log=$1
	shift
	PORT=$(free_port)
	python_server "$PORT" "$WORK/site" "$log" env LD_PRELOAD="$SHIM" RINGSIDE_OUTPUT_DIR="$OUT" "$@"
}

# requests N: N requests for /index.html on $PORT from a bare curl, each of which must succeed.
requests() {
	local i
	for i in $(seq "$1"); do
		curl -sS -o /dev/null "http://127.0.0.1:$PORT/index.html" || fail "request $i failed"
	done
}

# otlp_chain NAME [VAR=value...]: three requests, curl -> python3 -m http.server (serving
# $WORK/site), both under the shim exporting with RINGSIDE_EXPORTER=otlp and those settings; stops
# python. Fails when either says a word of ringside on stderr or the file exporter wrote anything.
otlp_chain() {
	local name=$1 port
	shift
	port=$(free_port)
	(cd "$WORK/site" && exec env LD_PRELOAD="$SHIM" RINGSIDE_OUTPUT_DIR="$OUT" RINGSIDE_EXPORTER=otlp \
		"$@" "$PYTHON" -m http.server --bind 127.0.0.1 "$port") >"$WORK/$name.python.log" 2>&1 &
	PY_PID=$!
	RS_PIDS+=("$PY_PID")
	wait_listen "$port"
	local url=http://127.0.0.1:$port/index.html
	env LD_PRELOAD="$SHIM" RINGSIDE_OUTPUT_DIR="$OUT" RINGSIDE_EXPORTER=otlp "$@" \
		curl -sS -o /dev/null -o /dev/null -o /dev/null "$url" "$url" "$url" 2>"$WORK/$name.curl.log" ||
		fail "$name: curl failed"
	stop_python
	[[ ! -e $OUT ]] || [[ -z $(ls "$OUT") ]] || fail "$name: the file exporter wrote $(ls "$OUT")"
	! grep -q ringside "$WORK/$name.python.log" "$WORK/$name.curl.log" ||
		fail "$name: the shim complained: $(grep ringside "$WORK/$name.python.log" "$WORK/$name.curl.log")"
}

# nginx_conf FILE WORKERS CONNECTIONS ACCESS_LOG SERVER...: an nginx configuration in $WORK/nginx
# for tests, whose server block holds the SERVER directives. As root its workers drop to www-data
# (when that user exists), as a packaged nginx's do; NGINX_USER says which user they run as.
nginx_conf() {
	local file=$1 workers=$2 conns=$3 access=$4
	shift 4
	NGINX_USER=""
	if [[ $(id -u) == 0 ]] && id www-data >/dev/null 2>&1; then
		NGINX_USER=www-data
	fi
	mkdir -p "$WORK/nginx/tmp"
	cat >"$file" <<CONF
${NGINX_USER:+user $NGINX_USER;}
worker_processes $workers;
pid ${file%.conf}.pid;
error_log $WORK/nginx/error.log;
events { worker_connections $conns; }
http {
	access_log $access;
	client_body_temp_path $WORK/nginx/tmp/body;
	proxy_temp_path $WORK/nginx/tmp/proxy;
	fastcgi_temp_path $WORK/nginx/tmp/fastcgi;
	uwsgi_temp_path $WORK/nginx/tmp/uwsgi;
	scgi_temp_path $WORK/nginx/tmp/scgi;
	server {
		$*
	}
}
CONF
}

# A directory with a small page to serve.
# make_test_certs: in C=$WORK/certs, made with the openssl CLI: CAs "ca" and "other" (NAME.pem,
# NAME.key); "server" (ca's, for localhost, 127.0.0.1 and ::1), "elsewhere" (ca's, for
# collector.example) and "client" (ca's, a client certificate for mutual TLS).
make_test_certs() {
	need openssl
	C=$WORK/certs
	mkdir -p "$C"
	_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
	_ca() { # _ca NAME
		_key "$C/$1.key"
		openssl req -x509 -new -key "$C/$1.key" -out "$C/$1.pem" -days 2 -subj "/CN=ringside test $1" \
			2>/dev/null || fail "openssl: cannot make CA $1"
	}
	_leaf() { # _leaf NAME CA SAN [USAGE]
		_key "$C/$1.key"
		openssl req -new -key "$C/$1.key" -out "$C/$1.csr" -subj "/CN=$1" 2>/dev/null
		printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=%s\n' "$3" "${4:-serverAuth}" >"$C/$1.ext"
		openssl x509 -req -in "$C/$1.csr" -CA "$C/$2.pem" -CAkey "$C/$2.key" -CAcreateserial \
			-out "$C/$1.pem" -days 2 -extfile "$C/$1.ext" 2>/dev/null || fail "openssl: cannot sign $1"
	}
	_ca ca
	_ca other
	_leaf server ca "DNS:localhost,IP:127.0.0.1,IP:::1"
	_leaf elsewhere ca "DNS:collector.example"
	_leaf client ca "DNS:ringside-client" clientAuth
}

make_site() {
	mkdir -p "$WORK/site"
	echo "hello from ringside's tests" >"$WORK/site/index.html"
	chmod -R a+rX "$WORK/site"
}

expect_spans() {
	"${CHECK[@]}" expect "$OUT" "$@" || fail "span check failed: $*"
}

# The exporters' test peers (tests/peers): node servers decoding with other projects' code.
PEERS=$RS_SRC/tests/peers
PEER_CHECK=("$PYTHON" "$RS_SRC/tests/integration/peer_check.py")
need_peers() {
	need node
	[[ -d $PEERS/node_modules ]] || fail "no $PEERS/node_modules: scripts/deps test installs it"
}

# start_peer NAME SCRIPT [FLAGS...]: runs tests/peers/SCRIPT logging to $WORK/NAME.jsonl; sets
# PEER_PID, GRPC and HTTP from the line it prints once it listens.
start_peer() {
	local name=$1 script=$2 i line
	shift 2
	node "$PEERS/$script" --out "$WORK/$name.jsonl" "$@" >"$WORK/$name.stdout" 2>"$WORK/$name.stderr" &
	PEER_PID=$!
	RS_PIDS+=("$PEER_PID")
	for i in $(seq 200); do
		line=$(head -1 "$WORK/$name.stdout" 2>/dev/null || true) # the shell may not have created it yet
		if [[ $line =~ ^listening\ grpc=([0-9]+)\ http=([0-9]+)$ ]]; then
			GRPC=${BASH_REMATCH[1]}
			HTTP=${BASH_REMATCH[2]}
			return 0
		fi
		kill -0 "$PEER_PID" 2>/dev/null || fail "$script $* exited: $(cat "$WORK/$name.stderr")"
		sleep 0.05
	done
	fail "$script $* did not start"
}

stop_peer() {
	kill "$PEER_PID"
	wait "$PEER_PID" 2>/dev/null || true
	[[ ! -s $WORK/$1.stderr ]] || fail "the peer complained: $(cat "$WORK/$1.stderr")"
}

# Waits until FILE holds at least N lines (messages a peer received), up to $3 seconds (10).
wait_lines() {
	local file=$1 n=$2 secs=${3:-10} i
	for i in $(seq $((secs * 20))); do
		[[ -f $file && $(wc -l <"$file") -ge $n ]] && return 0
		sleep 0.05
	done
	fail "$file has $( [[ -f $file ]] && wc -l <"$file" || echo 0) lines, expected $n"
}
