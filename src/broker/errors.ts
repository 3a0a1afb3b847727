export class BrokerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A listener could not bind (port in use, address not on this host, permission). */
export class ListenerError extends BrokerError {
  readonly listener: string;
  readonly code: string | undefined;

  constructor(listener: string, cause: unknown) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    const hint = code === 'EADDRINUSE' ? ' (another broker, e.g. mosquitto, already listens there?)' : code === 'EACCES' ? ' (ports below 1024 need privileges)' : '';
    super(`listener ${listener} cannot start: ${(cause as Error)?.message ?? String(cause)}${hint}`, { cause });
    this.listener = listener;
    this.code = code;
  }
}
