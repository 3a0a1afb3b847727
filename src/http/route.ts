import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * One endpoint of the HTTP server, in a module of its own (src/http/routes). The server matches the path exactly,
 * answers 404 and 405 itself, and HEAD wherever GET is allowed; the handler writes the whole response (a later
 * route may keep it open to push updates).
 */
export interface Route {
  readonly path: string;
  readonly methods: readonly ('GET' | 'POST' | 'PUT' | 'DELETE')[];
  handle(request: IncomingMessage, response: ServerResponse): void | Promise<void>;
}

/** Nothing here is worth caching: every answer is the state at the time of asking. */
export function send(response: ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body) });
  response.end(body);
}

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  send(response, status, 'application/json; charset=utf-8', `${JSON.stringify(body)}\n`);
}
