// The part of `bun:test` these tests use (Bun's own types are not a dependency: tsc only checks the calls).
declare module 'bun:test' {
  export function describe(name: string, fn: () => void): void;
  export const test: {
    (name: string, fn: () => Promise<void> | void, timeoutMs?: number): void;
    skip(name: string, fn: () => Promise<void> | void): void;
  };
}
