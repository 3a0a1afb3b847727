/** Typed commands parsed from MQTT payloads. Parsing never throws: every outcome is a CommandResult. */

export type OutputActionKind = 'on' | 'off' | 'toggle';

export interface OutputAction {
  output: string;
  action: OutputActionKind;
  /** Timed command: hold the new level this long, then return to the level before the command. */
  durationMs?: number;
}

/** Correlation id sent by the caller and echoed in the response. */
export type CommandId = string | number;

export type CommandErrorCode =
  /** Not decodable: invalid UTF-8, bad JSON, wrong shape, unknown field. */
  | 'malformed'
  | 'payload_too_large'
  /** Names an output that is not configured. */
  | 'unknown_output'
  /** A field has a value outside its vocabulary or range (state, duration, timestamp format...). */
  | 'invalid_value'
  /** Too old (timestamp older than the maximum age) or past its expiry. */
  | 'expired'
  /** Timestamp further in the future than the allowed clock skew. */
  | 'future_timestamp'
  /** The gateway requires a timestamp or expiry and the command has neither. */
  | 'missing_timestamp';

export interface CommandError {
  code: CommandErrorCode;
  message: string;
}

export type CommandResult =
  | { ok: true; actions: OutputAction[]; id?: CommandId }
  | { ok: false; error: CommandError; id?: CommandId };

/** Logical output state as published and as Home Assistant's payload_on / payload_off. */
export type OnOff = 'ON' | 'OFF';
