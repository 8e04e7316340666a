"""Lock acquire+release, ns per pair. --kind mp: multiprocessing.Lock (a POSIX semaphore);
--kind threading: threading.Lock. --threads 1: one loop in this process. --threads 2: two
forked processes (mp) or two threads (threading, so the GIL is part of the picture) each loop
acquire; counter += 1; release, timed from the start signal until both are done."""
import threading
import time
from common import ctx, emit, arg


def loop(lock, counter, n):
    acquire, release = lock.acquire, lock.release
    for _ in range(n):
        acquire()
        counter.value += 1
        release()


class Box:
    value = 0


def worker(lock, counter, n, warmup, ready, go, done):
    loop(lock, counter, warmup)
    ready.put(1)
    go.wait()
    loop(lock, counter, n)
    done.put(1)


def main():
    kind = arg("kind")
    threads = arg("threads", 1, int)
    n = arg("n", cast=int)
    warmup = arg("warmup", 0, int)
    lock = ctx.Lock() if kind == "mp" else threading.Lock()
    if threads == 1:
        acquire, release = lock.acquire, lock.release
        for _ in range(warmup):
            acquire()
            release()
        t0 = time.perf_counter()
        for _ in range(n):
            acquire()
            release()
        emit((time.perf_counter() - t0) / n * 1e9, unit="ns")
        return
    if kind == "mp":
        counter = ctx.RawValue("q", 0)  # shared memory, no lock of its own
        ready, done, go = ctx.SimpleQueue(), ctx.SimpleQueue(), ctx.Event()
        spawn = lambda: ctx.Process(target=worker, args=(lock, counter, n, warmup, ready, go, done))
    else:
        import queue
        counter = Box()
        ready, done, go = queue.SimpleQueue(), queue.SimpleQueue(), threading.Event()
        spawn = lambda: threading.Thread(target=worker, args=(lock, counter, n, warmup, ready, go, done))
    ws = [spawn() for _ in range(threads)]
    for w in ws:
        w.start()
    for _ in ws:
        ready.get()
    t0 = time.perf_counter()
    go.set()
    for _ in ws:
        done.get()
    elapsed = time.perf_counter() - t0
    for w in ws:
        w.join()
    expected = threads * (n + warmup)
    if counter.value != expected:
        raise SystemExit("mutual exclusion broken: %d != %d" % (counter.value, expected))
    emit(elapsed / (threads * n) * 1e9, unit="ns")


if __name__ == "__main__":
    main()
