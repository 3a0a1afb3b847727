import type { OutputFailure } from './output-executor.js';
import type { CommandErrorCode, CommandId, CommandResult, OnOff } from './types.js';

export type ResponseErrorCode = CommandErrorCode | 'execution_failed';

/** JSON published on `<base>/command/response` for every command received (set topics and the command topic). */
export interface CommandResponse {
  id?: CommandId;
  ok: boolean;
  error?: { code: ResponseErrorCode; message: string };
  /** State of each output the command touched, after execution. */
  outputs?: Record<string, OnOff>;
  /** The topic the command arrived on. */
  topic: string;
  /** When the gateway received the command, ISO 8601 UTC. */
  received_at: string;
}

export interface CommandResponseInput {
  /** The parse result; a refused command is answered with its error. */
  result: CommandResult;
  topic: string;
  /** Reception time, epoch ms. */
  receivedAt: number;
  /** States after execution (ApplyOutcome.states). */
  outputs?: Record<string, OnOff>;
  /** Hardware failures during execution (ApplyOutcome.failures): the response becomes ok: false, execution_failed. */
  failures?: readonly Pick<OutputFailure, 'output' | 'message'>[];
}

export function buildCommandResponse(input: CommandResponseInput): CommandResponse {
  const { result, topic } = input;
  const response: CommandResponse = { ok: result.ok, topic, received_at: new Date(input.receivedAt).toISOString() };
  if (result.id !== undefined) response.id = result.id;
  if (!result.ok) {
    response.error = { code: result.error.code, message: result.error.message };
    return response;
  }
  if (input.outputs && Object.keys(input.outputs).length > 0) response.outputs = { ...input.outputs };
  if (input.failures && input.failures.length > 0) {
    response.ok = false;
    response.error = {
      code: 'execution_failed',
      message: input.failures.map((f) => `output "${f.output}": ${f.message}`).join('; '),
    };
  }
  return response;
}

export function serializeCommandResponse(response: CommandResponse): string {
  return JSON.stringify(response);
}
