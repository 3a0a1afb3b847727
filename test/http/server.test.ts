import net from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpServer, HttpServerError } from '../../src/http/server.js';
import { sendJson, type Route } from '../../src/http/route.js';
import { createLogger, silentLogger } from '../../src/util/logger.js';

const servers: HttpServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

const hello: Route = { path: '/hello', methods: ['GET'], handle: (_req, res) => sendJson(res, 200, { hello: 'world' }) };
const broken: Route = {
  path: '/broken',
  methods: ['GET'],
  handle: () => {
    throw new Error('boom');
  },
};

async function serve(routes: Route[], host = '127.0.0.1', logger = silentLogger()): Promise<{ server: HttpServer; base: string }> {
  const server = new HttpServer({ host, port: 0 }, routes, logger);
  await server.start();
  servers.push(server);
  return { server, base: `http://127.0.0.1:${server.port()}` };
}

/** A logger whose JSON lines are kept, to check what was logged. */
function capturingLogger(): { logger: ReturnType<typeof createLogger>; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger({ level: 'info' }, sink), lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('HttpServer: a route table on node:http', () => {
  it('serves a route by exact path, whatever the query string', async () => {
    const { base } = await serve([hello]);
    const response = await fetch(`${base}/hello?x=1`);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toEqual({ hello: 'world' });
  });

  it('answers 404 naming the endpoints, and 405 with Allow for a method the route does not take', async () => {
    const { base } = await serve([hello]);
    const missing = await fetch(`${base}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'no such endpoint: /nope', endpoints: ['/hello'] });
    const post = await fetch(`${base}/hello`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('answers HEAD wherever GET is allowed, without a body', async () => {
    const { base } = await serve([hello]);
    const response = await fetch(`${base}/hello`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    expect(await response.text()).toBe('');
  });

  it('answers 500 for a handler that throws, logs it, and goes on serving', async () => {
    const { logger, lines } = capturingLogger();
    const { base } = await serve([hello, broken], '127.0.0.1', logger);
    const response = await fetch(`${base}/broken`);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: 'internal error' });
    expect(lines().find((l) => l.msg === 'http handler failed')).toMatchObject({ module: 'http', path: '/broken', err: { message: 'boom' } });
    expect((await fetch(`${base}/hello`)).status).toBe(200);
  });

  it('refuses two routes for one path', () => {
    expect(() => new HttpServer({ host: '127.0.0.1', port: 0 }, [hello, hello], silentLogger())).toThrow(HttpServerError);
  });

  it('fails to start, naming the address, when the port is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const server = new HttpServer({ host: '127.0.0.1', port }, [hello], silentLogger());
      const error = await server.start().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HttpServerError);
      expect((error as Error).message).toBe(`http: cannot listen on 127.0.0.1:${port}: listen EADDRINUSE: address already in use 127.0.0.1:${port}`);
      expect(server.health().status).toBe('failed');
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('warns that the endpoints are unauthenticated when bound beyond loopback, and not on loopback', async () => {
    const loopback = capturingLogger();
    await serve([hello], '127.0.0.1', loopback.logger);
    expect(loopback.lines().filter((l) => l.level === 40)).toEqual([]);
    const wide = capturingLogger();
    const { server } = await serve([hello], '0.0.0.0', wide.logger);
    expect(wide.lines().filter((l) => l.level === 40)).toEqual([expect.objectContaining({ module: 'http', host: '0.0.0.0', msg: expect.stringMatching(/unauthenticated/) })]);
    expect(server.health()).toEqual({ status: 'ok', detail: { url: `http://0.0.0.0:${server.port()}` } });
  });

  it('stops even while a client holds a keep-alive connection open', async () => {
    const { server, base } = await serve([hello]);
    const agent = await fetch(`${base}/hello`, { headers: { connection: 'keep-alive' } });
    await agent.text();
    await server.stop();
    await expect(fetch(`${base}/hello`)).rejects.toThrow();
  });
});
