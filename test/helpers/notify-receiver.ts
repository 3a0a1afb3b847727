import { createRequire } from 'node:module';
import path from 'node:path';
import type { createSocket, UnixDgramSocket } from 'unix-dgram';

const require = createRequire(import.meta.url);

export interface Notification {
  /** The datagram, as sent: newline-separated KEY=value fields. */
  text: string;
  fields: Record<string, string>;
  at: number;
}

/** True when the optional native unix-dgram package is installed and built on this machine. */
export function hasUnixDgram(): boolean {
  try {
    require('unix-dgram');
    return true;
  } catch {
    return false;
  }
}

/**
 * Stands in for systemd: a unix datagram socket bound at `<dir>/notify`, recording every notification. What a
 * service sends to NOTIFY_SOCKET arrives here exactly as systemd would read it.
 */
export class NotifyReceiver {
  readonly messages: Notification[] = [];
  readonly socketPath: string;
  private readonly socket: UnixDgramSocket;
  private waiters: (() => void)[] = [];

  constructor(dir: string) {
    const unixDgram = require('unix-dgram') as { createSocket: typeof createSocket };
    this.socketPath = path.join(dir, 'notify');
    this.socket = unixDgram.createSocket('unix_dgram', (buffer: Buffer) => {
      const text = buffer.toString();
      const fields = Object.fromEntries(text.split('\n').filter(Boolean).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
      this.messages.push({ text, fields, at: Date.now() });
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.socket.bind(this.socketPath);
  }

  /** Resolves with the first notification after index `from` that matches, or rejects after `timeoutMs`. */
  async waitFor(match: (n: Notification) => boolean, timeoutMs: number, from = 0): Promise<Notification> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.slice(from).find(match);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching notification within ${timeoutMs} ms; got: ${JSON.stringify(this.messages.map((m) => m.text))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => (clearTimeout(timer), resolve()));
      });
    }
  }

  count(match: (n: Notification) => boolean, from: number, to = Infinity): number {
    return this.messages.filter((m) => m.at >= from && m.at < to && match(m)).length;
  }

  close(): void {
    this.socket.close();
  }
}

export const isWatchdogPing = (n: Notification): boolean => n.fields.WATCHDOG === '1';
