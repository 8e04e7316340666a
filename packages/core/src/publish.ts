/**
 * Items a realm has put but not yet published. A `Queue.put` appends its encoded item to a
 * per-realm outbox and returns; the outbox is published to shared memory under one lock a few
 * microtasks later (after a burst of puts), so a tight producer pays one lock and one wake-up
 * per batch instead of per item — Python's `multiprocessing.Queue` feeder thread, without a
 * thread. To keep "put, then signal" ordered, everything that waits or signals (a wait, a
 * release, `Event.set`, a task's end) publishes first.
 */

/** Something with items to publish. */
export interface Publisher {
  /** Publishes what it can now; returns the number of items still pending. */
  publish(): number;
}

const pending = new Set<Publisher>();
let pendingItems = 0;
let scheduled = false;
let lastSeen = -1;
let hops = 0;

/** The most microtask turns a batch may wait for more items. */
const MAX_HOPS = 64;

// A resolved promise's then() is the cheapest microtask everywhere (Node's queueMicrotask adds async-hook bookkeeping).
const resolved = Promise.resolve();
const queueMicrotask_ = (fn: () => void): void => void resolved.then(fn);

function tick(): void {
  // While the producer keeps adding, wait another turn; once it pauses (or the batch is old), publish.
  if (pendingItems > lastSeen && hops < MAX_HOPS) {
    lastSeen = pendingItems;
    hops++;
    queueMicrotask_(tick);
    return;
  }
  scheduled = false;
  publishAll();
}

/** Notes one more pending item of `publisher` (`first`: it had none) and makes sure it will be published soon. */
export function addPending(publisher: Publisher, first: boolean): void {
  // Only a publisher's first pending item enters the set (a Set lookup per put adds up).
  if (first) pending.add(publisher);
  pendingItems++;
  if (!scheduled) {
    scheduled = true;
    lastSeen = -1;
    hops = 0;
    queueMicrotask_(tick);
  }
}

/** Publishes every pending item of this realm, in the order the publishers first had some. */
let publishing = false;

export function publishAll(): void {
  if (pendingItems === 0 || publishing) return;
  publishing = true;
  try {
    let left = 0;
    for (const p of pending) {
      const rest = p.publish();
      if (rest === 0) pending.delete(p);
      left += rest;
    }
    pendingItems = left;
  } finally {
    publishing = false;
  }
}

/** Whether anything waits to be published. */
export function hasPending(): boolean {
  return pendingItems > 0;
}
