// The two host features core's own modules use beyond ECMAScript, declared here so core's
// tsconfig keeps `"types": []` and never sees Node or DOM globals.
interface ImportMeta {
  readonly url: string;
}
declare class URL {
  constructor(url: string | URL, base?: string | URL);
  readonly href: string;
  readonly pathname: string;
  toString(): string;
}
