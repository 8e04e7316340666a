"""multiprocessing.Pool(2). --mode apply: N no-op tasks submitted at once with apply_async,
then every result waited for → tasks/s. --mode map: Pool.map(identity, range(N)) with its
default chunking (chunksize = ceil(N / (4 * workers))) → items/s. Pool start-up and a warm-up
round are not timed."""
import time
from common import ctx, emit, arg


def noop():
    return None


def identity(x):
    return x


def main():
    mode = arg("mode")
    workers = arg("workers", 2, int)
    n = arg("n", cast=int)
    warmup = arg("warmup", 0, int)
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
