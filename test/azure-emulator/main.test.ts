// The emulator as a separate process (`npm run emulator`): it announces where
// it is, serves real clients, is driven through its admin API, and stops
// cleanly on SIGTERM.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { ClientCertificateCredential, ClientSecretCredential } from '@azure/identity';
import { createAzureTransport, parseConnectTo } from '../../src/azure/connect-to.ts';
import { customers, platform } from './sample-world.ts';

const program = new URL('./main.ts', import.meta.url).pathname;
const children: ChildProcess[] = [];
after(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

async function startProgram(
  args: string[] = [],
): Promise<{ child: ChildProcess; env: Record<string, string> }> {
  const child = spawn(process.execPath, [program, '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const env: Record<string, string> = {};
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  for await (const line of lines) {
    const [key, ...value] = line.split('=');
    if (key !== undefined) env[key] = value.join('=');
    if (key === 'AZURE_EMULATOR_READY') break;
  }
  lines.close();
  return { child, env };
}

describe('npm run emulator', () => {
  it('prints where it is, serves the SDKs, obeys the admin API and stops on SIGTERM', async () => {
    const { child, env } = await startProgram();
    assert.match(env.AZURE_EMULATOR_URL ?? '', /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(env.AZURE_CONNECT_TO, `::127.0.0.1:${new URL(env.AZURE_EMULATOR_URL ?? '').port}`);
    const caPem = await readFile(env.AZURE_EMULATOR_CA ?? '', 'utf8');
    const transport = createAzureTransport({
      connectTo: parseConnectTo(env.AZURE_CONNECT_TO ?? ''),
      extraCaPem: [caPem],
    });
    const admin = (path: string, init?: RequestInit) =>
      transport.fetch(`${env.AZURE_EMULATOR_URL}${path}`, init);
    const identity = {
      authorityHost: 'https://login.microsoftonline.com',
      disableInstanceDiscovery: true,
      httpClient: transport.httpClient,
    };
    try {
      const secret = new ClientSecretCredential(
        customers.healthy.tenantId,
        platform.appId,
        platform.clientSecret,
        identity,
      );
      assert.ok((await secret.getToken('https://cognitiveservices.azure.com/.default')).token);
      // The printed certificate file is the sample app's registered certificate.
      const certificate = new ClientCertificateCredential(
        customers.healthy.tenantId,
        env.AZURE_EMULATOR_CLIENT_ID ?? '',
        { certificatePath: env.AZURE_EMULATOR_CLIENT_CERTIFICATE ?? '' },
        identity,
      );
      assert.ok((await certificate.getToken('https://cognitiveservices.azure.com/.default')).token);

      const requests = await (await admin('/_emulator/requests?service=entra&outcome=ok')).json();
      assert.equal((requests as unknown[]).length, 2);

      const world = (await (await admin('/_emulator/world')).json()) as {
        resources: { name: string }[];
      };
      assert.ok(world.resources.some((r) => r.name === customers.healthy.resource));

      const faults = await admin('/_emulator/faults', {
        method: 'POST',
        body: JSON.stringify([
          { match: { service: 'openai' }, kind: 'status', status: 503, remaining: 1 },
        ]),
      });
      assert.equal(faults.status, 200);
      assert.equal(((await faults.json()) as unknown[]).length, 1);

      const invalid = await admin('/_emulator/world', {
        method: 'PUT',
        body: JSON.stringify({ tenants: 1 }),
      });
      assert.equal(invalid.status, 400);

      const replaced = await admin('/_emulator/world', {
        method: 'PUT',
        body: JSON.stringify({ ...world, tenants: [] }),
      });
      assert.equal(replaced.status, 200);
      await assert.rejects(secret.getToken('https://management.azure.com/.default'), /AADSTS90002/);

      assert.equal((await admin('/_emulator/requests', { method: 'DELETE' })).status, 204);
      // Only the DELETE itself is left: admin requests are logged like any other.
      const left = (await (await admin('/_emulator/requests')).json()) as {
        service: string;
        method: string;
      }[];
      assert.deepEqual(
        left.map((r) => [r.service, r.method]),
        [['admin', 'DELETE']],
      );
    } finally {
      await transport.close();
    }

    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
    assert.equal(existsSync(env.AZURE_EMULATOR_CA ?? ''), false, 'the CA file is removed');
    assert.equal(
      existsSync(env.AZURE_EMULATOR_CLIENT_CERTIFICATE ?? ''),
      false,
      'the key file is removed',
    );
  });

  it('loads --world from a file and refuses an invalid one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'azure-emulator-world-'));
    try {
      const worldPath = join(dir, 'world.json');
      await writeFile(
        worldPath,
        JSON.stringify({
          tenants: [{ id: customers.healthy.tenantId, displayName: 'Contoso' }],
          apps: [],
          resources: [],
          caller: { egressIp: '203.0.113.10' },
        }),
      );
      const { child, env } = await startProgram(['--world', worldPath]);
      assert.equal(
        env.AZURE_EMULATOR_CLIENT_ID,
        undefined,
        'no sample credentials for a custom world',
      );
      child.kill('SIGINT');
      assert.deepEqual(await once(child, 'exit'), [0, null]);

      const badPath = join(dir, 'bad.json');
      await writeFile(badPath, JSON.stringify({ tenants: 'none' }));
      const bad = spawn(process.execPath, [program, '--world', badPath], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      children.push(bad);
      let stderr = '';
      bad.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      assert.deepEqual(await once(bad, 'exit'), [2, null]);
      assert.match(stderr, /invalid world/);
      assert.match(stderr, /tenants/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
