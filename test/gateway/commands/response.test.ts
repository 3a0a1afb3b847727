import { describe, expect, it } from 'vitest';
import { buildCommandResponse, serializeCommandResponse } from '../../../src/gateway/commands/response.js';
import { CommandParser } from '../../../src/gateway/commands/parse.js';

const RECEIVED = Date.parse('2025-06-01T12:00:00.250Z');
const parser = new CommandParser({ outputs: ['led', 'relay'] });

describe('buildCommandResponse', () => {
  it('answers a successful command with the new output states and the echoed id', () => {
    const result = parser.parseGatewayCommand('{"led":"on","id":"abc"}', RECEIVED);
    const response = buildCommandResponse({ result, topic: 'pi/command', receivedAt: RECEIVED, outputs: { led: 'ON' } });
    expect(response).toEqual({ id: 'abc', ok: true, outputs: { led: 'ON' }, topic: 'pi/command', received_at: '2025-06-01T12:00:00.250Z' });
    expect(JSON.parse(serializeCommandResponse(response))).toEqual(response);
  });

  it('answers a refused command with its error and no outputs', () => {
    const result = parser.parseSet('fan', '{"state":"ON","id":9}', RECEIVED);
    expect(buildCommandResponse({ result, topic: 'pi/fan/set', receivedAt: RECEIVED })).toEqual({
      id: 9,
      ok: false,
      error: { code: 'unknown_output', message: 'unknown output "fan" (known outputs: led, relay)' },
      topic: 'pi/fan/set',
      received_at: '2025-06-01T12:00:00.250Z',
    });
  });

  it('turns hardware failures into execution_failed, keeping the outputs that worked', () => {
    const result = parser.parseGatewayCommand('{"led":"on","relay":"on"}', RECEIVED);
    const response = buildCommandResponse({
      result,
      topic: 'pi/command',
      receivedAt: RECEIVED,
      outputs: { led: 'ON' },
      failures: [{ output: 'relay', message: 'gpio27: EIO' }],
    });
    expect(response).toMatchObject({ ok: false, outputs: { led: 'ON' }, error: { code: 'execution_failed', message: 'output "relay": gpio27: EIO' } });
    expect(response).not.toHaveProperty('id');
  });
});
