#!/usr/bin/env bash
# Goal of this test: no byte is lost or corrupted. 64 MiB of pseudo-random
# data go each way at the same time (full duplex); both ends check the
# SHA-256 of what they received against what the other end sent.
# Modes: accept served
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

size=$((64 * 1024 * 1024))
backend duplex --arg "$size" || exit 1
relay "$BACKEND_PORT" || exit 1
check "64 MiB target->client intact" client duplex --arg "$size"
expected=$(python3 -c "import sys; sys.path.insert(0, '$TOP/tests'); import peer; print(peer.stream_hash(1, $size))")
check "64 MiB client->target intact" wait_until 100 grep -q "received $size $expected eof" "$T/report"
check "byte counts logged" log_has "$size bytes from client, $size bytes from target"
check "no instance left running" no_instances
finish
