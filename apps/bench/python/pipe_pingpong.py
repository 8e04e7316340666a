"""multiprocessing.Pipe() (duplex) ping-pong between this process and one forked child:
send an object, the child recv()s it and send()s it back. Prints µs per round trip."""
import time
from common import ctx, maker, emit, arg


def echo(conn):
    while True:
        m = conn.recv()
        if m is None:
            break
        conn.send(m)


def main():
    n = arg("n", cast=int)
    warmup = arg("warmup", 0, int)
    make = maker(arg("payload", "small"))
    parent, child = ctx.Pipe()
    p = ctx.Process(target=echo, args=(child,))
    p.start()
    send, recv = parent.send, parent.recv
    for i in range(warmup):
        send(make(i))
        recv()
    t0 = time.perf_counter()
    for i in range(n):
        send(make(i))
        recv()
    elapsed = time.perf_counter() - t0
    send(None)
    p.join()
    emit(elapsed / n * 1e6, unit="us")


if __name__ == "__main__":
    main()
