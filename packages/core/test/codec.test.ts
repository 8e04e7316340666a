import { afterEach, describe, expect, it, vi } from 'vitest';
import { Decoder, Encoder, marshal, registerReviver, type Marshalled, type Reviver } from '../src/codec/index.js';
import { DataCloneError, QueueEmptyError } from '../src/errors.js';
import * as handle from '../src/handle.js';

const encoder = new Encoder();
const decoder = new Decoder();

/** Encodes, then decodes from a copy placed at a nonzero offset of a SharedArrayBuffer, as a ring would hold it. */
function viaShared<T>(value: T, enc = encoder, dec = decoder): T {
  const bytes = enc.encode(value);
  const shared = enc.takeShared();
  const sab = new SharedArrayBuffer(bytes.length + 40);
  const ring = new Uint8Array(sab);
  ring.set(bytes, 24);
  const decoded = dec.decodeRange(ring, 24, 24 + bytes.length, shared) as T;
  ring.fill(0xee); // the ring slot is reused right away: the value must not depend on it
  return decoded;
}

/** Encodes and decodes a plain copy of the bytes. */
function roundTrip<T>(value: T): T {
  return decoder.decode(encoder.encode(value).slice()) as T;
}

/** Checks a value against what structuredClone makes of it, through both paths. */
function likeStructuredClone(value: unknown): void {
  const expected = structuredClone(value);
  expect(roundTrip(value)).toStrictEqual(expected);
  expect(viaShared(value)).toStrictEqual(expected);
}

describe('codec: primitives', () => {
  it('keeps every kind of number, including -0, NaN and the int/float boundaries', () => {
    const numbers = [
      0,
      -0,
      1,
      31,
      32,
      127,
      128,
      255,
      256,
      -1,
      -32,
      -33,
      -128,
      -129,
      32767,
      32768,
      -32768,
      -32769,
      2 ** 31 - 1,
      -(2 ** 31),
      2 ** 31,
      -(2 ** 31) - 1,
      2 ** 32,
      2 ** 53,
      Number.MAX_SAFE_INTEGER,
      Number.MIN_SAFE_INTEGER,
      Number.MAX_VALUE,
      Number.MIN_VALUE,
      Number.EPSILON,
      0.1,
      -1.5,
      1e300,
      NaN,
      Infinity,
      -Infinity,
    ];
    for (const n of numbers) {
      expect(Object.is(roundTrip(n), n), String(n)).toBe(true);
      expect(Object.is(viaShared(n), n), String(n)).toBe(true);
    }
  });

  it('writes small integers in one byte', () => {
    expect(encoder.encode(0).length).toBe(1);
    expect(encoder.encode(127).length).toBe(1);
    expect(encoder.encode(-32).length).toBe(1);
    expect(encoder.encode(200).length).toBe(2);
    expect(encoder.encode(-0).length).toBe(9);
  });

  it('keeps undefined, null, booleans and BigInts of any size and sign', () => {
    for (const v of [undefined, null, true, false, 0n, 1n, -1n, 255n, 256n, -(2n ** 63n), 2n ** 64n - 1n, -(3n ** 200n), 12345678901234567890123456789n]) {
      expect(roundTrip(v)).toBe(v);
      expect(viaShared(v)).toBe(v);
    }
  });

  it('keeps strings: empty, Latin-1, non-ASCII, emoji, a leading BOM, at every length around the fast paths', () => {
    const samples = [
      '',
      'a',
      'hello world 123',
      'naïve café',
      'ÿ'.repeat(40),
      '歌曲1',
      '第一首歌 🎵',
      '😀',
      '\uFEFFbom',
      '\u0000\u0001\u007f\u0080',
      'x\u2028y',
    ];
    for (const base of samples) {
      for (const len of [1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 5000]) {
        const s = base.repeat(Math.ceil(len / Math.max(base.length, 1))).slice(0, len);
        expect(roundTrip(s)).toBe(s);
        expect(viaShared(s)).toBe(s);
      }
    }
  });

  it('keeps lone surrogates, as structured clone does, in short and long strings', () => {
    const samples = [
      '\ud800',
      '\udc00',
      'a\ud83db',
      'x\ude00',
      '\udc00\ud800',
      '😀\ud800😀',
      `${'a'.repeat(200)}\ud800${'b'.repeat(200)}`,
      `${'歌'.repeat(100)}\udfff`,
    ];
    for (const s of samples) {
      expect(roundTrip(s)).toBe(s);
      expect(viaShared(s)).toBe(s);
      expect(structuredClone(s)).toBe(s);
    }
  });

  it('keeps strings of 1 MB and more: ASCII, Chinese and emoji, decoded from shared memory', () => {
    const ascii = 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(30000); // ~1.08 MB
    const chinese = '歌曲播放器线程'.repeat(160000); // 1.12 M chars, 3.4 MB of UTF-8
    const emoji = '🎵😀🚀'.repeat(200000);
    for (const s of [ascii, chinese, emoji]) {
      expect(s.length).toBeGreaterThanOrEqual(1_000_000);
      expect(viaShared(s) === s).toBe(true);
      expect(roundTrip({ s }).s === s).toBe(true);
    }
  });
});

describe('codec: objects and arrays', () => {
  it('keeps plain objects, nested, with any keys, in key order', () => {
    likeStructuredClone({ id: 123, text: 'hello world 123' });
    likeStructuredClone({ a: { b: { c: [1, { d: 'e' }] } }, '': 0, 'with space': 1, 歌: 2, 10: 'ten', 2: 'two', z: undefined });
    const o = { b: 1, a: 2, 1: 'x', 0: 'y' };
    expect(Object.keys(roundTrip(o))).toEqual(Object.keys(o));
  });

  it('reuses a shape within a message and across messages', () => {
    const list = Array.from({ length: 50 }, (_, i) => ({ id: i, name: `n${i}`, ok: i % 2 === 0 }));
    for (let round = 0; round < 10; round++) likeStructuredClone(list); // compiled constructors kick in after a few uses
    const one = encoder.encode([{ a: 1, b: 2 }]).length;
    const two = encoder.encode([
      { a: 1, b: 2 },
      { a: 1, b: 2 },
    ]).length;
    expect(two - one).toBe(4); // the second object: shape reference (2 bytes) and two values
  });

  it('keeps objects with many keys and with changing key sets', () => {
    const wide = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, i]));
    likeStructuredClone(wide);
    for (let i = 0; i < 200; i++) likeStructuredClone({ [`user${i}`]: i, [`x${i % 7}`]: [i] });
  });

  it('turns class instances and null-prototype objects into plain objects of their own enumerable properties', () => {
    class Point {
      constructor(
        public x: number,
        public y: number,
      ) {}
      get norm(): number {
        return Math.hypot(this.x, this.y);
      }
    }
    const p = roundTrip(new Point(3, 4));
    expect(p).toStrictEqual({ x: 3, y: 4 });
    expect(Object.getPrototypeOf(p)).toBe(Object.prototype);
    const bare = Object.assign(Object.create(null) as object, { a: 1 });
    likeStructuredClone(bare);
    expect(roundTrip({ [Symbol('s')]: 1, k: 2 })).toStrictEqual({ k: 2 });
  });

  it('keeps an own "__proto__" key as a property, without touching the prototype', () => {
    const o = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>;
    for (let i = 0; i < 8; i++) {
      const back = viaShared(o) as Record<string, unknown>;
      expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
      expect(Object.keys(back)).toEqual(['__proto__', 'a']);
      expect(Object.getOwnPropertyDescriptor(back, '__proto__')?.value).toEqual({ polluted: true });
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    }
  });

  it('keeps arrays: empty, dense, nested, with undefined, with holes, and sparse ones cheaply', () => {
    likeStructuredClone([]);
    likeStructuredClone([1, 'a', null, undefined, [2, [3]], { x: 1 }]);
    // biome-ignore lint/suspicious/noSparseArray: the holes are what this test keeps
    const holey = [1, , 3, , , undefined, ,];
    const back = viaShared(holey);
    expect(back.length).toBe(holey.length);
    expect(Object.keys(back)).toEqual(Object.keys(holey));
    expect(5 in back).toBe(true);
    const sparse: number[] = [];
    sparse[3] = 1;
    sparse[500_000] = 2;
    sparse[999_999] = 3;
    expect(encoder.encode(sparse).length).toBeLessThan(40);
    const s = viaShared(sparse);
    expect(s.length).toBe(1_000_000);
    expect(Object.keys(s)).toEqual(['3', '500000', '999999']);
    expect(s[500_000]).toBe(2);
  });
});

describe('codec: Map, Set, Date, RegExp, boxed primitives', () => {
  it('keeps Maps and Sets with any keys, in order', () => {
    likeStructuredClone(
      new Map<unknown, unknown>([
        [1, 'a'],
        ['b', { c: 2 }],
        [{ k: 1 }, [1]],
        [NaN, null],
        [-0, 0],
      ]),
    );
    likeStructuredClone(new Set<unknown>([1, 'a', { b: 2 }, [3], undefined]));
    likeStructuredClone({ m: new Map(), s: new Set() });
    class MyMap extends Map<string, number> {}
    const m = roundTrip(new MyMap([['x', 1]]));
    expect(m).toBeInstanceOf(Map);
    expect(m.get('x')).toBe(1);
  });

  it('keeps Dates (including invalid ones) and RegExps (source and flags; lastIndex resets)', () => {
    likeStructuredClone(new Date(1_700_000_000_123));
    expect(Number.isNaN(roundTrip(new Date(NaN)).getTime())).toBe(true);
    const re = /a(b+)c\/é/gimsuy;
    re.lastIndex = 3;
    const back = viaShared(re);
    expect(back).toBeInstanceOf(RegExp);
    expect(back.source).toBe(re.source);
    expect(back.flags).toBe(re.flags);
    expect(back.lastIndex).toBe(0);
  });

  it('keeps boxed primitives', () => {
    const boxed = [new Number(3), new String('s'), new Boolean(false), Object(5n) as object];
    const back = viaShared(boxed);
    expect(back.map((b) => typeof b)).toEqual(['object', 'object', 'object', 'object']);
    expect(back.map((b) => (b as { valueOf(): unknown }).valueOf())).toEqual([3, 's', false, 5n]);
  });
});

describe('codec: binary data', () => {
  const kinds = [
    Int8Array,
    Uint8Array,
    Uint8ClampedArray,
    Int16Array,
    Uint16Array,
    Int32Array,
    Uint32Array,
    Float32Array,
    Float64Array,
    BigInt64Array,
    BigUint64Array,
  ];

  it('keeps every typed array kind, its byteOffset and length, and the whole buffer, as structured clone does', () => {
    for (const Kind of kinds) {
      const buffer = new ArrayBuffer(64);
      const bytes = new Uint8Array(buffer);
      for (let i = 0; i < bytes.length; i++) bytes[i] = i * 7;
      const view = new Kind(buffer, 8, 3);
      const back = viaShared(view);
      const expected = structuredClone(view);
      expect(back).toBeInstanceOf(Kind);
      expect(back.byteOffset).toBe(8);
      expect(back.length).toBe(3);
      expect(back.buffer.byteLength).toBe(64);
      expect(back).toStrictEqual(expected);
      expect(new Uint8Array(back.buffer)).toStrictEqual(new Uint8Array(buffer));
    }
  });

  it('keeps DataViews and ArrayBuffers', () => {
    const buffer = new ArrayBuffer(16);
    new DataView(buffer).setFloat64(4, Math.PI, true);
    const dv = viaShared(new DataView(buffer, 4, 8));
    expect(dv).toBeInstanceOf(DataView);
    expect([dv.byteOffset, dv.byteLength, dv.buffer.byteLength]).toEqual([4, 8, 16]);
    expect(dv.getFloat64(0, true)).toBe(Math.PI);
    likeStructuredClone(new ArrayBuffer(0));
    likeStructuredClone(new Uint8Array([1, 2, 3]).buffer);
  });

  it('keeps views that share a buffer sharing one buffer', () => {
    const buffer = new ArrayBuffer(8);
    const [a, b, c] = viaShared([new Uint8Array(buffer), new Uint16Array(buffer, 2, 2), buffer]);
    expect(a!.buffer).toBe(b!.buffer);
    expect(b!.buffer).toBe(c);
    a![2] = 0xff;
    a![3] = 0xff;
    expect(b![0]).toBe(0xffff);
  });

  it('keeps resizable ArrayBuffers resizable', () => {
    const Resizable = ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer & { resizable: boolean; maxByteLength: number };
    let buffer: ArrayBuffer & { resizable: boolean; maxByteLength: number };
    try {
      buffer = new Resizable(4, { maxByteLength: 16 });
    } catch {
      return; // not in this runtime
    }
    if (!buffer.resizable) return;
    new Uint8Array(buffer).set([1, 2, 3, 4]);
    const back = viaShared(buffer) as typeof buffer;
    expect([back.resizable, back.byteLength, back.maxByteLength]).toEqual([true, 4, 16]);
    expect([...new Uint8Array(back)]).toEqual([1, 2, 3, 4]);
  });

  it('copies a 64 KiB Uint8Array out of shared memory into memory the result owns', () => {
    const data = new Uint8Array(65536).map((_, i) => (i * 31) & 255);
    const back = viaShared(data);
    expect(back.buffer).toBeInstanceOf(ArrayBuffer);
    expect(back.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    expect(back).toStrictEqual(data);
    expect(encoder.encode(data).length).toBeLessThanOrEqual(65536 + 24); // tag, kind, offset, length, padding to 8
  });

  it('reads a Node Buffer (a Uint8Array subclass) as input without aliasing it', () => {
    class Bytes extends Uint8Array {}
    const bytes = encoder.encode({ b: new Uint8Array([9, 8, 7]) });
    const input = new Bytes(bytes.length);
    input.set(bytes);
    const back = decoder.decode(input) as { b: Uint8Array };
    input.fill(0);
    expect([...back.b]).toEqual([9, 8, 7]);
  });
});

describe('codec: errors', () => {
  class PlayerError extends Error {
    code = 'E_PLAYER';
    track = '歌曲1';
  }

  it('keeps the class name, message, stack, code, fields and cause chain', () => {
    const original = new PlayerError('cannot play', { cause: new RangeError('bad volume', { cause: { level: 11 } }) });
    const back = viaShared({ error: original }).error as PlayerError;
    expect(back).toBeInstanceOf(Error);
    expect(back.name).toBe('PlayerError');
    expect(back.message).toBe('cannot play');
    expect(back.stack).toBe(original.stack!.replace(/^Error/, 'PlayerError'));
    expect(back.code).toBe('E_PLAYER');
    expect(back.track).toBe('歌曲1');
    const cause = back.cause as Error;
    expect(cause).toBeInstanceOf(RangeError);
    expect(cause.message).toBe('bad volume');
    expect(cause.cause).toEqual({ level: 11 });
  });

  it('rebuilds standard and threadkit error classes, so instanceof works', () => {
    for (const E of [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError]) {
      const back = roundTrip(new E('x'));
      expect(back).toBeInstanceOf(E);
      expect(back.name).toBe(E.name);
    }
    const q = viaShared(new QueueEmptyError('empty'));
    expect(q).toBeInstanceOf(QueueEmptyError);
    expect(q.code).toBe('ERR_QUEUE_EMPTY');
    const agg = roundTrip(new AggregateError([new TypeError('a')], 'all'));
    expect(agg).toBeInstanceOf(AggregateError);
    expect(agg.errors[0]).toBeInstanceOf(TypeError);
  });

  it('keeps the same error twice as one error', () => {
    const e = new Error('once');
    const [a, b] = viaShared([e, e]);
    expect(a).toBe(b);
  });
});

describe('codec: shared references and cycles', () => {
  it('decodes the same object twice as the same object', () => {
    const shared = { x: 1 };
    const arr = [1, 2];
    const back = viaShared({ a: shared, b: shared, list: [shared, arr, arr], m: new Map([['k', shared]]) });
    expect(back.a).toBe(back.b);
    expect(back.list[0]).toBe(back.a);
    expect(back.list[1]).toBe(back.list[2]);
    expect(back.m.get('k')).toBe(back.a);
  });

  it('decodes cycles as cycles: objects, arrays, Maps, Sets', () => {
    const o: Record<string, unknown> = { name: 'root' };
    o.self = o;
    o.child = { parent: o, siblings: [o] };
    const back = viaShared(o) as typeof o & { child: { parent: unknown; siblings: unknown[] } };
    expect(back.self).toBe(back);
    expect(back.child.parent).toBe(back);
    expect(back.child.siblings[0]).toBe(back);
    expect(Object.keys(back)).toEqual(['name', 'self', 'child']);

    const a: unknown[] = [1];
    a.push(a);
    const ab = viaShared(a);
    expect(ab[1]).toBe(ab);

    const m = new Map<string, unknown>();
    m.set('me', m);
    const s = new Set<unknown>();
    s.add(s);
    const [mb, sb] = viaShared([m, s]);
    expect(mb!.get('me')).toBe(mb);
    expect([...sb!][0]).toBe(sb);
  });

  it('keeps identity beyond the first 16 objects of a message', () => {
    const items = Array.from({ length: 100 }, (_, i) => ({ i }));
    const back = viaShared([...items, ...items.slice().reverse()]);
    for (let i = 0; i < 100; i++) expect(back[i]).toBe(back[199 - i]);
    const ring: { next?: unknown; i: number }[] = items.map((x) => ({ ...x }));
    for (const [i, node] of ring.entries()) node.next = ring[(i + 1) % ring.length];
    const rb = viaShared(ring[0]!) as { next: { i: number; next: unknown } };
    let node = rb;
    for (let i = 0; i < 100; i++) node = node.next as typeof rb;
    expect(node).toBe(rb);
  });
});

describe('codec: SharedArrayBuffers and the marshal hook', () => {
  class Counter {
    constructor(readonly memory: SharedArrayBuffer) {}
    get value(): number {
      return Atomics.load(new Int32Array(this.memory), 0);
    }
    [marshal](context?: unknown): Marshalled {
      return { type: 'test.Counter', data: { memory: this.memory, context } };
    }
  }
  registerReviver('test.Counter', (data: { memory: SharedArrayBuffer }) => new Counter(data.memory));

  it("refuses a reviver under a name threadkit's own objects travel under, and a malformed one", async () => {
    await import('../src/lock.js');
    expect(() => registerReviver('Lock', () => ({}))).toThrow(
      /threadkit's own Lock travels under that name; give your type a name of its own, such as "myapp.Lock"/,
    );
    expect(() => registerReviver('', () => ({}))).toThrow(TypeError);
    expect(() => registerReviver('test.NotAFunction', 42 as never)).toThrow(TypeError);
  });

  it('sends SharedArrayBuffers beside the bytes and shares them on the other side', () => {
    const sab = new SharedArrayBuffer(16);
    const enc = new Encoder();
    const bytes = enc.encode({ sab, again: sab, ints: new Int32Array(sab, 4, 2) });
    const shared = enc.takeShared();
    expect(shared).toEqual([sab]);
    expect(enc.takeShared()).toEqual([]);
    const back = decoder.decode(bytes, shared) as { sab: SharedArrayBuffer; again: SharedArrayBuffer; ints: Int32Array };
    expect(back.sab).toBe(sab);
    expect(back.again).toBe(sab);
    expect(back.ints.buffer).toBe(sab);
    back.ints[0] = 42;
    expect(new Int32Array(sab)[1]).toBe(42);
    expect(() => decoder.decode(bytes)).toThrow(/SharedArrayBuffer #0.*takeShared/);
  });

  it('marshals threadkit-like objects into handles that revive, once per object, with the contexts', () => {
    const counter = new Counter(new SharedArrayBuffer(4));
    Atomics.store(new Int32Array(counter.memory), 0, 7);
    const enc = new Encoder({ context: 'to-thread-2' });
    const bytes = enc.encode({ a: counter, b: counter, list: [counter] });
    const shared = enc.takeShared();
    expect(shared).toHaveLength(1);
    const seen: unknown[] = [];
    const dec = new Decoder({
      context: 'from-thread-1',
      revivers: new Map<string, Reviver>([
        [
          'test.Counter',
          (data: { memory: SharedArrayBuffer; context: unknown }, context) => {
            seen.push(data.context, context);
            return new Counter(data.memory);
          },
        ],
      ]),
    });
    const back = dec.decode(bytes, shared) as { a: Counter; b: Counter; list: Counter[] };
    expect(back.a).toBeInstanceOf(Counter);
    expect(back.a).toBe(back.b);
    expect(back.list[0]).toBe(back.a);
    expect(back.a.memory).toBe(counter.memory);
    expect(back.a.value).toBe(7);
    expect(seen).toEqual(['to-thread-2', 'from-thread-1']);
    // The module-level registry, through the ring.
    expect(viaShared({ c: counter }, enc).c).toBeInstanceOf(Counter);
  });

  it('refuses marshalled data that refers back to the object it describes', () => {
    const loop: Record<PropertyKey, unknown> = {};
    loop[marshal] = () => ({ type: 'test.Counter', data: { me: loop } });
    expect(() => encoder.encode({ loop }, 'args')).toThrow(/^args\.loop\.<test\.Counter data>\.me: a reference from marshalled data back/);
  });

  it('exposes the shared list of the last payload without clearing it', () => {
    const enc = new Encoder();
    const sab = new SharedArrayBuffer(8);
    enc.encode([sab]);
    expect(enc.shared).toEqual([sab]);
    expect(enc.takeShared()).toEqual([sab]);
    expect(enc.shared).toEqual([]);
    enc.encode([sab]);
    enc.encode([1]);
    expect(enc.takeShared()).toEqual([]); // each encode starts a new list
  });

  it('is one hook with the marshalling of args: one symbol, one registry of revivers', () => {
    expect(handle.MARSHAL).toBe(marshal);
    const endpoint = {} as Parameters<typeof handle.revive>[1];
    // A type registered for args is found by a Decoder, and one registered with the codec by revive().
    handle.registerReviver('test.ArgsOnly', (data) => ({ arg: data }));
    expect(roundTrip({ x: { [marshal]: () => ({ type: 'test.ArgsOnly', data: 5 }) } })).toEqual({ x: { arg: 5 } });
    const counter = new Counter(new SharedArrayBuffer(4));
    const sent = handle.marshal([counter], { shared: true, endpoint }) as unknown[];
    expect(sent[0]).not.toBe(counter);
    const [back] = handle.revive(sent, endpoint) as [Counter];
    expect(back).toBeInstanceOf(Counter);
    expect(back.memory).toBe(counter.memory);
  });

  it('says which reviver is missing', () => {
    const odd = { [marshal]: () => ({ type: 'test.Unknown', data: 1 }) };
    expect(() => roundTrip([odd])).toThrow(DataCloneError);
    expect(() => roundTrip([odd])).toThrow(/no reviver is registered.*"test\.Unknown"/);
  });
});

describe('codec: values that cannot be sent', () => {
  const cases: [unknown, string, RegExp][] = [
    [{ item: { cb: function cb() {} } }, 'value.item.cb', /value\.item\.cb: function cb cannot be sent/],
    [[1, 2, Symbol('s')], 'value[2]', /value\[2\]: symbol/],
    [{ m: new Map([['k', { w: new WeakMap() }]]) }, 'value.m.get("k").w', /WeakMap/],
    [{ s: new Set([1, () => 1]) }, 'value.s.<item 1>', /function/],
    [{ p: Promise.resolve() }, 'value.p', /Promise \(await it first\)/],
    [{ 'odd key': [{ ref: new WeakRef({}) }] }, 'value["odd key"][0].ref', /WeakRef/],
    [new Map([[Symbol.iterator, 1]]), 'value.<key 0>', /symbol/],
    [{ file: new Blob(['x']) }, 'value.file', /Blob \(a host object the codec cannot carry\)/],
  ];

  it('throws DataCloneError naming the path and what is there', () => {
    for (const [value, path, message] of cases) {
      let error: unknown;
      try {
        encoder.encode(value);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(DataCloneError);
      expect((error as DataCloneError).path).toBe(path);
      expect((error as DataCloneError).message).toMatch(message);
    }
  });

  it('starts the path at the root name given, and the encoder keeps working after a failure', () => {
    expect(() => encoder.encode([0, { f: Math.max }], 'args')).toThrow(/^args\[1\]\.f: function max cannot be sent to another thread/);
    expect(() => encoder.encode(() => 1, 'item')).toThrow(/^item: function/);
    expect(roundTrip({ ok: [1, 2] })).toEqual({ ok: [1, 2] });
  });
});

describe('codec: the encoder and decoder API', () => {
  it('encode() returns a view of the reusable scratch buffer; encodeToScratch() and copyTo() avoid the view', () => {
    const enc = new Encoder({ initialSize: 64 });
    const first = enc.encode('first');
    const copy = first.slice();
    enc.encode('second');
    expect(first.buffer).toBe(enc.scratch.buffer); // reused...
    expect(decoder.decode(copy)).toBe('first'); // ...so callers copy it out before the next call
    const n = enc.encodeToScratch({ big: 'x'.repeat(10_000) }); // grows past its initial size
    expect(n).toBe(enc.byteLength);
    const target = new Uint8Array(n + 10);
    expect(enc.copyTo(target, 10)).toBe(n);
    expect(decoder.decodeRange(target, 10, 10 + n)).toEqual({ big: 'x'.repeat(10_000) });
    expect(() => enc.copyTo(new Uint8Array(4))).toThrow(RangeError);
  });

  it('refuses to be reentered from a getter or a reviver', () => {
    const enc = new Encoder();
    const sneaky = {
      get x() {
        return enc.encode(1);
      },
    };
    expect(() => enc.encode(sneaky)).toThrow(/called again while it was encoding/);
    expect(enc.encode('fine').length).toBe(5);
    const dec: Decoder = new Decoder({ revivers: new Map<string, Reviver>([['test.Reenter', (): unknown => dec.decode(new Uint8Array([1]))]]) });
    expect(() => dec.decode(encoder.encode({ [marshal]: () => ({ type: 'test.Reenter', data: null }) }))).toThrow(/called again while it was decoding/);
    expect(dec.decode(new Uint8Array([7]))).toBe(7);
  });

  it('refuses corrupt or truncated payloads with a RangeError', () => {
    const bytes = encoder.encode({ id: 1, text: 'hello', list: [1, 2, 3] }).slice();
    expect(() => decoder.decode(bytes.subarray(0, bytes.length - 1))).toThrow(RangeError);
    expect(() => decoder.decode(new Uint8Array([...bytes, 0]))).toThrow(/left over/);
    expect(() => decoder.decode(new Uint8Array([0xbf]))).toThrow(/unknown tag/);
    expect(() => decoder.decode(new Uint8Array([0xad, 0]))).toThrow(/reference/);
    expect(() => decoder.decodeRange(bytes, 2, 1)).toThrow(RangeError);
    expect(decoder.decode(bytes)).toEqual({ id: 1, text: 'hello', list: [1, 2, 3] }); // and keeps working
  });

  it('decodes a message from any encoder: each message is self-describing', () => {
    const a = new Encoder();
    const b = new Encoder();
    const shared = new Decoder();
    a.encode({ x: 1, y: 2 }); // a has defined this shape before...
    const fromA = a.encode([{ x: 3, y: 4 }]).slice();
    b.encode({ y: 0 });
    const fromB = b.encode([{ x: 5, y: 6 }, { y: 7 }]).slice();
    expect(shared.decode(fromB)).toEqual([{ x: 5, y: 6 }, { y: 7 }]); // ...yet any decoder reads its messages, in any order
    expect(shared.decode(fromA)).toEqual([{ x: 3, y: 4 }]);
  });
});

describe('codec: a property test against structuredClone', () => {
  /** Mulberry32: a small seeded PRNG, so a failure reproduces. */
  function rng(seed: number): () => number {
    return () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  function arbitrary(random: () => number, depth: number, pool: object[]): unknown {
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const int = (n: number) => Math.floor(random() * n);
    const str = () => {
      const alphabet = ['a', 'b', 'Z', ' ', 'é', 'ÿ', '歌', '曲', '😀', '\ud800', '\udc00', '\u0000', '"', '\\'];
      let s = '';
      for (let i = int(random() < 0.1 ? 200 : 20); i > 0; i--) s += pick(alphabet);
      return s;
    };
    const kind = depth > 3 ? int(6) : int(14);
    switch (kind) {
      case 0:
        return pick([0, -0, 1, -1, 127, 128, -33, 65535, 2 ** 40, 0.5, NaN, Infinity, -Infinity, int(1e9) - 5e8]);
      case 1:
        return str();
      case 2:
        return pick([true, false, null, undefined]);
      case 3:
        return BigInt(int(1e9)) * (random() < 0.5 ? -(2n ** BigInt(int(100))) : 1n);
      case 4:
        return pool.length && random() < 0.5 ? pick(pool) : new Date(int(2e12));
      case 5:
        return random() < 0.5 ? new Uint8Array(int(40)).map(() => int(256)) : new Float64Array([random(), -0, NaN]);
      case 6:
      case 7:
      case 8: {
        const o: Record<string, unknown> = {};
        pool.push(o);
        for (let i = int(6); i > 0; i--) o[random() < 0.3 ? str() : pick(['id', 'name', 'value', 'next', '0', '1'])] = arbitrary(random, depth + 1, pool);
        return o;
      }
      case 9:
      case 10: {
        const a: unknown[] = [];
        pool.push(a);
        for (let i = int(8); i > 0; i--) a.push(arbitrary(random, depth + 1, pool));
        if (random() < 0.2) a[a.length + int(5)] = 1; // holes
        return a;
      }
      case 11: {
        const m = new Map<unknown, unknown>();
        pool.push(m);
        for (let i = int(4); i > 0; i--) m.set(arbitrary(random, depth + 1, pool), arbitrary(random, depth + 1, pool));
        return m;
      }
      case 12: {
        const s = new Set<unknown>();
        pool.push(s);
        for (let i = int(4); i > 0; i--) s.add(arbitrary(random, depth + 1, pool));
        return s;
      }
      default:
        return pool.length ? pick(pool) : /x+/g; // shared references and cycles
    }
  }

  /** Compares shapes of identity: the same object at the same places. */
  function identityMap(value: unknown, seen = new Map<object, number>(), out: number[] = []): number[] {
    if (typeof value !== 'object' || value === null) return out;
    if (seen.has(value)) {
      out.push(seen.get(value)!);
      return out;
    }
    seen.set(value, seen.size);
    out.push(-1);
    if (value instanceof Map) for (const [k, v] of value) identityMap(v, seen, identityMap(k, seen, out));
    else if (value instanceof Set) for (const v of value) identityMap(v, seen, out);
    else if (!ArrayBuffer.isView(value)) for (const k of Object.keys(value)) identityMap((value as Record<string, unknown>)[k], seen, out);
    return out;
  }

  it('round-trips 2000 random values like structuredClone, identity and cycles included', () => {
    const random = rng(20261126);
    const enc = new Encoder({ initialSize: 64 });
    const dec = new Decoder();
    for (let i = 0; i < 2000; i++) {
      const value = arbitrary(random, 0, []);
      const expected = structuredClone(value);
      const back = viaShared(value, enc, dec);
      expect(back).toStrictEqual(expected);
      expect(identityMap(back)).toEqual(identityMap(expected));
    }
    // About a second alone; far more when the machine runs every package's tests at once.
  }, 60_000);
});

describe('codec: hosts without some features', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.resetModules();
  });

  it('decodes long strings from shared memory where TextDecoder refuses shared views (browsers)', async () => {
    const Real = TextDecoder;
    class BrowserLikeTextDecoder extends Real {
      override decode(input?: AllowSharedBufferSource, options?: TextDecodeOptions): string {
        if (input && ArrayBuffer.isView(input) && input.buffer instanceof SharedArrayBuffer)
          throw new TypeError('The provided ArrayBufferView value must not be shared.');
        return super.decode(input, options);
      }
    }
    vi.stubGlobal('TextDecoder', BrowserLikeTextDecoder);
    vi.resetModules();
    const codec = await import('../src/codec/index.js');
    const s = `${'歌曲'.repeat(50_000)}end`;
    expect(viaShared({ s }, new codec.Encoder(), new codec.Decoder()).s === s).toBe(true);
  });

  it('works without TextEncoder and TextDecoder', async () => {
    vi.stubGlobal('TextEncoder', undefined);
    vi.stubGlobal('TextDecoder', undefined);
    vi.resetModules();
    const codec = await import('../src/codec/index.js');
    const s = `${'ascii '.repeat(20_000)}歌曲😀\ud800`;
    expect(viaShared({ s }, new codec.Encoder(), new codec.Decoder()).s === s).toBe(true);
  });

  it('falls back from compiled constructors when new Function is forbidden (a CSP without unsafe-eval)', async () => {
    vi.resetModules();
    const codec = await import('../src/codec/index.js');
    const RealFunction = Function;
    let attempts = 0;
    // biome-ignore lint/complexity/useArrowFunction: it stands in for Function, which the codec calls with new
    const forbidden = function () {
      attempts++;
      throw new EvalError('Refused to evaluate a string as JavaScript');
    } as unknown as FunctionConstructor;
    vi.stubGlobal('Function', forbidden);
    try {
      const enc = new codec.Encoder();
      const dec = new codec.Decoder();
      for (let i = 0; i < 20; i++) expect(dec.decode(enc.encode({ id: i, text: 'x' }))).toEqual({ id: i, text: 'x' });
    } finally {
      vi.stubGlobal('Function', RealFunction);
    }
    expect(attempts).toBe(1); // tried once, then never again
    const plain = new codec.Decoder({ compile: false });
    const enc = new codec.Encoder();
    for (let i = 0; i < 20; i++) expect(plain.decode(enc.encode({ id: i }))).toEqual({ id: i });
  });
});
