import { Aedes as PlainAedes, type AedesOptions, type Client } from 'aedes';
import type { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import pino from 'pino';
import { DeliveryEngine, type EngineClient, type EngineMessage, type EnginePolicy } from '../../../../src/broker/engine/engine.js';

/**
 * What aedes' own test suite gets as its `../aedes.js` (resolve-aedes.mjs): an `Aedes` whose brokers are built by
 * DeliveryEngine.open, so the suite runs against aedes as the engine patches it.
 *
 * A broker the suite holds is a proxy in front of the aedes instance the engine created; reads, writes and method
 * calls go through to it, except:
 * - handle(stream) goes through engine.handle (packet reader, flowing reads, delivery window);
 * - the policy hooks (preConnect, authenticate, authorizePublish, authorizeSubscribe, authorizeForward), whether
 *   given as options or assigned later as the suite often does, are what the engine's policy asks, and aedes keeps
 *   calling the engine's own functions. So a PUBLISH refused by authorizePublish gets the engine's treatment
 *   (acknowledged and dropped), and a hook whose callback comes later than the packet's read cannot refuse it;
 * - close() closes the engine (aedes, then the store).
 * `persistence` and `mq` options are ignored: the engine needs its own store and matcher (synchronous calls that
 * aedes' interfaces do not have). The tests that depend on them are in docs/aedes-suite-deviations.md.
 *
 * Before listen() the broker is a plain aedes instance built with the same options (`new Aedes(opts)` and what the
 * suite reads or calls before listening: its id, a Client's waitForDrain); listen() replaces it with the engine's.
 */

type Options = AedesOptions & Record<string, unknown>;
type Hooks = Pick<AedesOptions, 'preConnect' | 'authenticate' | 'authorizePublish' | 'authorizeSubscribe' | 'authorizeForward'>;
const HOOKS = new Set<PropertyKey>(['preConnect', 'authenticate', 'authorizePublish', 'authorizeSubscribe', 'authorizeForward']);
/** Options the engine does not take from the suite (see above); the hooks go to the policy instead. */
const NOT_OVERRIDDEN = new Set<string>(['persistence', 'mq', ...(HOOKS as Set<string>)]);

/** aedes' defaults (aedes.js), for the hooks a test leaves unset. */
const SYS_PREFIX = '$SYS/';
const defaultHooks: Required<Hooks> = {
  preConnect: (_client, _packet, callback) => callback(null, true),
  authenticate: (_client, _username, _password, done) => done(null, true),
  authorizePublish: (_client, packet, callback) => callback(packet.topic.startsWith(SYS_PREFIX) ? new Error(`${SYS_PREFIX} topic is reserved`) : null),
  authorizeSubscribe: (_client, subscription, callback) => callback(null, subscription),
  authorizeForward: (_client, packet) => packet,
};

const brokers = new WeakSet<object>();

class SuiteBroker {
  readonly hooks: Hooks = {};
  engine: DeliveryEngine | undefined;
  /** The aedes instance the suite talks to: a plain one until listen(), then the engine's. */
  current: PlainAedes;
  private closing: Promise<void> | undefined;
  readonly proxy: PlainAedes;

  constructor(private readonly options: Options = {}) {
    for (const name of HOOKS) {
      const hook = options[name as string];
      if (typeof hook === 'function') (this.hooks as Record<string, unknown>)[name as string] = hook;
    }
    this.current = new PlainAedes(options);
    this.proxy = new Proxy(this.current, {
      get: (_target, property) => this.get(property),
      set: (_target, property, value: unknown) => {
        if (HOOKS.has(property)) (this.hooks as Record<PropertyKey, unknown>)[property] = value;
        else Reflect.set(this.current, property, value);
        return true;
      },
      has: (_target, property) => Reflect.has(this.current, property),
      deleteProperty: (_target, property) => Reflect.deleteProperty(this.current, property),
      defineProperty: (_target, property, descriptor) => Reflect.defineProperty(this.current, property, descriptor),
      getOwnPropertyDescriptor: (_target, property) => Reflect.getOwnPropertyDescriptor(this.current, property),
      ownKeys: () => Reflect.ownKeys(this.current),
    });
    brokers.add(this.proxy);
  }

  private get(property: PropertyKey): unknown {
    switch (property) {
      case 'listen':
        return this.listen;
      case 'handle':
        return this.handle;
      case 'close':
        return this.close;
      default:
        return Reflect.get(this.current, property);
    }
  }

  private readonly listen = async (): Promise<void> => {
    const plain = this.current;
    const overrides: Partial<AedesOptions> = {};
    for (const [name, value] of Object.entries(this.options)) {
      if (!NOT_OVERRIDDEN.has(name) && value !== undefined) (overrides as Record<string, unknown>)[name] = value;
    }
    const engine = await DeliveryEngine.open(
      {
        id: plain.id,
        limits: {
          messageSizeLimit: 0,
          maxKeepalive: 65535,
          maxQueuedMessages: 0, maxQueuedBytes: 0, maxIncompleteBytes: 0,
          maxInflightMessages: 0,
          drainTimeoutMs: this.options.drainTimeout ?? 60_000,
        },
        policy: this.policy,
        logger: pino({ level: 'silent' }),
      },
      { ...overrides, id: plain.id },
    );
    const aedes = engine.aedesForTestSuite;
    this.wrapHooks(aedes);
    // Listeners the suite added before listen() belong to the broker it holds.
    for (const event of plain.eventNames()) for (const listener of plain.rawListeners(event)) aedes.on(event as 'closed', listener as () => void);
    this.engine = engine;
    this.current = aedes;
  };

  /**
   * The test's preConnect runs before the engine's (which installs the client's delivery window), and its
   * authorizeForward after the engine's ($SYS/<id>/ announcements are for the broker only), so a test's hook can
   * change or drop what the engine lets through, as it would in aedes.
   */
  private wrapHooks(aedes: PlainAedes): void {
    const preConnect = aedes.preConnect;
    aedes.preConnect = (client, packet, callback) => {
      const hook = this.hooks.preConnect;
      if (!hook) return preConnect(client, packet, callback);
      hook(client, packet, (error, ok) => (error || !ok ? callback(error, ok) : preConnect(client, packet, callback)));
    };
    const authorizeForward = aedes.authorizeForward;
    aedes.authorizeForward = (client, packet) => {
      const allowed = authorizeForward(client, packet);
      if (!allowed) return allowed;
      return (this.hooks.authorizeForward ?? defaultHooks.authorizeForward)(client, allowed);
    };
  }

  /** The engine's decisions, made by the test's hooks (or aedes' defaults). */
  private readonly policy: EnginePolicy = {
    admit: () => true,
    authenticate: (client, username, password, done) =>
      (this.hooks.authenticate ?? defaultHooks.authenticate)(client as unknown as Client, username, password, done as never),
    refusePublish: (client: EngineClient, message: EngineMessage) => {
      // The engine decides as the packet is read: only a refusal the hook gives before returning counts.
      let refusal: string | undefined;
      (this.hooks.authorizePublish ?? defaultHooks.authorizePublish)(client as unknown as Client, message as never, (error) => {
        // aedes refuses on any error, `new Error()` with no message included.
        if (error) refusal = error.message || 'not authorized';
      });
      return refusal;
    },
    authorizeSubscribe: (client, subscription, callback) =>
      (this.hooks.authorizeSubscribe ?? defaultHooks.authorizeSubscribe)(client as unknown as Client, subscription as never, (error, granted) =>
        callback(error, (granted ?? null) as never),
      ),
    mayForward: () => true,
  };

  /** engine.handle, returning the Client aedes creates for the stream as aedes' handle does. */
  private readonly handle = (stream: Duplex, request?: IncomingMessage): Client | undefined => {
    const engine = this.engine;
    const aedes = this.current;
    if (!engine) return aedes.handle(stream, request);
    if (!(stream instanceof Socket)) deliverLikeASocket(stream);
    const handle = aedes.handle;
    let client: Client | undefined;
    aedes.handle = (conn, req) => (client = handle(conn, req ?? request));
    try {
      engine.handle(stream, stream instanceof Socket ? stream : undefined);
    } finally {
      aedes.handle = handle;
    }
    return client;
  };

  private readonly close = (callback?: (error?: Error) => void): void => {
    const engine = this.engine;
    if (!engine) {
      this.current.close(callback);
      return;
    }
    this.closing ??= engine.close();
    this.closing.then(
      () => callback?.(),
      (error: Error) => callback?.(error),
    );
  };
}

/**
 * The suite's in-memory pairs (stream.duplexPair) push what one side writes into the other side synchronously, inside
 * write(), and take the next write only once the reader asks for more. A socket does neither: the kernel takes the
 * writes, and the reader gets all that arrived meanwhile in one read from the event loop. The engine reads in
 * flowing mode (read-loop.ts), so on a pair it would handle a test's packet, and emit its events, before the test's
 * write() returns, and read each written packet on its own; aedes' paused-mode reads wait for a 'readable' event and
 * take everything buffered by then. Here the broker's side takes every write at once, and what was written until a
 * turn of the event loop brings nothing new reaches the engine then, as one chunk, as from a socket.
 */
function deliverLikeASocket(stream: Duplex): void {
  const push = stream.push.bind(stream);
  const takeNextWrite = (stream as unknown as { _read(size: number): void })._read.bind(stream);
  const pending: Buffer[] = [];
  let scheduled = false;
  /**
   * Written since the delivery was scheduled or last checked: the writer may have more (a piped writer's next write
   * comes a few ticks later). The write that schedules does not count, so a lone write is delivered one turn later,
   * not two: a test that gives the broker one timer turn to read it (qos1.js "resend publish on non-clean reconnect
   * QoS 1", `await delay(0)` after its PUBACK) otherwise lost the race about half the time under load.
   */
  let fresh = false;
  let ended = false;
  const deliver = (): void => {
    if (fresh) {
      fresh = false;
      setImmediate(deliver);
      return;
    }
    scheduled = false;
    if (pending.length > 0) push(Buffer.concat(pending.splice(0)));
    if (ended) push(null);
  };
  stream.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
    if (!scheduled) {
      scheduled = true;
      setImmediate(deliver);
    } else {
      fresh = true;
    }
    if (chunk === null) ended = true;
    else pending.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string, encoding));
    // The pair hands its write callback over after push() returns.
    process.nextTick(takeNextWrite, 0);
    return true;
  };
}

/** aedes' `Aedes`, as the suite uses it: `new Aedes(opts)` then `listen()`, or `Aedes.createBroker(opts)`. */
export class Aedes {
  constructor(options?: Options) {
    return new SuiteBroker(options).proxy as unknown as Aedes;
  }

  static async createBroker(options?: Options): Promise<PlainAedes> {
    const broker = new SuiteBroker(options);
    await (broker.proxy as unknown as { listen(): Promise<void> }).listen();
    return broker.proxy;
  }

  static [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && brokers.has(value);
  }
}

/** aedes 1.x's default export is gone: calling it throws, telling to use Aedes.createBroker (aedes.js warnMigrate). */
export default function aedes(): never {
  throw new Error("Aedes default export has been removed. Use 'const aedes = await Aedes.createBroker()' instead.");
}
