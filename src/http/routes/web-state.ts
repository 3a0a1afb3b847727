import type { LiveView } from '../../web/live-view.js';
import { sendJson, type Route } from '../route.js';
import type { WebAccessGuard } from '../web-access.js';

/** `GET /api/state`: everything the page shows, at once, as JSON (the event stream's first message is the same). */
export function webStateRoute(view: LiveView, guard: WebAccessGuard): Route {
  return {
    path: '/api/state',
    methods: ['GET'],
    async handle(request, response) {
      const visitor = await guard.admit(request, response);
      if (!visitor) return;
      sendJson(response, 200, { ...view.snapshot(), visitor });
    },
  };
}
