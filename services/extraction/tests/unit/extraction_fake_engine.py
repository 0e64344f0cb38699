"""A stand-in engine process speaking engine_child's protocol; what it does depends on the document:
b"crash" → dies by SIGSEGV, b"sleep" → hangs, b"raise" → reports a crash, anything else → answers
with its own pid."""

from __future__ import annotations

import json
import os
import signal
import sys
import time

from fieldstone.extraction.adapters.engine_child import REPLY, REQUEST


def main() -> None:
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    while True:
        header = requests.read(REQUEST.size)
        if len(header) < REQUEST.size:
            return
        json_len, data_len = REQUEST.unpack(header)
        requests.read(json_len)
        data = requests.read(data_len)
        if data == b"crash":
            os.kill(os.getpid(), signal.SIGSEGV)
        if data == b"sleep":
            time.sleep(60)
        reply = (
            {"crash": "ValueError: boom"}
            if data == b"raise"
            else {"ok": {"extractedData": {"pid": os.getpid()}}}
        )
        encoded = json.dumps(reply).encode()
        replies.write(REPLY.pack(len(encoded)) + encoded)
        replies.flush()


if __name__ == "__main__":
    main()
