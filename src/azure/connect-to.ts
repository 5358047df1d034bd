// Like curl's --connect-to: send the TCP connection for an Azure host to
// another address while TLS still uses the real host name for SNI and for
// certificate verification, which is never turned off. Tests point every
// Azure host at the emulator this way and keep the production host allowlist;
// the same rules can route through a private address in production.
import { Agent as HttpsAgent } from 'node:https';
import { isIP } from 'node:net';
import {
  checkServerIdentity,
  connect,
  createSecureContext,
  getCACertificates,
  type TLSSocket,
} from 'node:tls';
import { createDefaultHttpClient, type HttpClient } from '@azure/core-rest-pipeline';
import { Agent as UndiciAgent, fetch as undiciFetch } from 'undici';
import { type AzureRequestCounter, serviceOfHost } from './request-metrics.ts';

export type ConnectToRule = {
  // '' matches any host, '*.suffix' any name below suffix, otherwise one exact name.
  host: string;
  // undefined matches any port.
  port: number | undefined;
  // undefined keeps the original host or port (curl's empty field).
  targetHost: string | undefined;
  targetPort: number | undefined;
};

export class ConnectToSyntaxError extends Error {
  override name = 'ConnectToSyntaxError';
}

const hostNamePattern = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/i;

// Parses "HOST:PORT:TARGET_HOST:TARGET_PORT[,...]"; IPv6 addresses go in
// brackets. An empty spec means no rules.
export function parseConnectTo(spec: string): ConnectToRule[] {
  if (spec.trim() === '') return [];
  return spec.split(',').map((entry) => parseRule(entry.trim()));
}

function parseRule(entry: string): ConnectToRule {
  const fail = (why: string): never => {
    throw new ConnectToSyntaxError(
      `Invalid connect-to rule "${entry}": ${why}; expected HOST:PORT:TARGET_HOST:TARGET_PORT, e.g. "*.openai.azure.com:443:10.0.0.5:443" or "::127.0.0.1:8443"`,
    );
  };
  if (entry === '') fail('the rule is empty (a stray comma?)');
  const fields = splitFields(entry) ?? fail('unbalanced [ ] around an IPv6 address');
  if (fields.length !== 4) fail(`${fields.length} fields instead of 4`);
  const [host = '', port = '', targetHost = '', targetPort = ''] = fields;
  return {
    host: parseSourceHost(host) ?? fail(`"${host}" is not a host name, *.suffix or empty`),
    port: port === '' ? undefined : (parsePort(port) ?? fail(`"${port}" is not a port`)),
    targetHost:
      targetHost === ''
        ? undefined
        : (parseHost(targetHost) ?? fail(`"${targetHost}" is not a host`)),
    targetPort:
      targetPort === ''
        ? undefined
        : (parsePort(targetPort) ?? fail(`"${targetPort}" is not a port`)),
  };
}

// Splits on ':' outside brackets, so "[::1]" stays one field.
function splitFields(entry: string): string[] | undefined {
  const fields: string[] = [];
  let current = '';
  let inBrackets = false;
  for (const char of entry) {
    if (char === '[' && !inBrackets) inBrackets = true;
    else if (char === ']' && inBrackets) inBrackets = false;
    else if (char === ':' && !inBrackets) {
      fields.push(current);
      current = '';
      continue;
    }
    current += char;
  }
  if (inBrackets) return undefined;
  fields.push(current);
  return fields;
}

function parseSourceHost(field: string): string | undefined {
  if (field === '') return '';
  if (field.startsWith('*.')) {
    const suffix = parseHost(field.slice(2));
    return suffix === undefined || isIP(suffix) !== 0 ? undefined : `*.${suffix}`;
  }
  return parseHost(field);
}

function parseHost(field: string): string | undefined {
  const bracketed = /^\[(.+)\]$/.exec(field);
  if (bracketed?.[1] !== undefined)
    return isIP(bracketed[1]) === 6 ? bracketed[1].toLowerCase() : undefined;
  if (isIP(field) === 4) return field;
  return hostNamePattern.test(field) ? field.toLowerCase().replace(/\.$/, '') : undefined;
}

function parsePort(field: string): number | undefined {
  if (!/^\d{1,5}$/.test(field)) return undefined;
  const port = Number(field);
  return port >= 1 && port <= 65535 ? port : undefined;
}

export type ConnectTarget = { host: string; port: number };

// The address to dial for host:port: the first matching rule wins.
export function resolveConnectTo(
  rules: ConnectToRule[],
  host: string,
  port: number,
): ConnectTarget {
  const name = host
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');
  const rule = rules.find(
    (r) => (r.port === undefined || r.port === port) && hostMatches(r.host, name),
  );
  return { host: rule?.targetHost ?? name, port: rule?.targetPort ?? port };
}

function hostMatches(pattern: string, host: string): boolean {
  if (pattern === '') return true;
  if (pattern.startsWith('*.'))
    return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
  return pattern === host;
}

export type AzureTransportOptions = {
  connectTo?: ConnectToRule[];
  // Extra CAs to trust next to the default ones (e.g. the emulator's test CA).
  extraCaPem?: string[];
  // Counts the requests sent through `httpClient` (credentials, ARM).
  requests?: AzureRequestCounter;
};

export type AzureTransport = {
  // For @azure/identity credentials and ARM clients (`httpClient` option).
  httpClient: HttpClient;
  // For fetch from the 'undici' package (`fetch(url, { dispatcher })`). Node's
  // global fetch bundles an older undici and rejects this dispatcher.
  dispatcher: UndiciAgent;
  // undici's fetch bound to the dispatcher: pass as `fetch` to the openai SDK.
  fetch: typeof globalThis.fetch;
  // For node:https requests.
  agent: HttpsAgent;
  close(): Promise<void>;
};

const connectTimeoutMs = 10_000;

// Each idle TLS connection holds about 84 KB of native memory, so one per customer
// host, closed after 5 s idle: with a thousand hosts, 10 s kept 2000 of them open.
// The data-plane client queues its calls per host, an edit's first (ADR 0009).
export const connectionsPerEndpointHost = 1;

export function createAzureTransport(options: AzureTransportOptions = {}): AzureTransport {
  const rules = options.connectTo ?? [];
  // The default store keeps NODE_EXTRA_CA_CERTS and --use-system-ca working.
  // One secure context for every connection: passing `ca` to each connect would parse
  // the whole root store again per connection (about a megabyte of native memory each).
  const secureContext =
    options.extraCaPem === undefined || options.extraCaPem.length === 0
      ? undefined
      : createSecureContext({ ca: [...getCACertificates('default'), ...options.extraCaPem] });

  // TLS session resumption, as undici's own connector has: a resumed handshake skips
  // the certificate exchange and verification, the dearest part of a new connection.
  // Only sessions of handshakes verified for that very name and target are kept.
  const sessions = new Map<string, Buffer>();
  const maxSessions = 1_000;
  const openTls = (host: string, port: number, extra: object): TLSSocket => {
    const target = resolveConnectTo(rules, host, port);
    const verifiedName = host.replace(/^\[(.*)\]$/, '$1');
    const sessionKey = `${verifiedName}\0${port}\0${target.host}\0${target.port}`;
    const session = sessions.get(sessionKey);
    const socket = connect({
      ...extra,
      host: target.host,
      port: target.port,
      // SNI cannot carry an IP address; verification below still uses it.
      ...(isIP(verifiedName) === 0 ? { servername: verifiedName } : {}),
      ...(secureContext === undefined ? {} : { secureContext }),
      ...(session === undefined ? {} : { session }),
      rejectUnauthorized: true,
      checkServerIdentity: (_dialed, cert) => checkServerIdentity(verifiedName, cert),
    });
    socket.on('session', (ticket: Buffer) => {
      if (!socket.authorized) return;
      sessions.delete(sessionKey);
      sessions.set(sessionKey, ticket);
      if (sessions.size > maxSessions) sessions.delete(sessions.keys().next().value as string);
    });
    socket.once('error', () => sessions.delete(sessionKey));
    return socket;
  };

  // Entra ID and ARM: a few hosts shared by every customer. Requests are not capped,
  // so one customer's hanging calls cannot queue everyone else's behind them (the
  // workers bound them anyway); idle connections are, since each holds about 70 KB
  // of native memory.
  const agent = new HttpsAgent({ keepAlive: true, maxFreeSockets: 8 });
  agent.createConnection = (connectOptions) => {
    const { host, port, ...rest } = connectOptions as { host?: string; port?: number | string };
    return openTls(host ?? 'localhost', Number(port ?? 443), rest);
  };

  const dispatcher = new UndiciAgent({
    // Customer endpoints: one pool per host, thousands of hosts.
    connections: connectionsPerEndpointHost,
    keepAliveTimeout: 5_000,
    keepAliveMaxTimeout: 5_000,
    connect(connectOptions, callback) {
      const port = connectOptions.port === '' ? 443 : Number(connectOptions.port);
      const socket = openTls(connectOptions.hostname, port, { ALPNProtocols: ['http/1.1'] });
      const timer = setTimeout(() => {
        socket.destroy(
          new Error(
            `Connect timeout after ${connectTimeoutMs} ms to ${connectOptions.hostname}:${port}`,
          ),
        );
      }, connectTimeoutMs);
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 60_000);
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        socket.removeListener('error', onError);
        callback(null, socket);
      });
      const onError = (error: Error) => {
        clearTimeout(timer);
        callback(error, null);
      };
      socket.once('error', onError);
    },
  });

  const defaultClient = createDefaultHttpClient();
  const httpClient: HttpClient = {
    async sendRequest(request) {
      request.agent = agent;
      const service = serviceOfHost(new URL(request.url).hostname);
      try {
        const response = await defaultClient.sendRequest(request);
        options.requests?.response(service, response.status);
        return response;
      } catch (error) {
        options.requests?.failure(service, error);
        throw error;
      }
    },
  };

  // undici's fetch has the same contract as the global one; only the
  // TypeScript declarations come from two packages.
  const boundFetch = ((
    input: Parameters<typeof undiciFetch>[0],
    init?: Parameters<typeof undiciFetch>[1],
  ) => undiciFetch(input, { ...init, dispatcher })) as unknown as typeof globalThis.fetch;

  return {
    httpClient,
    dispatcher,
    fetch: boundFetch,
    agent,
    async close() {
      agent.destroy();
      await dispatcher.close();
    },
  };
}
