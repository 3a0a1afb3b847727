class QueueError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** onFull is 'refuse' and the message does not fit under maxBytes; the bridge drops it and counts it. */
export class QueueFullError extends QueueError {
  constructor(readonly bytes: number, readonly maxBytes: number) {
    super(`bridge queue full: ${bytes} bytes queued, max ${maxBytes}`);
  }
}

/** One message larger than a record may be (its size would break the queue's memory bound). */
export class RecordTooLargeError extends QueueError {
  constructor(readonly recordBytes: number, readonly maxRecordBytes: number) {
    super(`message of ${recordBytes} bytes (encoded) exceeds the bridge queue's limit of ${maxRecordBytes}`);
  }
}

export class QueueClosedError extends QueueError {
  constructor() {
    super('bridge queue is closed');
  }
}

/** A write to the queue's files failed; the queue refuses appends until it is reopened (which recovers the files). */
export class QueueBrokenError extends QueueError {}

/** A committed record that can no longer be decoded (the medium changed under us, not a torn write). */
export class QueueCorruptError extends QueueError {}

/** The queue is being reopened after a failed write: it takes nothing until it is open again. */
export class QueueUnavailableError extends QueueError {
  constructor(reason: string) {
    super(`bridge queue unavailable (${reason})`);
  }
}
