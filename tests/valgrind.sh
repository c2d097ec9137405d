#!/usr/bin/env bash
# Goal of this test: v6fwd is clean under valgrind's memcheck. A subset of
# the integration tests runs with V6FWD pointing at a wrapper that execs
# v6fwd under valgrind (the same process, so LISTEN_PID still matches):
# echo, 64 MiB integrity, half-close, idle timeout, SIGTERM, target errors,
# hostile backends (resets both ways among them). 04-reset.sh is left out:
# its client resets 0.3 s after connecting, before v6fwd under valgrind is
# up, so the instance rightly finds the connection gone. Every instance must leave a log with 0 errors
# and no definite leak, and the tests themselves must still pass. Not part
# of tests/run (valgrind is slow); CI runs it on its own: tests/valgrind.sh.
set -u
cd "$(dirname "$0")/.." || exit 1
if ! command -v valgrind >/dev/null; then
	echo "SKIP: valgrind: not installed (apt-get install valgrind)"
	[ "${CI:-}" = true ] && { echo "0 passed, 1 failed"; exit 1; }
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
fi
logs=$(mktemp -d /tmp/v6fwd-valgrind.XXXXXX)
trap 'rm -rf "$logs"' EXIT
cat >"$logs/v6fwd" <<WRAP
#!/bin/sh
exec valgrind -q --error-exitcode=99 --leak-check=full \\
	--errors-for-leak-kinds=definite --track-fds=no \\
	--log-file="$logs/vg.%p.log" "$PWD/v6fwd" "\$@"
WRAP
chmod +x "$logs/v6fwd"
passed=0 failed=0

for t in tests/01-echo.sh tests/02-integrity.sh tests/03-half-close.sh \
	tests/05-target-errors.sh tests/06-timeouts.sh tests/07-sigterm.sh \
	tests/42-hostile-backends.sh; do
	echo "== $t under valgrind"
	out=$(V6FWD="$logs/v6fwd" timeout 600 bash "$t" 2>&1)
	rc=$?
	echo "$out" | grep -E '^(PASS|FAIL|SKIP): '
	p=$(grep -c '^PASS: ' <<<"$out")
	f=$(grep -c '^FAIL: ' <<<"$out")
	((rc != 0 && f == 0)) && f=1
	passed=$((passed + p))
	failed=$((failed + f))
done

# With -q memcheck writes only its findings, as "==PID==" lines; valgrind's
# own notes ("--PID-- WARNING: unhandled syscall", for the seccomp and
# Landlock calls it cannot emulate) are not memcheck errors.
n=$(find "$logs" -name 'vg.*.log' | wc -l)
bad=$(grep -lE '^==[0-9]+==' "$logs"/vg.*.log 2>/dev/null | wc -l)
if ((n > 0 && bad == 0)); then
	echo "PASS: memcheck: $n instances, 0 errors, no definite leaks"
	passed=$((passed + 1))
else
	echo "FAIL: memcheck: $bad of $n instance logs report errors"
	grep -hE '^==[0-9]+==' "$logs"/vg.*.log | head -n 80
	failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
((failed == 0))
