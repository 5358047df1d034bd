// The one HTTPS listener behind every emulated Azure host. It routes by the
// Host header, applies faults, calls the service, and records every request
// (before answering, so a client that got its answer finds the entry).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tokenRequestLogFields } from './entra.ts';
import { takeFault } from './faults.ts';
import type { LogNote, Reply, ServiceRequest } from './reply.ts';
import type { RequestLog, RequestLogEntry } from './request-log.ts';
import type { ArmRoute, EntraRoute, OpenAiRoute, Route } from './routing.ts';
import { hostWithoutPort, routeRequest } from './routing.ts';
import type { Fault, World } from './world.ts';

export type Services = {
  entra(request: ServiceRequest, route: EntraRoute, note: LogNote): Reply | Promise<Reply>;
  openai(request: ServiceRequest, route: OpenAiRoute, note: LogNote): Reply | Promise<Reply>;
  arm(request: ServiceRequest, route: ArmRoute, note: LogNote): Reply | Promise<Reply>;
  admin(request: ServiceRequest): Reply | Promise<Reply>;
};

export type EmulatorServerOptions = {
  certPem: string;
  keyPem: string;
  // The live world: faults are counted down in it.
  world: () => World;
  services: Services;
  log: RequestLog;
};

export type EmulatorServer = {
  listen(port: number): Promise<number>;
  close(): Promise<void>;
};

const maxBodyBytes = 4 * 1024 * 1024;

export function createEmulatorServer(options: EmulatorServerOptions): EmulatorServer {
  // Raw TCP sockets by remote address, so a reset can send a real RST.
  const rawSockets = new Map<string, Socket>();
  const server: Server = createServer({ cert: options.certPem, key: options.keyPem });
  // Azure's front ends keep an idle connection for minutes; Node's default is 5 s,
  // which would make every client open a new TLS connection at almost every request.
  server.keepAliveTimeout = 120_000;
  server.on('connection', (socket: Socket) => {
    const key = socketKey(socket);
    rawSockets.set(key, socket);
    socket.once('close', () => rawSockets.delete(key));
  });
  // A client that rejects our certificate is a test outcome, not a server problem.
  server.on('tlsClientError', () => {});
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    handle(options, req, res, rawSockets).catch((error: unknown) => {
      process.stderr.write(
        `azure-emulator: ${error instanceof Error ? error.stack : String(error)}\n`,
      );
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });

  return {
    listen(port) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => {
          server.off('error', reject);
          resolve((server.address() as AddressInfo).port);
        });
      });
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        // Hung requests and idle keep-alive connections would hold close() open.
        server.closeAllConnections();
      });
    },
  };
}

async function handle(
  options: EmulatorServerOptions,
  req: IncomingMessage,
  res: ServerResponse,
  rawSockets: Map<string, Socket>,
): Promise<void> {
  const body = await readBody(req);
  const hostHeader = req.headers.host ?? '';
  const host = hostWithoutPort(hostHeader);
  const url = new URL(req.url ?? '/', `https://${hostHeader || 'localhost'}`);
  const route = routeRequest(host, url.pathname);
  const bearerToken = bearerTokenOf(req.headers.authorization);
  const request: ServiceRequest = {
    method: req.method ?? 'GET',
    host,
    url,
    headers: lowerCasedHeaders(req),
    body,
    bearerToken,
  };
  const entry: RequestLogEntry = {
    time: new Date().toISOString(),
    host,
    method: request.method,
    path: url.pathname,
    service: route.service,
    ...routeLogFields(route),
    bearerTokenPresent: bearerToken !== undefined,
    status: null,
    outcome: '',
  };
  const note: LogNote = (fields) => {
    for (const [key, value] of Object.entries(fields)) {
      if (value !== undefined) Object.assign(entry, { [key]: value });
    }
  };

  // Known before any fault, so a faulted token request still shows who asked.
  if (route.service === 'entra' && request.method === 'POST') {
    note(tokenRequestLogFields(new URLSearchParams(body.toString('utf8'))));
  }

  const fault = takeFault(options.world(), route);
  if (fault !== undefined) {
    entry.fault = fault.kind;
    switch (fault.kind) {
      case 'hang':
        // Never answer: the client's own timeout has to fire.
        options.log.record({ ...entry, outcome: 'fault:hang' });
        return;
      case 'reset': {
        options.log.record({ ...entry, outcome: 'fault:reset' });
        const raw = rawSockets.get(socketKey(req.socket));
        if (raw !== undefined) raw.resetAndDestroy();
        else req.socket.destroy();
        return;
      }
      case 'status':
        send(res, options.log, entry, faultReply(fault, route.service));
        return;
      case 'latency':
        await new Promise((resolve) => setTimeout(resolve, fault.ms ?? 0));
        break;
    }
  }

  send(res, options.log, entry, await serve(options.services, request, route, note));
}

function serve(services: Services, request: ServiceRequest, route: Route, note: LogNote) {
  switch (route.service) {
    case 'entra':
      return services.entra(request, route, note);
    case 'openai':
      return services.openai(request, route, note);
    case 'arm':
      return services.arm(request, route, note);
    case 'admin':
      return services.admin(request);
    case 'unknown':
      return {
        status: 404,
        body: {
          error: { code: 'UnknownHost', message: `The emulator serves no host ${request.host}.` },
        },
        outcome: 'UnknownHost',
      };
  }
}

function send(res: ServerResponse, log: RequestLog, entry: RequestLogEntry, reply: Reply): void {
  log.record({ ...entry, status: reply.status, outcome: reply.outcome });
  const headers: Record<string, string> = { ...reply.headers };
  let payload: Buffer | undefined;
  if (typeof reply.body === 'string') {
    payload = Buffer.from(reply.body);
    headers['content-type'] ??= 'text/plain; charset=utf-8';
  } else if (reply.body !== undefined) {
    payload = Buffer.from(JSON.stringify(reply.body));
    headers['content-type'] ??= 'application/json; charset=utf-8';
  }
  if (payload !== undefined) headers['content-length'] = String(payload.length);
  res.writeHead(reply.status, headers);
  res.end(payload);
}

function faultReply(fault: Fault, service: Route['service']): Reply {
  const status = fault.status ?? 503;
  const headers: Record<string, string> = {};
  if (fault.retryAfterSeconds !== undefined)
    headers['retry-after'] = String(fault.retryAfterSeconds);
  return {
    status,
    headers,
    body: fault.body ?? defaultFaultBody(status, service),
    outcome: 'fault:status',
  };
}

// Entra throttling answers in plain text; the others with their JSON error shape.
function defaultFaultBody(status: number, service: Route['service']): unknown {
  const text = status === 429 ? 'Too Many Requests' : 'Service Unavailable';
  if (service === 'entra') return text;
  if (service === 'arm')
    return {
      error: { code: status === 429 ? 'TooManyRequests' : 'ServiceUnavailable', message: text },
    };
  return { error: { code: String(status), message: text } };
}

function routeLogFields(route: Route): Partial<RequestLogEntry> {
  switch (route.service) {
    case 'entra':
      return route.tenant === undefined ? {} : { tenantId: route.tenant };
    case 'openai':
      return {
        resource: route.resourceName,
        ...(route.deployment === undefined ? {} : { deployment: route.deployment }),
      };
    case 'arm':
      return route.target === undefined ? {} : { resource: route.target.accountName };
    default:
      return {};
  }
}

function bearerTokenOf(authorization: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return match?.[1];
}

function lowerCasedHeaders(req: IncomingMessage): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > maxBodyBytes) throw new Error('request body too large');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

function socketKey(socket: Socket): string {
  return `${socket.remoteAddress}:${socket.remotePort}`;
}
