import type { Logger } from '../../util/logger.js';
import type { ConnectionInfo } from '../connection.js';
import type { ConnectRefusal, EngineClient, EngineSubscription } from '../engine/engine.js';
import type { LoginThrottle } from './login-throttle.js';

/** Who a connected client is, for access decisions. */
export interface ClientIdentity {
  username?: string;
  clientId: string;
}

export interface PasswordVerifier {
  verify(username: string, password: Buffer | string): Promise<boolean>;
}

export interface AccessPolicy {
  canPublish(client: ClientIdentity, topic: string): boolean;
  canRead(client: ClientIdentity, topic: string): boolean;
  canSubscribe(client: ClientIdentity, filter: string): boolean;
}

export interface AccessControlOptions {
  passwordFile?: string;
  aclFile?: string;
  loadPasswords: (file: string) => Promise<PasswordVerifier>;
  loadAcl: (file: string) => Promise<AccessPolicy>;
  connectionInfo: (client: EngineClient) => ConnectionInfo | undefined;
  logger: Logger;
  /** Slows password checks per address after repeated failures; none: every CONNECT is checked at once. */
  throttle?: LoginThrottle;
  counters?: AuthCounters;
}

/** What the broker counts of logins (BrokerStats). */
export interface AuthCounters {
  /** A wrong username or password. */
  failed(): void;
  /** A password check held back because its address failed too often. */
  delayed(): void;
  /** A CONNECT refused unchecked: its address already had the most connections waiting. */
  shed(): void;
}

// aedes' CONNACK return codes (MQTT 3.1.1 §3.2.2.3).
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

function refusal(returnCode: number, message: string): ConnectRefusal {
  return Object.assign(new Error(message), { returnCode });
}

/**
 * Authentication (mosquitto password file, TLS identity, anonymous per listener) and authorisation (mosquitto
 * acl_file, plus SUBSCRIBE checks). Both files can be swapped at run time by reload(); connected clients stay.
 */
export class AccessControl {
  private passwords: PasswordVerifier | undefined;
  private acl: AccessPolicy | undefined;
  private readonly identities = new WeakMap<EngineClient, ClientIdentity>();
  private readonly log: Logger;

  constructor(private readonly options: AccessControlOptions) {
    this.log = options.logger.child({ module: 'auth' });
  }

  /** Load both files; a broken one stops the start with its error. */
  async load(): Promise<void> {
    const [passwords, acl] = await Promise.all([this.readPasswords(), this.readAcl()]);
    this.passwords = passwords;
    this.acl = acl;
  }

  /** Re-read both files; a broken one keeps the previous version and says why. Returns the errors. */
  async reload(): Promise<Error[]> {
    const [passwords, acl] = await Promise.allSettled([this.readPasswords(), this.readAcl()]);
    const errors: Error[] = [];
    if (passwords.status === 'fulfilled') this.passwords = passwords.value;
    else errors.push(passwords.reason as Error);
    if (acl.status === 'fulfilled') this.acl = acl.value;
    else errors.push(acl.reason as Error);
    for (const error of errors) this.log.error({ err: error }, 'reload failed, keeping the previous file');
    if (errors.length === 0) this.log.info('password and ACL files reloaded');
    return errors;
  }

  get hasPasswordFile(): boolean {
    return this.passwords !== undefined;
  }

  identityOf(client: EngineClient): ClientIdentity {
    return this.identities.get(client) ?? { clientId: client.id };
  }

  readonly authenticate = (
    client: EngineClient,
    username: string | undefined,
    password: Buffer | undefined,
    done: (error: ConnectRefusal | null, success: boolean | null) => void,
  ): void => {
    const info = this.options.connectionInfo(client);
    if (!info) {
      done(refusal(NOT_AUTHORIZED, 'connection of unknown origin'), false);
      return;
    }
    const accept = (identity: ClientIdentity) => {
      this.identities.set(client, identity);
      done(null, true);
    };
    const refuse = (code: number, reason: string) => {
      this.log.warn({ clientId: client.id, username, listener: info.listenerName, remote: info.socket.remoteAddress, reason }, 'connection refused');
      done(refusal(code, reason), false);
    };

    if (info.listener.tls?.useIdentityAsUsername) {
      if (!info.certificateCommonName) return refuse(NOT_AUTHORIZED, 'no verified client certificate');
      return accept({ clientId: client.id, username: info.certificateCommonName });
    }
    if (username === undefined || username === '') {
      if (info.listener.allowAnonymous) return accept({ clientId: client.id });
      return refuse(NOT_AUTHORIZED, 'anonymous access is not allowed on this listener');
    }
    const passwords = this.passwords;
    if (!passwords) {
      // Like mosquitto without a password_file: a username is only a name, so it is worth no more than anonymous.
      if (info.listener.allowAnonymous) return accept({ clientId: client.id, username });
      return refuse(NOT_AUTHORIZED, 'no password_file configured and anonymous access is not allowed on this listener');
    }
    const address = info.socket.remoteAddress;
    const throttle = this.options.throttle;
    const check = () =>
      passwords.verify(username, password ?? Buffer.alloc(0)).then(
        (ok) => {
          if (ok) return accept({ clientId: client.id, username });
          this.options.counters?.failed();
          if (throttle?.failed(address)) this.log.warn({ remote: address }, 'repeated failed logins: password checks from this address are slowed down');
          refuse(BAD_USERNAME_OR_PASSWORD, 'bad username or password');
        },
        (error: unknown) => refuse(NOT_AUTHORIZED, `password check failed: ${(error as Error).message}`),
      );
    const gate = throttle?.gate(address) ?? { check: 'now' };
    if (gate.check === 'now') {
      void check();
      return;
    }
    if (gate.check === 'refuse') {
      // Not logged one by one: a flood would write as fast as it connects. The throttle's warning said it starts.
      this.options.counters?.shed();
      done(refusal(NOT_AUTHORIZED, 'too many failed logins from this address'), false);
      return;
    }
    this.options.counters?.delayed();
    setTimeout(() => {
      throttle!.released(address);
      if (client.conn.destroyed) done(refusal(NOT_AUTHORIZED, 'connection closed while its login was delayed'), false);
      else void check();
    }, gate.delayMs);
  };

  /** A username and password checked against the password file as a CONNECT's would be; false without a file. */
  verifyPassword(username: string, password: string): Promise<boolean> {
    const passwords = this.passwords;
    return passwords ? passwords.verify(username, password) : Promise.resolve(false);
  }

  /** Whether the ACL lets `identity` publish on `topic` (true without an acl_file): for callers acting for a user. */
  allowsPublish(identity: ClientIdentity, topic: string): boolean {
    const acl = this.acl;
    return !acl || acl.canPublish(identity, topic);
  }

  /** Whether `client` may publish on `topic`: false means drop (still acknowledged, as MQTT 3.1.1 requires). */
  mayPublish(client: EngineClient, topic: string): boolean {
    const acl = this.acl;
    if (!acl) return true;
    return acl.canPublish(this.identityOf(client), topic);
  }

  readonly authorizeSubscribe = (
    client: EngineClient,
    subscription: EngineSubscription,
    callback: (error: Error | null, subscription: EngineSubscription | null) => void,
  ): void => {
    const acl = this.acl;
    if (!acl || acl.canSubscribe(this.identityOf(client), subscription.topic)) {
      callback(null, subscription);
      return;
    }
    this.log.warn({ clientId: client.id, username: this.identities.get(client)?.username, filter: subscription.topic }, 'subscription denied by ACL');
    // A null subscription makes aedes answer 0x80 for this filter in SUBACK.
    callback(null, null);
  };

  /** Whether a message on `topic` may be delivered to `client`. */
  mayRead(client: EngineClient, packet: { topic: string }): boolean {
    const acl = this.acl;
    return !acl || acl.canRead(this.identityOf(client), packet.topic);
  }

  private async readPasswords(): Promise<PasswordVerifier | undefined> {
    return this.options.passwordFile ? this.options.loadPasswords(this.options.passwordFile) : undefined;
  }

  private async readAcl(): Promise<AccessPolicy | undefined> {
    return this.options.aclFile ? this.options.loadAcl(this.options.aclFile) : undefined;
  }
}
