// The host's AbortController and AbortSignal as `Pool` uses them. Every runtime threadkit targets
// has them (Node, Deno, Bun, browsers and their workers); they are declared here so core's
// tsconfig keeps `"types": []`. Public signatures that name `AbortSignal` resolve, in a
// user's project, to the real one from the DOM library or @types/node.
interface AbortSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  throwIfAborted(): void;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}
declare var AbortSignal: { readonly prototype: AbortSignal; abort(reason?: unknown): AbortSignal };
declare var AbortController: { readonly prototype: { readonly signal: AbortSignal; abort(reason?: unknown): void }; new (): { readonly signal: AbortSignal; abort(reason?: unknown): void } };
