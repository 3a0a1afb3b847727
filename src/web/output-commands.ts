import { randomBytes } from 'node:crypto';
import type { BusSubscription, LocalBus } from '../bus/local-bus.js';
import type { CommandResponse } from '../gateway/commands/response.js';
import type { ServiceHealth } from '../util/health.js';
import type { Logger } from '../util/logger.js';

export class OutputCommandError extends Error {
  constructor(
    message: string,
    readonly code: 'timeout' | 'stopped',
  ) {
    super(message);
    this.name = 'OutputCommandError';
  }
}

export interface OutputCommand {
  output: string;
  state: 'ON' | 'OFF' | 'TOGGLE';
  /** Seconds on (or off) before the output goes back, as in `{"state":"ON","duration":5}`. */
  duration?: number;
  /** The page's logged-in user, for the log. */
  user?: string;
}

export interface OutputCommandsOptions {
  /** `<base>/<output>/set` */
  setTopic(output: string): string;
  /** `<base>/command/response` */
  responseTopic: string;
  /** How long to wait for the gateway's answer. */
  timeoutMs: number;
}

/**
 * The page's switch: it publishes a command on `<base>/<output>/set` exactly as an MQTT client would (so the
 * gateway's parser, freshness rules and executor decide, and the new state comes back on the state topic), tagged
 * with an id, and waits for the answer carrying that id on `<base>/command/response`.
 */
export class OutputCommands {
  readonly name = 'web-commands';
  private readonly log: Logger;
  private readonly waiting = new Map<string, (response: CommandResponse) => void>();
  private subscription: BusSubscription | undefined;
  private counter = 0;
  private readonly prefix = `web-${randomBytes(3).toString('hex')}-`;

  constructor(
    private readonly bus: LocalBus,
    private readonly options: OutputCommandsOptions,
    logger: Logger,
  ) {
    this.log = logger.child({ module: 'web-commands' });
  }

  async start(): Promise<void> {
    this.subscription = await this.bus.subscribe(this.options.responseTopic, ({ payload }) => {
      let response: CommandResponse;
      try {
        response = JSON.parse(payload.toString()) as CommandResponse;
      } catch {
        return;
      }
      if (typeof response.id !== 'string') return;
      this.waiting.get(response.id)?.(response);
    });
  }

  async stop(): Promise<void> {
    await this.subscription?.unsubscribe();
    this.subscription = undefined;
  }

  health(): ServiceHealth {
    return { status: this.subscription ? 'ok' : 'failed', detail: { waiting: this.waiting.size } };
  }

  /** Publishes the command and resolves with the gateway's answer (ok or refused). */
  async send(command: OutputCommand): Promise<CommandResponse> {
    if (!this.subscription) throw new OutputCommandError('not running', 'stopped');
    const id = `${this.prefix}${++this.counter}`;
    const body = { state: command.state, id, ...(command.duration === undefined ? {} : { duration: command.duration }) };
    const answered = new Promise<CommandResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new OutputCommandError(`no answer from the gateway within ${this.options.timeoutMs} ms`, 'timeout'));
      }, this.options.timeoutMs);
      this.waiting.set(id, (response) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(response);
      });
    });
    this.log.info({ output: command.output, state: command.state, duration: command.duration, user: command.user, id }, 'command from the page');
    await this.bus.publish({ topic: this.options.setTopic(command.output), payload: JSON.stringify(body), qos: 1 });
    return answered;
  }
}
