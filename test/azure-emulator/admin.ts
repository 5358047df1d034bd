// The admin API on https://127.0.0.1:<port>/_emulator/..., for driving an
// emulator that runs as a separate process: the same operations as the library.
import { z } from 'zod';
import { jsonReply, type Reply, type ServiceRequest } from './reply.ts';
import type { RequestFilter, RequestLogEntry } from './request-log.ts';
import type { World } from './world.ts';

export type EmulatorControl = {
  world(): World;
  setWorld(input: unknown): void;
  setFaults(input: unknown): void;
  requests(filter?: RequestFilter): RequestLogEntry[];
  clearRequests(): void;
};

const filterSchema = z.object({
  host: z.string().optional(),
  method: z.string().optional(),
  path: z.string().optional(),
  service: z.enum(['entra', 'openai', 'arm', 'admin', 'unknown']).optional(),
  tenantId: z.string().optional(),
  clientId: z.string().optional(),
  grantType: z.string().optional(),
  resource: z.string().optional(),
  deployment: z.string().optional(),
  outcome: z.string().optional(),
  fault: z.enum(['latency', 'hang', 'status', 'reset']).optional(),
  status: z.coerce.number().int().optional(),
  bearerTokenPresent: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
});

export function createAdmin(control: EmulatorControl) {
  return function handleAdmin(request: ServiceRequest): Reply {
    const route = `${request.method} ${request.url.pathname.replace(/\/$/, '')}`;
    try {
      switch (route) {
        case 'GET /_emulator/world':
          return jsonReply(200, control.world(), 'ok');
        case 'PUT /_emulator/world':
          control.setWorld(parseJson(request.body));
          return jsonReply(200, control.world(), 'ok');
        case 'POST /_emulator/faults':
          control.setFaults(parseJson(request.body));
          return jsonReply(200, control.world().faults, 'ok');
        case 'GET /_emulator/requests': {
          const filter = filterSchema.parse(Object.fromEntries(request.url.searchParams));
          return jsonReply(200, control.requests(filter), 'ok');
        }
        case 'DELETE /_emulator/requests':
          control.clearRequests();
          return { status: 204, outcome: 'ok' };
        default:
          return jsonReply(404, { error: 'not_found', routes: adminRoutes }, 'NotFound');
      }
    } catch (error) {
      if (error instanceof z.ZodError || error instanceof SyntaxError) {
        return jsonReply(
          400,
          { error: 'invalid_request', message: error.message },
          'InvalidRequest',
        );
      }
      throw error;
    }
  };
}

const adminRoutes = [
  'GET /_emulator/world',
  'PUT /_emulator/world',
  'POST /_emulator/faults',
  'GET /_emulator/requests',
  'DELETE /_emulator/requests',
];

function parseJson(body: Buffer): unknown {
  return JSON.parse(body.toString('utf8'));
}
