import type { HealthSummary } from '../../ops/health-summary.js';
import { sendJson, type Route } from '../route.js';

/**
 * `GET /healthz`: the health summary as JSON, 200 when every part is ok, 503 when anything is degraded or failed
 * (a sensor offline, a bridge disconnected, a listener down). The body's `status` tells degraded from failed.
 */
export function healthzRoute(reporter: { summary(): HealthSummary }): Route {
  return {
    path: '/healthz',
    methods: ['GET'],
    handle(_request, response) {
      const summary = reporter.summary();
      sendJson(response, summary.status === 'ok' ? 200 : 503, { ...summary, time: new Date().toISOString() });
    },
  };
}
