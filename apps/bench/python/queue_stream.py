"""multiprocessing.Queue stream: P producer processes put N objects in total into one Queue,
C consumer processes get() until they see a sentinel. Timed from the start signal to the last
consumer's report. Prints messages per second."""
import time
from common import ctx, maker, emit, arg


def producer(q, ready, go, count, kind):
    make = maker(kind)
    ready.put(1)
    go.wait()
    put = q.put
    for i in range(count):
        put(make(i))
    # exiting joins the queue's feeder thread, so everything is in the pipe when we are gone


def consumer(q, ready, done):
    ready.put(1)
    get = q.get
    c = 0
    while True:
        if get() is None:
            break
        c += 1
    done.put(c)


def main():
    n = arg("n", cast=int)
    kind = arg("payload", "small")
    P = arg("producers", 1, int)
    C = arg("consumers", 1, int)
    n = (n // P) * P
    q = ctx.Queue()
    ready, done, go = ctx.SimpleQueue(), ctx.SimpleQueue(), ctx.Event()
    cs = [ctx.Process(target=consumer, args=(q, ready, done)) for _ in range(C)]
    ps = [ctx.Process(target=producer, args=(q, ready, go, n // P, kind)) for _ in range(P)]
    for p in cs + ps:
        p.start()
    for _ in range(P + C):
        ready.get()
    t0 = time.perf_counter()
    go.set()
    for p in ps:
        p.join()
    for _ in range(C):
        q.put(None)
    got = sum(done.get() for _ in range(C))
    elapsed = time.perf_counter() - t0
    for p in cs:
        p.join()
    if got != n:
        raise SystemExit("consumers got %d of %d" % (got, n))
    emit(n / elapsed, unit="msgs/s", n=n)


if __name__ == "__main__":
    main()
