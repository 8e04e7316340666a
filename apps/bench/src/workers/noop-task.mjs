// The task of the pool scenario for piscina and tinypool: does nothing, returns nothing.
export default function noop() {
  return null;
}
