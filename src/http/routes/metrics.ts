import type { Registry } from 'prom-client';
import { send, type Route } from '../route.js';

/** `GET /metrics`: the application's registry in Prometheus text format, collected at the time of the scrape. */
export function metricsRoute(registry: Registry): Route {
  return {
    path: '/metrics',
    methods: ['GET'],
    async handle(_request, response) {
      send(response, 200, registry.contentType, await registry.metrics());
    },
  };
}
