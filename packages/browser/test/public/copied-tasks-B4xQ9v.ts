// Served as it is (the test server compiles nothing under test/public), as a static server serves
// the raw copy a Vite build makes of a task module when @threadkit/browser/vite is missing.
export function double(n: number): number {
  return n * 2;
}
