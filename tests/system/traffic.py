#!/usr/bin/env python3
"""The old name of "tests/peer.py traffic", kept only for
tests/system/percon.sh, which still calls $GUEST_LIBEXEC/traffic.py;
remove it once percon.sh says peer.py traffic. It runs beside peer.py
(in the guest, where tests/system/boot.sh copies both) or here."""
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [here, os.path.dirname(here)]
import peer  # noqa: E402

sys.exit(peer.main(["traffic"] + sys.argv[1:]))
