import type { ServiceHealth } from '../util/health.js';

/** One part of the running application, started and stopped by the Lifecycle. */
export interface Service {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  health(): ServiceHealth;
  /** SIGHUP: re-read what can change without a restart. */
  reload?(): Promise<unknown>;
}
