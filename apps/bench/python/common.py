"""Shared bits of the CPython subjects. Each script prints one JSON object on its last line:
{"value": <figure>, ...}. Payloads match src/lib/payloads.mjs."""
import json
import multiprocessing as mp
import sys

# Python's own default on Linux (3.11: fork). Pinned so the figures do not move when a newer
# Python changes its default (3.14 moved to forkserver); falls back where fork does not exist.
try:
    ctx = mp.get_context("fork")
except ValueError:
    ctx = mp.get_context()

BYTES = 64 * 1024
_BYTES = bytes(i & 255 for i in range(BYTES))


def small(i):
    return {"id": i, "text": "payload text #%d" % i}


def maker(kind):
    if kind == "small":
        return small
    if kind == "bytes":
        return lambda i: _BYTES
    raise SystemExit("unknown payload kind %r" % kind)


def emit(value, **extra):
    out = {"value": value, "python": sys.version.split()[0], "start_method": ctx.get_start_method()}
    out.update(extra)
    print(json.dumps(out), flush=True)


def arg(name, default=None, cast=str):
    """--name value from argv (tiny parser: the harness passes well-formed flags)."""
    flag = "--" + name
    if flag in sys.argv:
        return cast(sys.argv[sys.argv.index(flag) + 1])
    if default is None:
        raise SystemExit("missing " + flag)
    return default
