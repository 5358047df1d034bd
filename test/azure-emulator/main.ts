// `npm run emulator`: the Azure emulator as a process, for demos and for
// running the operator binary against it. Prints KEY=value lines once ready,
// ending with AZURE_EMULATOR_READY=true; stops cleanly on SIGINT/SIGTERM.
//
//   node test/azure-emulator/main.ts [--world world.json] [--port 8443] [--extra-host evil.example.com]
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { startAzureEmulator, type WorldInput } from './index.ts';
import { createSampleCredentials, platform, sampleWorld } from './sample-world.ts';
import { parseWorld } from './world.ts';

const usage =
  'usage: node test/azure-emulator/main.ts [--world <path>] [--port <n>] [--extra-host <name>]...\n';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      world: { type: 'string' },
      port: { type: 'string', default: '0' },
      'extra-host': { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(usage);
    return;
  }
  const port = z.coerce.number().int().min(0).max(65535).parse(values.port);

  const output: Record<string, string> = {};
  let world: WorldInput;
  let filesDir: string | undefined;
  let refreshFederatedToken: (() => Promise<void>) | undefined;
  if (values.world === undefined) {
    // The sample world's private key material goes to files a client can use.
    filesDir = await mkdtemp(join(tmpdir(), 'azure-emulator-main-'));
    const keys = await createSampleCredentials();
    world = sampleWorld(keys);
    const certificatePath = join(filesDir, 'client-certificate.pem');
    const federatedTokenPath = join(filesDir, 'federated-token');
    await writeFile(certificatePath, keys.certificate.pem, { mode: 0o600 });
    refreshFederatedToken = () =>
      writeFile(federatedTokenPath, keys.federatedIssuer.issueToken(), { mode: 0o600 });
    await refreshFederatedToken();
    Object.assign(output, {
      AZURE_EMULATOR_PLATFORM_TENANT_ID: platform.tenantId,
      AZURE_EMULATOR_CLIENT_ID: platform.appId,
      AZURE_EMULATOR_CLIENT_CERTIFICATE: certificatePath,
      AZURE_EMULATOR_FEDERATED_TOKEN_FILE: federatedTokenPath,
    });
  } else {
    world = parseWorld(JSON.parse(await readFile(values.world, 'utf8')));
  }

  const emulator = await startAzureEmulator({ world, port, extraHostNames: values['extra-host'] });
  // Like a kubelet-projected token: rewritten well before it expires.
  const refresher =
    refreshFederatedToken === undefined
      ? undefined
      : setInterval(refreshFederatedToken, 30 * 60_000);

  // Signal handlers first: a caller may stop us as soon as it reads the lines.
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    if (refresher !== undefined) clearInterval(refresher);
    await emulator.close();
    if (filesDir !== undefined) await rm(filesDir, { recursive: true, force: true });
  };
  const onSignal = () => {
    stop().catch((error: unknown) => {
      process.stderr.write(`azure-emulator: stopping failed: ${String(error)}\n`);
      process.exitCode = 1;
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  process.stdout.write(
    Object.entries({
      AZURE_EMULATOR_URL: emulator.url,
      AZURE_EMULATOR_CA: emulator.caPath,
      AZURE_CONNECT_TO: emulator.connectTo,
      ...output,
      // Last line: everything above is valid once this is printed.
      AZURE_EMULATOR_READY: 'true',
    })
      .map(([key, value]) => `${key}=${value}\n`)
      .join(''),
  );
}

main().catch((error: unknown) => {
  const message =
    error instanceof z.ZodError
      ? `invalid world:\n${z.prettifyError(error)}`
      : error instanceof Error
        ? error.message
        : String(error);
  process.stderr.write(`azure-emulator: ${message}\n${usage}`);
  process.exitCode = 2;
});
