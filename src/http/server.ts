import { once } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isLoopbackHost } from '../broker/options.js';
import type { ServiceHealth } from '../util/health.js';
import type { Logger } from '../util/logger.js';
import { sendJson, type Route } from './route.js';

export class HttpServerError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'HttpServerError';
  }
}

export interface HttpServerOptions {
  host: string;
  port: number;
}

/**
 * The gateway's HTTP server on node:http: a table of routes by exact path (src/http/routes, one module each), 404
 * and 405 answered here, a failing handler logged and answered 500. Authentication is the routes' own (the page's
 * WebAccessGuard); /healthz and /metrics have none, so on an address other than loopback start() warns.
 */
export class HttpServer {
  readonly name = 'http';
  private readonly routes = new Map<string, Route>();
  private readonly log: Logger;
  private server: http.Server | undefined;
  private boundPort: number | undefined;

  constructor(
    private readonly options: HttpServerOptions,
    routes: readonly Route[],
    logger: Logger,
  ) {
    this.log = logger.child({ module: 'http' });
    for (const route of routes) {
      if (this.routes.has(route.path)) throw new HttpServerError(`two routes for ${route.path}`);
      this.routes.set(route.path, route);
    }
  }

  async start(): Promise<void> {
    if (this.server) throw new HttpServerError('http server already started');
    const server = http.createServer((request, response) => void this.dispatch(request, response));
    // A scraper or health checker that keeps its connection open must not hold a shutdown back.
    server.keepAliveTimeout = 5_000;
    server.listen({ host: this.options.host, port: this.options.port });
    try {
      await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error as Error))]);
    } catch (error) {
      server.close();
      throw new HttpServerError(`http: cannot listen on ${this.describe(this.options.port)}: ${(error as Error).message}`, { cause: error });
    }
    this.server = server;
    this.boundPort = (server.address() as AddressInfo).port;
    this.log.info({ url: this.url(), routes: [...this.routes.keys()] }, 'http listening');
    if (!isLoopbackHost(this.options.host)) {
      this.log.warn({ host: this.options.host }, 'http is reachable from the network and /healthz and /metrics are unauthenticated: keep it behind a firewall');
    }
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  health(): ServiceHealth {
    return this.server ? { status: 'ok', detail: { url: this.url() } } : { status: 'failed', detail: { listening: false } };
  }

  /** The bound port (the configured one, or the one the system picked for 0). */
  port(): number {
    if (this.boundPort === undefined) throw new HttpServerError('http server not started');
    return this.boundPort;
  }

  url(): string {
    return `http://${this.describe(this.port())}`;
  }

  private describe(port: number): string {
    const host = this.options.host.includes(':') ? `[${this.options.host}]` : this.options.host;
    return `${host}:${port}`;
  }

  private async dispatch(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const route = this.routes.get(path);
    if (!route) return sendJson(response, 404, { error: `no such endpoint: ${path}`, endpoints: [...this.routes.keys()] });
    const method = request.method === 'HEAD' && route.methods.includes('GET') ? 'GET' : request.method;
    if (!route.methods.some((m) => m === method)) {
      response.setHeader('Allow', [...route.methods, ...(route.methods.includes('GET') ? ['HEAD'] : [])].join(', '));
      return sendJson(response, 405, { error: `${request.method} not allowed on ${path}` });
    }
    try {
      await route.handle(request, response);
    } catch (error) {
      this.log.error({ path, err: error }, 'http handler failed');
      if (!response.headersSent) sendJson(response, 500, { error: 'internal error' });
      else response.destroy();
    }
  }
}
