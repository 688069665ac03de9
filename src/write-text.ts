/**
 * Writing a streamed export: waits while the reader is slow (back-pressure) and stops at once when
 * the reader has gone away (an HTTP client that disconnected destroys the stream, and a destroyed
 * stream never emits `drain`), so the producer can release what it holds.
 */
import type { Writable } from 'node:stream';

/** The stream was closed by its reader before the export ended. */
export class StreamClosedError extends Error {
  constructor() {
    super('the reader closed the stream before the export ended');
    this.name = 'StreamClosedError';
  }
}

/**
 * Writes `text` to `out`; resolves when `out` can take more, rejects with StreamClosedError when
 * `out` is (or gets) closed first.
 *
 * @example
 * for (const line of lines) await writeText(res, line);
 */
export function writeText(out: Writable, text: string): Promise<void> {
  if (out.destroyed || out.writableEnded) return Promise.reject(new StreamClosedError());
  if (out.write(text)) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const settle = (fn: () => void) => () => {
      out.off('drain', onDrain);
      out.off('close', onClose);
      out.off('error', onClose);
      fn();
    };
    const onDrain = settle(resolve);
    const onClose = settle(() => reject(new StreamClosedError()));
    out.on('drain', onDrain);
    out.on('close', onClose);
    out.on('error', onClose);
  });
}
