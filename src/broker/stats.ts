/** Counters the broker keeps for $SYS and metrics. Plain numbers: incrementing them is on the hot path. */
export class BrokerStats {
  readonly startedAt = Date.now();
  publishReceived = 0;
  publishSent = 0;
  publishDropped = 0;
  connectionsTotal = 0;
  clientsMaximum = 0;
  /** Writes of the on-disk store that failed (a full disk, an I/O error); each is retried. */
  storageWriteFailures = 0;
  /** Runs of failed writes that ended with a successful one. */
  storageRecoveries = 0;
  /** CONNECTs refused for a wrong username or password. */
  authFailures = 0;
  /** Password checks held back because their address failed too often (password guessing). */
  authDelayed = 0;
  /** CONNECTs refused without a check: their address already had the most connections waiting. */
  authShed = 0;
  /** Connections closed for breaking the protocol: a topic that is not valid UTF-8 or holds U+0000, a password without a username. */
  protocolViolations = 0;
  // Limits that bit: each count is one refusal, drop or disconnect (for /metrics). Dropped messages are also in
  // publishDropped, with those refused by policy.
  /** CONNECTs refused at max_connections (CONNACK 3, then closed). */
  connectionsRefused = 0;
  /** Connections closed for a packet announcing more than its limit (message_size_limit, or the CONNECT bound). */
  oversizedPackets = 0;
  /** Connections closed because bytes buffered for incomplete packets reached max_incomplete_bytes. */
  incompleteBudgetCloses = 0;
  /** Connections closed for sending more than CONNECT_BACKLOG_BYTES of packets before their CONNECT was answered. */
  connectBacklogCloses = 0;
  /** Messages for a client dropped because its queue held max_queued_messages (connected or offline). */
  queueDroppedMessages = 0;
  /** Messages for a client dropped because its queue held max_queued_bytes of payload. */
  queueDroppedBytes = 0;
  /** Subscribers disconnected because their socket stayed full for drain_timeout. */
  slowSubscriberDisconnects = 0;
  /** Clients cut off for holding too many inbound QoS 2 messages unreleased (count or max_queued_bytes). */
  inboundQos2Cutoffs = 0;
  /** Client ids of persistent sessions seen this run, connected or not. */
  readonly persistentClients = new Set<string>();
  /** Subscriptions by client id; a persistent session's remain while it is offline. */
  readonly subscriptions = new Map<string, Set<string>>();
  /** Topics that hold a retained message. */
  readonly retainedTopics = new Set<string>();

  subscriptionCount(): number {
    let total = 0;
    for (const filters of this.subscriptions.values()) total += filters.size;
    return total;
  }

  uptimeSeconds(now = Date.now()): number {
    return Math.floor((now - this.startedAt) / 1000);
  }
}

/** Mosquitto's exponentially damped 1/5/15-minute averages of a per-minute rate. */
export class LoadAverage {
  private readonly values = [0, 0, 0];
  private last: number | undefined;

  constructor(private readonly intervalSeconds: number) {}

  update(counter: number): void {
    if (this.last === undefined) {
      this.last = counter;
      return;
    }
    const perMinute = ((counter - this.last) * 60) / this.intervalSeconds;
    this.last = counter;
    [1, 5, 15].forEach((minutes, i) => {
      const decay = Math.exp(-this.intervalSeconds / (60 * minutes));
      this.values[i] = this.values[i]! * decay + perMinute * (1 - decay);
    });
  }

  get oneMinute(): number {
    return this.values[0]!;
  }
  get fiveMinutes(): number {
    return this.values[1]!;
  }
  get fifteenMinutes(): number {
    return this.values[2]!;
  }
}
