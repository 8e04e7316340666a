/** The transport of shared objects: shared memory where it exists, or messages. */

/** How shared objects reach other realms: `auto` uses shared memory wherever it exists. */
export type Transport = 'auto' | 'shared' | 'message';

let transport: Transport = 'auto';

/**
 * Chooses the transport for objects created from now on (`auto` by default). `message` makes
 * them live in this realm and reach threads by messages, as they must for processes and
 * pages without cross-origin isolation; tests use it to run every test on both transports.
 */
export function useTransport(choice: Transport): void {
  if (choice !== 'auto' && choice !== 'shared' && choice !== 'message') {
    throw new TypeError(`Cannot use transport: expected 'auto', 'shared' or 'message', got ${String(choice)}`);
  }
  transport = choice;
}

/** The transport in force. */
export function currentTransport(): Transport {
  return transport;
}
