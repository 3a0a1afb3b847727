import { buildPipeline } from './build.js';
import { FilterConfigError } from './errors.js';
import type { FilterPipeline } from './pipeline.js';
import type { FilterSpec } from './types.js';

/** What the sensor loop publishes after a read or a tick. */
export interface FilteredState {
  /** Channels whose pipeline emitted at this instant. */
  changed: Record<string, number>;
  /** The last emitted value of every channel that ever emitted: the full JSON state for `<base>/<device>/state`. */
  state: Record<string, number>;
}

/**
 * The filter pipelines of one sensor device, one per channel key. Channels without configured filters pass values
 * through unchanged. The merged state keeps each channel's last published value, so a channel held back by delta
 * still appears in every state message.
 */
export class DeviceFilters {
  private readonly pipelines = new Map<string, FilterPipeline>();
  private readonly last = new Map<string, number>();

  /** Throws FilterConfigError (message prefixed with the channel) when a channel's filters are invalid. */
  constructor(filters: Readonly<Record<string, readonly FilterSpec[] | undefined>> = {}) {
    for (const [channel, specs] of Object.entries(filters)) {
      try {
        this.pipelines.set(channel, buildPipeline(specs));
      } catch (error) {
        if (error instanceof FilterConfigError) {
          const wrapped = new FilterConfigError(error.index, error.filter, `channel ${channel}: ${error.message}`);
          throw wrapped;
        }
        throw error;
      }
    }
  }

  pipeline(channel: string): FilterPipeline | undefined {
    return this.pipelines.get(channel);
  }

  /** Run one reading through the channels' pipelines; `undefined` when no channel emitted. */
  push(reading: Readonly<Record<string, number>>, now: number): FilteredState | undefined {
    const changed: Record<string, number> = {};
    let any = false;
    for (const [channel, raw] of Object.entries(reading)) {
      const pipeline = this.pipelines.get(channel);
      const value = pipeline ? pipeline.push(raw, now) : Number.isFinite(raw) ? raw : undefined;
      if (value === undefined) continue;
      changed[channel] = value;
      this.last.set(channel, value);
      any = true;
    }
    return any ? { changed, state: this.state() } : undefined;
  }

  /** Heartbeats due at `now`; `undefined` when none. */
  tick(now: number): FilteredState | undefined {
    const changed: Record<string, number> = {};
    let any = false;
    for (const [channel, pipeline] of this.pipelines) {
      const value = pipeline.tick(now);
      if (value === undefined) continue;
      changed[channel] = value;
      this.last.set(channel, value);
      any = true;
    }
    return any ? { changed, state: this.state() } : undefined;
  }

  /** When the sensor loop should call tick() next at the latest; `undefined` when no heartbeat is pending. */
  nextTickAt(): number | undefined {
    let earliest: number | undefined;
    for (const pipeline of this.pipelines.values()) {
      const at = pipeline.nextTickAt();
      if (at !== undefined && (earliest === undefined || at < earliest)) earliest = at;
    }
    return earliest;
  }

  /** Max time between publications of `channel` when read every `readIntervalMs`; `undefined` = unbounded. */
  maxPublishGap(channel: string, readIntervalMs: number): number | undefined {
    const pipeline = this.pipelines.get(channel);
    return pipeline ? pipeline.maxPublishGap(readIntervalMs) : readIntervalMs;
  }

  state(): Record<string, number> {
    return Object.fromEntries(this.last);
  }

  reset(): void {
    for (const pipeline of this.pipelines.values()) pipeline.reset();
    this.last.clear();
  }
}
