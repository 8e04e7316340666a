// The slice of Deno's namespace the tests use, for `tsc` (which type-checks them: `deno test`
// runs them with --no-check, because Deno reads core's `dist/*.d.ts` imports of `./x.js` as
// the JavaScript files themselves rather than their declarations).
declare namespace Deno {
  function test(options: { name: string; fn: () => Promise<void> | void; sanitizeOps?: boolean; sanitizeResources?: boolean; ignore?: boolean }): void;
  function execPath(): string;
  const args: string[];
}
declare namespace Deno {
  const pid: number;
}
declare namespace Deno {
  function realPathSync(path: string): string;
}
declare namespace Deno {
  class Command {
    constructor(
      command: string,
      options: { args: string[]; cwd?: string; stdin?: 'null' | 'inherit'; stdout?: 'piped' | 'inherit'; stderr?: 'piped' | 'inherit'; signal?: AbortSignal },
    );
    output(): Promise<{ code: number; stdout: Uint8Array; stderr: Uint8Array }>;
  }
}
