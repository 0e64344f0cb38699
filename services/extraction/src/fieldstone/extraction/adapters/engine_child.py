"""The engine's own process: `python -m fieldstone.extraction.adapters.engine_child [memory MiB]`.

PDFium and OCR are native code fed with hostile documents. Running them here, one process per
worker slot, means a segfault, a runaway allocation or an endless page kills this process only:
the worker sees it die, counts an attempt and starts a fresh one.

Protocol over stdin/stdout, one request at a time:
  request  = struct ">IQ" (JSON length, document length) + JSON {variables, pages, filename, maxPages} + bytes
  reply    = struct ">I" (JSON length) + JSON, one of
             {"ok": ExtractionOutput.to_dict()} | {"error": {"code", "message"}} | {"crash": "..."}
Replies are JSON, never pickle, so a compromised engine cannot run code in the worker.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
import struct
import sys
from typing import Any, BinaryIO

REQUEST = struct.Struct(">IQ")
REPLY = struct.Struct(">I")


def _die_with_parent() -> None:
    """Linux: get SIGKILL when the worker dies, so no engine outlives a killed worker."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL


def _limit_memory(mib: int) -> None:
    if mib > 0:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = mib * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard if hard != resource.RLIM_INFINITY else limit))


def _read_exactly(stream: BinaryIO, n: int) -> bytes | None:
    data = stream.read(n)
    return data if len(data) == n else None


def serve(requests: BinaryIO, replies: BinaryIO) -> None:
    from fieldstone.extract import ExtractError, extract

    while True:
        header = _read_exactly(requests, REQUEST.size)
        if header is None:
            return  # the worker closed the pipe (or died)
        json_len, data_len = REQUEST.unpack(header)
        body, data = _read_exactly(requests, json_len), _read_exactly(requests, data_len)
        if body is None or data is None:
            return
        request = json.loads(body)
        reply: dict[str, Any]
        try:
            out = extract(
                data,
                request["variables"],
                pages=request.get("pages"),
                filename=request.get("filename"),
                max_pages=int(request["maxPages"]),
            )
            reply = {"ok": out.to_dict()}
        except ExtractError as exc:
            reply = {"error": {"code": exc.code, "message": exc.message}}
        except MemoryError:
            reply = {"crash": "the engine ran out of memory"}
        except Exception as exc:  # a bug or a document the engine chokes on: let the worker decide
            reply = {"crash": f"{type(exc).__name__}: {exc}"[:500]}
        encoded = json.dumps(reply, default=str).encode()
        replies.write(REPLY.pack(len(encoded)) + encoded)
        replies.flush()
        if "crash" in reply:
            return  # after a crash this process's state is suspect: let the worker start a new one


def main() -> None:
    _die_with_parent()
    _limit_memory(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    # The protocol owns the real stdout; anything the libraries print goes to stderr (the log).
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    serve(sys.stdin.buffer, replies)


if __name__ == "__main__":
    main()
