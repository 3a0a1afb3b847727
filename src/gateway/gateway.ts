import type { LocalBus } from '../bus/local-bus.js';
import type { GpioLine, Sensor, SensorChannel } from '../drivers/types.js';
import { systemClock, type Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { CommandHandler } from './commands/command-handler.js';
import { OutputExecutor, type ManagedOutput } from './commands/output-executor.js';
import { CommandParser } from './commands/parse.js';
import type { GatewaySettings } from './config/gateway-schema.js';
import type { OutputSection, SensorSection } from './config/devices-schema.js';
import { buildDiscoveryMessages, expireAfterSeconds } from './discovery/build.js';
import { DiscoveryPublisher } from './discovery/discovery-publisher.js';
import type { GatewayEntities, SensorChannelEntity } from './discovery/types.js';
import { DeviceFilters } from './filters/device-filters.js';
import { GpioAvailability, type GpioDeviceHealth } from './gpio-availability.js';
import type { GatewayHardware } from './hardware.js';
import { InputWatcher } from './inputs/input-watcher.js';
import { SensorRunner } from './sensors/sensor-runner.js';
import { StatePublisher } from './state-publisher.js';
import { TopicLayout } from './topics.js';

export interface GatewayDependencies {
  bus: LocalBus;
  hardware: GatewayHardware;
  logger: Logger;
  clock?: Clock;
  version: string;
  /** Channels of a sensor kind, for discovery of a sensor that could not be opened at start. */
  channelsOf: (spec: SensorSection) => readonly SensorChannel[];
  /** Told how long each sensor read took (metrics); none by default. */
  readTimes?: SensorReadTimes;
}

/** Where read durations go: the metrics' histogram, as far as the gateway knows only this. */
export interface SensorReadTimes {
  observe(sensor: string, seconds: number): void;
}

/** Spreads the first reads of many sensors so they do not all hit one bus at the same instant. */
const SENSOR_STAGGER_MS = 50;

/**
 * The gateway: sensors to MQTT, MQTT commands to outputs, inputs to MQTT, Home Assistant discovery, and the
 * gateway's own status. It only knows the broker as a LocalBus and hardware as GatewayHardware.
 */
export class Gateway {
  readonly name = 'gateway';
  readonly topics: TopicLayout;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly publisher: StatePublisher;
  private runners: { spec: SensorSection; runner: SensorRunner; filters: DeviceFilters }[] = [];
  private inputs: InputWatcher[] = [];
  private outputLines: GpioLine[] = [];
  private executor: OutputExecutor | undefined;
  private commands: CommandHandler | undefined;
  private discovery: DiscoveryPublisher | undefined;
  private readonly units = new Map<string, Record<string, string>>();
  private readonly gpio: GpioAvailability;

  constructor(
    private readonly config: GatewaySettings,
    private readonly deps: GatewayDependencies,
  ) {
    this.clock = deps.clock ?? systemClock;
    this.log = deps.logger.child({ module: 'gateway' });
    this.topics = new TopicLayout({
      baseTopic: config.gateway.base_topic,
      gatewayId: config.gateway.id,
      discoveryPrefix: config.homeassistant.discovery_prefix,
    });
    this.publisher = new StatePublisher(deps.bus, this.topics, config.publish, deps.logger);
    this.gpio = new GpioAvailability((device, online, kind) => {
      void this.publisher.availability(device, online);
      if (online && kind === 'output') void this.executor?.lineRestored(device);
    }, this.log);
  }

  /** Counters of every sensor, for health and metrics. */
  sensorCounters(): Record<string, SensorRunner['counters']> {
    return Object.fromEntries(this.runners.map(({ spec, runner }) => [spec.name, runner.counters]));
  }

  /** Availability of every input and output whose line opened, for health. */
  gpioAvailability(): Record<string, GpioDeviceHealth> {
    return this.gpio.snapshot();
  }

  /** Degraded while any sensor, input or output is offline: the gateway still serves the rest. */
  health(): { status: 'ok' | 'degraded'; detail: Record<string, unknown> } {
    const sensors = Object.fromEntries(
      this.runners.map(({ spec, runner }) => [spec.name, { online: runner.counters.online !== false, reads: runner.counters.reads, errors: runner.counters.errors, lastError: runner.counters.lastError }]),
    );
    const gpio = this.gpio.snapshot();
    const offline = Object.values(sensors).some((s) => !s.online) || Object.values(gpio).some((d) => !d.online);
    return { status: offline ? 'degraded' : 'ok', detail: { hardware: this.deps.hardware.kind, sensors, gpio } };
  }

  async start(): Promise<void> {
    await this.publisher.gatewayStatus(true);
    await this.startOutputs();
    await this.startInputs();
    const channels = await this.startSensors();
    if (this.config.homeassistant.enabled) await this.startDiscovery(channels);
    this.log.info(
      { hardware: this.deps.hardware.kind, sensors: this.runners.length, inputs: this.inputs.length, outputs: this.outputLines.length },
      'gateway started',
    );
  }

  /** Sensors stop, outputs go to their fail-safe state, `offline` is published. */
  async stop(): Promise<void> {
    // Lines closing below must not publish anything after the `offline` of each device.
    this.gpio.stop();
    await Promise.all(this.runners.map(({ runner }) => runner.stop()));
    await Promise.all(this.inputs.map((input) => input.stop().catch(() => undefined)));
    await this.commands?.stop();
    await this.discovery?.stop();
    await this.executor?.shutdown();
    await Promise.all(this.outputLines.map((line) => line.close().catch(() => undefined)));
    for (const name of this.deviceNames()) await this.publisher.availability(name, false);
    await this.publisher.gatewayStatus(false);
    this.log.info('gateway stopped');
  }

  private deviceNames(): string[] {
    return [...this.config.sensors, ...this.config.inputs, ...this.config.outputs].map((d) => d.name);
  }

  private async startOutputs(): Promise<void> {
    const managed: ManagedOutput[] = [];
    for (const spec of this.config.outputs) {
      try {
        const line = await this.deps.hardware.gpio.openOutput(spec.pin, { initial: spec.initial === 'on' ? 1 : 0, activeLow: spec.active_low });
        this.outputLines.push(line);
        this.gpio.track(spec.name, 'output', line);
        managed.push({ name: spec.name, line, failSafe: failSafeLevel(spec) });
      } catch (error) {
        this.log.error({ output: spec.name, pin: spec.pin, err: (error as Error).message }, 'output unavailable');
        await this.publisher.availability(spec.name, false);
      }
    }
    const retainOf = new Map(this.config.outputs.map((o) => [o.name, o.retain]));
    const executor = new OutputExecutor(managed, {
      clock: this.clock,
      logger: this.log,
      onState: (report) => void this.publisher.binaryState(report.output, report.state, this.clock.now(), retainOf.get(report.output)),
    });
    this.executor = executor;
    const initial = await executor.init();
    for (const [name, state] of Object.entries(initial.states)) {
      await this.publisher.binaryState(name, state, this.clock.now(), retainOf.get(name));
      // Its line may already have been lost again (and reported offline) since it opened.
      await this.publisher.availability(name, this.gpio.online(name));
    }
    const parser = new CommandParser({
      outputs: managed.map((m) => m.name),
      maxAgeMs: this.config.commands.max_age,
      requireTimestamp: this.config.commands.require_timestamp,
    });
    this.commands = new CommandHandler(this.deps.bus, this.topics, parser, executor, this.publisher, this.clock, this.deps.logger);
    await this.commands.start();
  }

  private async startInputs(): Promise<void> {
    for (const spec of this.config.inputs) {
      const watcher = new InputWatcher(
        spec,
        this.deps.hardware.gpio,
        (event) => void this.publisher.binaryState(event.input, event.payload, this.clock.now()),
        this.log,
      );
      try {
        await watcher.start();
        this.inputs.push(watcher);
        this.gpio.track(spec.name, 'input', watcher);
        await this.publisher.availability(spec.name, true);
      } catch (error) {
        this.log.error({ input: spec.name, pin: spec.pin, err: (error as Error).message }, 'input unavailable');
        await this.publisher.availability(spec.name, false);
      }
    }
  }

  /** Opens every sensor once to learn its channels (for discovery and units), then starts the reading loops. */
  private async startSensors(): Promise<Map<string, readonly SensorChannel[]>> {
    const channels = new Map<string, readonly SensorChannel[]>();
    for (const [index, spec] of this.config.sensors.entries()) {
      let opened: Sensor | undefined;
      try {
        opened = await this.deps.hardware.openSensor(spec);
        channels.set(spec.name, opened.channels);
      } catch (error) {
        this.log.error({ sensor: spec.name, err: (error as Error).message }, 'sensor not available at start; retrying on its interval');
        channels.set(spec.name, this.deps.channelsOf(spec));
      }
      this.units.set(spec.name, Object.fromEntries(channels.get(spec.name)!.map((c) => [c.key, c.unit])));
      let first = opened;
      const filters = new DeviceFilters(spec.filters);
      const runner = new SensorRunner({
        name: spec.name,
        open: async () => {
          const sensor = first ?? (await this.deps.hardware.openSensor(spec));
          first = undefined;
          return sensor;
        },
        intervalMs: spec.interval,
        retries: spec.retries,
        offlineAfter: spec.offline_after,
        filters,
        clock: this.clock,
        logger: this.log,
        onState: (state, at) => void this.publisher.sensorState(spec.name, state, this.units.get(spec.name) ?? {}, at),
        onAvailability: (online) => void this.publisher.availability(spec.name, online),
        onReadDuration: this.deps.readTimes ? (seconds) => this.deps.readTimes!.observe(spec.name, seconds) : undefined,
      });
      runner.start(index * SENSOR_STAGGER_MS);
      this.runners.push({ spec, runner, filters });
    }
    return channels;
  }

  private async startDiscovery(channels: Map<string, readonly SensorChannel[]>): Promise<void> {
    const entities: GatewayEntities = {
      sensors: this.runners.map(({ spec, filters }) => ({
        device: spec.name,
        name: spec.friendly_name,
        channels: (channels.get(spec.name) ?? []).map((channel) => sensorEntity(spec, channel, filters)),
      })),
      inputs: this.config.inputs.map((spec) => ({ device: spec.name, name: spec.friendly_name, deviceClass: spec.device_class })),
      outputs: this.config.outputs.map((spec) => ({ device: spec.name, name: spec.friendly_name, as: spec.component, deviceClass: spec.device_class })),
    };
    const messages = buildDiscoveryMessages(entities, {
      topics: this.topics,
      device: {
        name: this.config.gateway.name ?? this.config.gateway.id,
        model: this.config.homeassistant.model ?? this.deps.hardware.model,
        swVersion: this.deps.version,
      },
      origin: { swVersion: this.deps.version },
      legacyObjectId: this.config.homeassistant.legacy_object_id,
      qos: this.config.publish.qos,
    });
    this.discovery = new DiscoveryPublisher(this.deps.bus, this.topics, messages, this.config.homeassistant.status_topic, this.deps.logger);
    await this.discovery.start();
  }
}

function failSafeLevel(spec: OutputSection): 0 | 1 | 'keep' {
  return spec.fail_safe === 'keep' ? 'keep' : spec.fail_safe === 'on' ? 1 : 0;
}

function sensorEntity(spec: SensorSection, channel: SensorChannel, filters: DeviceFilters): SensorChannelEntity {
  const override = spec.channels[channel.key] ?? {};
  const gap = filters.maxPublishGap(channel.key, spec.interval);
  return {
    ...channel,
    ...(override.unit ? { unit: override.unit } : {}),
    ...(override.device_class ? { deviceClass: override.device_class } : {}),
    ...(override.name ? { name: override.name } : {}),
    ...(override.icon ? { icon: override.icon } : {}),
    expireAfterS: expireAfterSeconds(gap),
  };
}
