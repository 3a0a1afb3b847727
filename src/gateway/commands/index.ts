export { checkFreshness, parseTime, type FreshnessPolicy, type FreshnessVerdict, type ParsedTime } from './freshness.js';
export {
  ExecutorShutDownError,
  OutputExecutor,
  OutputExecutorError,
  UnknownOutputError,
  type ApplyOutcome,
  type ManagedOutput,
  type OutputChangeCause,
  type OutputExecutorOptions,
  type OutputFailure,
  type OutputStateReport,
  type Scheduler,
} from './output-executor.js';
export { CommandParser, RESERVED_COMMAND_KEYS, type CommandParserOptions } from './parse.js';
export { buildCommandResponse, serializeCommandResponse, type CommandResponse, type CommandResponseInput, type ResponseErrorCode } from './response.js';
export { binaryStatePayload, toLevel, toOnOff, type BinaryStatePayload } from './state.js';
export type { CommandError, CommandErrorCode, CommandId, CommandResult, OnOff, OutputAction, OutputActionKind } from './types.js';
