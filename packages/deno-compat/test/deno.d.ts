// The slice of Deno's namespace the tests use, for `tsc` (which type-checks them: `deno test`
// runs them with --no-check, because Deno reads core's `dist/*.d.ts` imports of `./x.js` as
// the JavaScript files themselves rather than their declarations).
declare namespace Deno {
  function test(options: { name: string; fn: () => Promise<void> | void; sanitizeOps?: boolean; sanitizeResources?: boolean; ignore?: boolean }): void;
  function execPath(): string;
  const args: string[];
}
