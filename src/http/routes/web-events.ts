import type { LiveView, LiveEvent } from '../../web/live-view.js';
import { sendJson, type Route } from '../route.js';
import type { WebAccessGuard } from '../web-access.js';

export interface WebEventsOptions {
  /** Open event streams at most; more are refused with 503 (each holds a socket and a listener). */
  maxStreams: number;
  /** A comment line this often keeps proxies and NAT from dropping a quiet stream, and finds dead peers. */
  keepAliveMs: number;
  /** A page that reads slower than events arrive is dropped past this many unsent bytes; its EventSource reconnects. */
  maxBufferedBytes: number;
}

const DEFAULTS: WebEventsOptions = { maxStreams: 16, keepAliveMs: 25_000, maxBufferedBytes: 1 << 20 };

/**
 * `GET /api/events`: server-sent events. First `snapshot` (the whole page), then `device`, `stats`, `warning` and
 * `gateway` as they happen. SSE rather than MQTT over WebSocket: it is plain HTTP through this server and its login,
 * the browser reconnects by itself, and the page needs no MQTT client nor the broker a WebSocket listener.
 */
export function webEventsRoute(view: LiveView, guard: WebAccessGuard, options: Partial<WebEventsOptions> = {}): Route {
  const settings = { ...DEFAULTS, ...options };
  let open = 0;
  return {
    path: '/api/events',
    methods: ['GET'],
    async handle(request, response) {
      const visitor = await guard.admit(request, response);
      if (!visitor) return;
      if (open >= settings.maxStreams) {
        response.setHeader('Retry-After', '30');
        return sendJson(response, 503, { error: `too many open pages (${settings.maxStreams})` });
      }
      open++;
      response.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-store',
        'X-Accel-Buffering': 'no',
      });
      const write = (event: string, data: unknown) => {
        if (response.writableLength > settings.maxBufferedBytes) {
          response.destroy();
          return;
        }
        response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      };
      response.write('retry: 3000\n\n');
      write('snapshot', { ...view.snapshot(), visitor });
      const unsubscribe = view.subscribe((event: LiveEvent) => write(event.type, event));
      const keepAlive = setInterval(() => response.write(': keep-alive\n\n'), settings.keepAliveMs);
      keepAlive.unref();
      response.on('close', () => {
        open--;
        clearInterval(keepAlive);
        unsubscribe();
      });
    },
  };
}
