"""multiprocessing.Pool(2). --mode apply: N no-op tasks submitted at once with apply_async,
then every result waited for → tasks/s. --mode map: Pool.map(identity, range(N)) with its
default chunking (chunksize = ceil(N / (4 * workers))) → items/s. --mode cpu: N tasks hashing
--bytes bytes with SHA-256 (hashlib: OpenSSL, as Node's crypto), submitted at once → tasks/s;
--mode cpu-scaling: the same on 1 worker, then on --workers → speed-up / workers, in %.
Pool start-up and a warm-up round are not timed."""
import hashlib
import time
from common import ctx, emit, arg

_buffer = None


def hash_task(size):
    global _buffer
    if _buffer is None or len(_buffer) != size:
        _buffer = bytes([7]) * size
    return hashlib.sha256(_buffer).hexdigest()[:8]


def cpu_rate(workers, n, warmup, size):
    with ctx.Pool(workers) as pool:
        for r in [pool.apply_async(hash_task, (size,)) for _ in range(max(warmup, 1))]:
            r.get()
        t0 = time.perf_counter()
        for r in [pool.apply_async(hash_task, (size,)) for _ in range(n)]:
            r.get()
        return n / (time.perf_counter() - t0)


def noop():
    return None


def identity(x):
    return x


def main():
    mode = arg("mode")
    workers = arg("workers", 2, int)
    n = arg("n", cast=int)
    warmup = arg("warmup", 0, int)
    if mode == "cpu":
        emit(cpu_rate(workers, n, warmup, arg("bytes", cast=int)), unit="tasks/s")
        return
    if mode == "cpu-scaling":
        size = arg("bytes", cast=int)
        one = cpu_rate(1, n, warmup, size)
        many = cpu_rate(workers, n, warmup, size)
        emit(100 * many / (one * workers), unit="% of linear", one_worker=one, workers=many)
        return
    with ctx.Pool(workers) as pool:
        if mode == "apply":
            for r in [pool.apply_async(noop) for _ in range(max(warmup, 1))]:
                r.get()
            t0 = time.perf_counter()
            for r in [pool.apply_async(noop) for _ in range(n)]:
                r.get()
            elapsed = time.perf_counter() - t0
            emit(n / elapsed, unit="tasks/s")
        else:
            pool.map(identity, range(max(warmup, 1)))
            t0 = time.perf_counter()
            out = pool.map(identity, range(n))
            elapsed = time.perf_counter() - t0
            assert len(out) == n
            emit(n / elapsed, unit="items/s")


if __name__ == "__main__":
    main()
