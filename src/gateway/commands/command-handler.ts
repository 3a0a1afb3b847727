import type { BusSubscription, LocalBus } from '../../bus/local-bus.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import type { StatePublisher } from '../state-publisher.js';
import type { TopicLayout } from '../topics.js';
import { OutputExecutorError, type OutputExecutor } from './output-executor.js';
import type { CommandParser } from './parse.js';
import { buildCommandResponse } from './response.js';
import type { CommandResult } from './types.js';

/**
 * Commands from MQTT to outputs: `<base>/<output>/set` and the gateway-wide `<base>/command`. Every command is
 * answered on `<base>/command/response`, refused or not; nothing a client sends can crash the gateway.
 */
export class CommandHandler {
  private subscriptions: BusSubscription[] = [];
  private readonly log: Logger;

  constructor(
    private readonly bus: LocalBus,
    private readonly topics: TopicLayout,
    private readonly parser: CommandParser,
    private readonly executor: OutputExecutor,
    private readonly publisher: StatePublisher,
    private readonly clock: Clock,
    logger: Logger,
  ) {
    this.log = logger.child({ module: 'commands' });
  }

  async start(): Promise<void> {
    this.subscriptions.push(
      await this.bus.subscribe(this.topics.setWildcard(), ({ topic, payload }) => void this.onSet(topic, payload)),
      await this.bus.subscribe(this.topics.command(), ({ topic, payload }) => void this.onCommand(topic, payload)),
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.subscriptions.splice(0).map((subscription) => subscription.unsubscribe()));
  }

  private async onSet(topic: string, payload: Buffer): Promise<void> {
    const now = this.clock.now();
    const output = this.topics.deviceFromSetTopic(topic);
    const result: CommandResult =
      output === undefined
        ? { ok: false, error: { code: 'malformed', message: `not a set topic: ${topic}` } }
        : this.parser.parseSet(output, payload, now);
    await this.execute(topic, result, now);
  }

  private async onCommand(topic: string, payload: Buffer): Promise<void> {
    const now = this.clock.now();
    await this.execute(topic, this.parser.parseGatewayCommand(payload, now), now);
  }

  private async execute(topic: string, result: CommandResult, receivedAt: number): Promise<void> {
    try {
      if (!result.ok) {
        this.log.warn({ topic, code: result.error.code, reason: result.error.message }, 'command refused');
        await this.respond(topic, result, receivedAt);
        return;
      }
      const outcome = await this.executor.apply(result.actions);
      for (const failure of outcome.failures) this.log.error({ topic, output: failure.output, err: failure.message }, 'output write failed');
      this.log.info({ topic, actions: result.actions, states: outcome.states }, 'command applied');
      await this.respond(topic, result, receivedAt, outcome.states, outcome.failures);
    } catch (error) {
      // Refusals by the executor itself (unknown output after a reload, shutting down) are answered like the rest.
      const message = error instanceof OutputExecutorError ? error.message : `internal error: ${(error as Error).message}`;
      this.log.error({ topic, err: message }, 'command failed');
      await this.respond(topic, { ok: false, error: { code: 'invalid_value', message }, id: result.id }, receivedAt);
    }
  }

  private respond(topic: string, result: CommandResult, receivedAt: number, outputs?: Record<string, 'ON' | 'OFF'>, failures?: { output: string; message: string }[]): Promise<void> {
    const response = buildCommandResponse({ result, topic, receivedAt, outputs, failures });
    return this.publisher.json(this.topics.response(), response);
  }
}
