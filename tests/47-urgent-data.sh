#!/usr/bin/env bash
# Goal of this test: urgent data (send() with MSG_OOB: telnet's Synch,
# FTP's ABOR) neither stops the stream nor makes the instance spin.
# splice() stops at the urgent mark, with or without SO_OOBINLINE, and
# says EAGAIN there (0, as at an EOF, once a FIN follows), while poll()
# keeps reporting the socket readable: a relay that only splices spins at
# 100% CPU, and takes the client's FIN for the end of a stream it cut at
# the mark. Through systemd-socket-activate, each way: 1000 bytes, an
# urgent byte, 1000 bytes; instance CPU under 5% while they wait at the
# receiver, every byte delivered in order with the urgent one inline, then
# three urgent bytes in a row; the record counts every byte and says FIN.
# Then 4 MiB each way at once with urgent bytes throughout, to readers
# that pause, so that marks meet full pipes.
# Modes: accept served
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

port=$(free_port) || exit 1
relay "$port" || exit 1
hostile "urgent data each way: no spin, every byte inline, in order" \
	urgent --log "$T/relay.log"
check "no instance left running" no_instances
finish
