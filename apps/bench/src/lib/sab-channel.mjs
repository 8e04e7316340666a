// A one-slot SharedArrayBuffer channel for the reference ping-pongs: a sequence number that the
// two sides bump in turn, and one message slot. Used by both the main thread and the worker.
//
//   ctrl[0] seq   even: the main thread's turn to write; odd: the worker's turn. -1: stop.
//   ctrl[1] length of the message in the slot; ctrl[2] its encoding: 0 raw bytes, 1 v8.serialize
//
// codec 'payload': a Uint8Array is copied in and copied out as is; anything else goes through
// v8.serialize/deserialize (Node's structured-clone codec) — so each side gets its own copy, as
// with postMessage. codec 'none': only the sequence number moves (the signalling floor).
// mode 'wait': Atomics.wait/notify (the kernel futex); mode 'spin': busy-wait on Atomics.load.
import v8 from 'node:v8';

export const SLOT = 68 * 1024;
export const STOP = -1;
const TIMEOUT_MS = 20_000;

export function createChannelBuffer() {
  return new SharedArrayBuffer(64 + SLOT);
}

export function openChannel(sab, { mode, codec }) {
  const ctrl = new Int32Array(sab, 0, 16);
  const data = new Uint8Array(sab, 64, SLOT);

  const write = (msg) => {
    if (codec === 'none') return;
    if (msg instanceof Uint8Array) {
      data.set(msg);
      ctrl[1] = msg.length;
      ctrl[2] = 0;
    } else {
      const b = v8.serialize(msg);
      data.set(b);
      ctrl[1] = b.length;
      ctrl[2] = 1;
    }
  };
  const read = () => {
    if (codec === 'none') return undefined;
    const len = ctrl[1];
    return ctrl[2] === 0 ? data.slice(0, len) : v8.deserialize(data.subarray(0, len));
  };
  /** Blocks while ctrl[0] === value; returns the new value. */
  const waitChange =
    mode === 'wait'
      ? (value) => {
          let v;
          while ((v = Atomics.load(ctrl, 0)) === value) {
            if (Atomics.wait(ctrl, 0, value, TIMEOUT_MS) === 'timed-out') throw new Error('sab channel: peer silent for 20 s');
          }
          return v;
        }
      : (value) => {
          let v;
          let spins = 0;
          let since = 0;
          while ((v = Atomics.load(ctrl, 0)) === value) {
            if ((++spins & 0xfffff) === 0) {
              const now = performance.now();
              if (since === 0) since = now;
              else if (now - since > TIMEOUT_MS) throw new Error('sab channel: peer silent for 20 s');
            }
          }
          return v;
        };
  const publish = (value) => {
    Atomics.store(ctrl, 0, value);
    if (mode === 'wait') Atomics.notify(ctrl, 0);
  };
  return { ctrl, write, read, waitChange, publish };
}
