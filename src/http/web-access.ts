import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../util/logger.js';
import type { WebAccess } from './config.js';
import { send } from './route.js';

/** Who is looking at the page, and whether they may switch outputs. */
export interface WebVisitor {
  username?: string;
  mayCommand: boolean;
}

export interface WebAccessOptions {
  /** `auto` already resolved for the bound address. */
  access: Exclude<WebAccess, 'auto'>;
  /** The broker's password file (broker.verifyPassword); needed for `login`. */
  verifyPassword?: (username: string, password: string) => Promise<boolean>;
}

export class WebAccessError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebAccessError';
  }
}

const REALM = 'pi-edge-gateway';

/**
 * The page's door. `login` is HTTP Basic against the broker's own password file: every request carries the
 * credentials, which the browser keeps for the session and also sends with EventSource, so the event stream needs no
 * cookie or token of its own; the password file's cache of recent successes spares a hash per request. Nothing of
 * the credentials is logged but the username of a refusal.
 */
export class WebAccessGuard {
  private readonly log: Logger;

  constructor(
    private readonly options: WebAccessOptions,
    logger: Logger,
  ) {
    this.log = logger.child({ module: 'web-access' });
    if (options.access === 'login' && !options.verifyPassword) throw new WebAccessError('web access "login" needs the broker\'s password file');
  }

  get access(): Exclude<WebAccess, 'auto'> {
    return this.options.access;
  }

  /** The visitor, or undefined once a 401 has been answered. */
  async admit(request: IncomingMessage, response: ServerResponse): Promise<WebVisitor | undefined> {
    if (this.options.access === 'open') return { mayCommand: true };
    if (this.options.access === 'read_only') return { mayCommand: false };
    const credentials = parseBasic(request.headers.authorization);
    if (credentials && (await this.options.verifyPassword!(credentials.username, credentials.password))) {
      return { username: credentials.username, mayCommand: true };
    }
    if (credentials) this.log.warn({ username: credentials.username, remote: request.socket.remoteAddress }, 'page login refused');
    response.setHeader('WWW-Authenticate', `Basic realm="${REALM}", charset="UTF-8"`);
    send(response, 401, 'text/plain; charset=utf-8', 'login required: a user of the broker\'s password file\n');
    return undefined;
  }
}

function parseBasic(header: string | undefined): { username: string; password: string } | undefined {
  const match = header === undefined ? null : /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
