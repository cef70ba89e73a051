/** The serial line adapter: the only file that imports serialport. */
import { z } from 'zod';
import { ERR, WacoflowError } from '../../../platform/errors.ts';

/** Line settings, per device (RS-232 or an RS-485 multidrop bus). */
export const SerialLineSchema = z
  .object({
    path: z.string().min(1),
    baud_rate: z.number().int().refine((b) => [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400].includes(b), 'must be a standard rate (1200 … 230400)').default(9600),
    data_bits: z.union([z.literal(7), z.literal(8)]).default(8),
    parity: z.enum(['none', 'even', 'odd']).default('none'),
    stop_bits: z.union([z.literal(1), z.literal(2)]).default(1),
  })
  .strict();
export type SerialLine = z.infer<typeof SerialLineSchema>;

export interface SerialLink {
  write(bytes: Buffer): Promise<void>;
  /** Replaces the data listener. */
  onData(listener: (bytes: Buffer) => void): void;
  isOpen(): boolean;
  close(): Promise<void>;
}

export async function openSerial(line: SerialLine): Promise<SerialLink> {
  // Loaded on first use: agents without serial inputs never load the native binding.
  const { SerialPort } = await import('serialport');
  return new Promise((resolve, reject) => {
    const port = new SerialPort({ path: line.path, baudRate: line.baud_rate, dataBits: line.data_bits, parity: line.parity, stopBits: line.stop_bits, autoOpen: false });
    let listener: (b: Buffer) => void = () => {};
    port.on('data', (b: Buffer) => listener(b));
    port.on('error', () => {}); // surfaced through the next write or read timeout
    port.open((err: Error | null) => {
      if (err) return reject(new WacoflowError(ERR.FEED_HTTP, `serial ${line.path}: cannot open: ${err.message}; check the cable, the path and the permissions`, { retriable: true, cause: err }));
      resolve({
        write: (bytes) =>
          new Promise((res, rej) => {
            port.write(bytes, (e: Error | null | undefined) => (e ? rej(new WacoflowError(ERR.FEED_HTTP, `serial ${line.path}: write failed: ${e.message}`, { retriable: true, cause: e })) : port.drain(() => res())));
          }),
        onData: (l) => {
          listener = l;
        },
        isOpen: () => port.isOpen,
        close: () => new Promise((res) => (port.isOpen ? port.close(() => res()) : res())),
      });
    });
  });
}
