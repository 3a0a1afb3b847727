import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { send, type Route } from '../route.js';
import type { WebAccessGuard } from '../web-access.js';

/** The page's files (web/ in the package), by URL path. Plain HTML, CSS and a JS module: nothing to build on the Pi. */
export const WEB_FILES: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
  '/icon.svg': { file: 'icon.svg', type: 'image/svg+xml' },
};

/**
 * `GET /`, `/app.js`, `/style.css`, `/icon.svg`: the live page. Read from `dir` at the first request and kept (they
 * only change with the package). The page may load nothing from elsewhere (the Pi may have no internet, and a page
 * that switches outputs should not run foreign scripts): the Content-Security-Policy says so.
 */
export function webPageRoutes(dir: string, guard: WebAccessGuard): Route[] {
  const cache = new Map<string, Promise<string>>();
  return Object.entries(WEB_FILES).map(([urlPath, { file, type }]) => ({
    path: urlPath,
    methods: ['GET'] as const,
    async handle(request, response) {
      if (!(await guard.admit(request, response))) return;
      let body = cache.get(file);
      if (!body) {
        body = readFile(path.join(dir, file), 'utf8');
        cache.set(file, body);
        body.catch(() => cache.delete(file));
      }
      response.setHeader('Content-Security-Policy', "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
      response.setHeader('X-Content-Type-Options', 'nosniff');
      send(response, 200, type, await body);
    },
  }));
}
