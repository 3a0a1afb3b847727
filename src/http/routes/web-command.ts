import type { IncomingMessage } from 'node:http';
import { OutputCommandError, type OutputCommand, type OutputCommands } from '../../web/output-commands.js';
import { sendJson, type Route } from '../route.js';
import type { WebAccessGuard } from '../web-access.js';

/** A command body is a few dozen bytes; anything much larger is not one. */
const MAX_BODY_BYTES = 1024;
const STATES = ['ON', 'OFF', 'TOGGLE'];

export interface WebCommandOptions {
  /** The broker's ACL for a logged-in user (broker.allowsPublish); the page may do what that user's MQTT client may. */
  allowsPublish(username: string, output: string): boolean;
}

/**
 * `POST /api/command` with `{"output":"led","state":"TOGGLE","duration":5}`: published on the output's set topic like
 * an MQTT command, answered with the gateway's own response (200 when it was applied, 409 when the gateway refused).
 * Only JSON is accepted and a cross-site Origin is refused: a form on another site cannot switch an output with the
 * browser's saved login.
 */
export function webCommandRoute(commands: OutputCommands, guard: WebAccessGuard, options: WebCommandOptions): Route {
  return {
    path: '/api/command',
    methods: ['POST'],
    async handle(request, response) {
      const visitor = await guard.admit(request, response);
      if (!visitor) return;
      if (!visitor.mayCommand) return sendJson(response, 403, { ok: false, error: { code: 'read_only', message: 'this page is read-only (http.web.access)' } });
      if (!sameOrigin(request)) return sendJson(response, 403, { ok: false, error: { code: 'cross_origin', message: 'commands are accepted from the page itself only' } });
      if (!/^application\/json\b/i.test(request.headers['content-type'] ?? '')) {
        return sendJson(response, 415, { ok: false, error: { code: 'malformed', message: 'expected Content-Type: application/json' } });
      }
      const parsed = parseCommand(await readBody(request));
      if (typeof parsed === 'string') return sendJson(response, 400, { ok: false, error: { code: 'malformed', message: parsed } });
      // A logged-in user may do what their MQTT client may; `open` chose to have no users, so no ACL identity either.
      if (visitor.username !== undefined && !options.allowsPublish(visitor.username, parsed.output)) {
        return sendJson(response, 403, { ok: false, error: { code: 'not_authorized', message: `the broker's ACL does not let ${visitor.username} publish on ${parsed.output}'s set topic` } });
      }
      try {
        const answer = await commands.send({ ...parsed, ...(visitor.username === undefined ? {} : { user: visitor.username }) });
        sendJson(response, answer.ok ? 200 : 409, answer);
      } catch (error) {
        if (!(error instanceof OutputCommandError)) throw error;
        sendJson(response, error.code === 'timeout' ? 504 : 503, { ok: false, error: { code: error.code, message: error.message } });
      }
    },
  };
}

function sameOrigin(request: IncomingMessage): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

async function readBody(request: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The command, or what is wrong with it. */
export function parseCommand(text: string | undefined): Omit<OutputCommand, 'user'> | string {
  if (text === undefined) return `body larger than ${MAX_BODY_BYTES} bytes`;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    return `invalid JSON: ${(error as Error).message}`;
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return 'expected a JSON object like {"output":"led","state":"TOGGLE"}';
  const { output, state, duration, ...rest } = body as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0) return `unknown field "${extra[0]}" (allowed: output, state, duration)`;
  if (typeof output !== 'string' || output.length === 0 || /[/+#]/.test(output) || output.includes('\u0000')) return '"output": expected the name of an output';
  if (typeof state !== 'string' || !STATES.includes(state.toUpperCase())) return `"state": expected ${STATES.join(', ')}`;
  if (duration !== undefined && (typeof duration !== 'number' || !Number.isFinite(duration) || duration <= 0)) return '"duration": expected a number of seconds above 0';
  return { output, state: state.toUpperCase() as OutputCommand['state'], ...(duration === undefined ? {} : { duration }) };
}
