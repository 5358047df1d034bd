// Entra ID through the real @azure/identity credentials: tokens with the
// claims the operator checks, and every AADSTS failure of AZURE-FACTS.md as
// the SDK surfaces it (class, message code, and the MSAL error in `cause`).
import assert from 'node:assert/strict';
import { createPublicKey, type JsonWebKey, verify } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { AuthenticationRequiredError, type TokenCredential } from '@azure/identity';
import { createFederatedIssuer, type FederatedIssuer } from './federated-issuer.ts';
import { decodeClaims, type EmulatorFixture, startEmulatorFixture } from './fixtures.ts';
import { type ClientCertificate, createClientCertificate } from './pki.ts';
import { customers, platform } from './sample-world.ts';

const dataPlaneScope = 'https://cognitiveservices.azure.com/.default';
const managementScope = 'https://management.azure.com/.default';

let fx: EmulatorFixture;
let strangerCertificate: ClientCertificate;
let strangerIssuer: FederatedIssuer;

before(async () => {
  [fx, strangerCertificate] = await Promise.all([
    startEmulatorFixture(),
    createClientCertificate('CN=not-registered'),
  ]);
  // Same issuer URL and subject as the registered one, different signing key.
  strangerIssuer = await createFederatedIssuer({ issuer: fx.keys.federatedIssuer.issuer });
});
beforeEach(() => fx.reset());
after(() => fx.close());

// Asserts how @azure/identity reports an Entra error: AuthenticationRequiredError
// whose message carries the AADSTS code, with MSAL's error as `cause` (a
// ServerError, or InteractionRequiredAuthError for interaction_required).
async function assertAadsts(
  credential: TokenCredential,
  code: number,
  status: number,
  scope = dataPlaneScope,
  causeName = 'ServerError',
) {
  await assert.rejects(credential.getToken(scope), (error: unknown) => {
    assert.ok(error instanceof AuthenticationRequiredError, `got ${String(error)}`);
    assert.match(error.message, new RegExp(`AADSTS${code}\\b`));
    const cause = error.cause as { name?: string; errorNo?: unknown; status?: unknown };
    assert.equal(cause.name, causeName);
    assert.equal(Number(cause.errorNo), code);
    // InteractionRequiredAuthError carries no HTTP status; the request log does.
    if (causeName === 'ServerError') assert.equal(cause.status, status);
    return true;
  });
  const [entry] = fx.emulator.requests({ service: 'entra', outcome: `AADSTS${code}` });
  assert.equal(entry?.status, status);
}

describe('tokens', () => {
  it('issues a data-plane token with the claims of the SP in the customer tenant', async () => {
    const before = Math.floor(Date.now() / 1000);
    const token = await fx.secretCredential(customers.healthy.tenantId).getToken(dataPlaneScope);
    const claims = decodeClaims(token.token);
    assert.equal(claims.tid, customers.healthy.tenantId);
    assert.equal(claims.oid, customers.healthy.servicePrincipalObjectId);
    assert.equal(claims.appid, platform.appId);
    assert.equal(claims.aud, 'https://cognitiveservices.azure.com');
    assert.equal(claims.iss, `https://sts.windows.net/${customers.healthy.tenantId}/`);
    assert.equal(claims.idtyp, 'app');
    assert.ok(Number(claims.exp) >= before + 3600 && Number(claims.exp) <= before + 3601);
    assert.ok(Math.abs(token.expiresOnTimestamp - Number(claims.exp) * 1000) < 2000);
  });

  it('issues a management token with the ARM audience', async () => {
    const token = await fx.secretCredential(customers.healthy.tenantId).getToken(managementScope);
    assert.equal(decodeClaims(token.token).aud, 'https://management.azure.com/');
  });

  it('authenticates with a certificate assertion', async () => {
    const token = await fx
      .certificateCredential(customers.healthy.tenantId)
      .getToken(dataPlaneScope);
    const claims = decodeClaims(token.token);
    assert.equal(claims.oid, customers.healthy.servicePrincipalObjectId);
    assert.equal(claims.appidacr, '2');
  });

  it('authenticates with a federated token file (workload identity)', async () => {
    const credential = await fx.workloadIdentityCredential(customers.healthy.tenantId);
    const token = await credential.getToken(dataPlaneScope);
    assert.equal(decodeClaims(token.token).tid, customers.healthy.tenantId);
  });

  it('issues tokens in the home tenant without a consent record', async () => {
    const token = await fx.secretCredential(platform.tenantId).getToken(dataPlaneScope);
    const claims = decodeClaims(token.token);
    assert.equal(claims.tid, platform.tenantId);
    assert.equal(
      claims.oid,
      fx.emulator.servicePrincipalObjectId(platform.appId, platform.tenantId),
    );
  });

  it('issues US Gov tokens only from the Gov authority for the Gov scope', async () => {
    const gov = fx.secretCredential(customers.usGov.tenantId, platform.clientSecret, 'usgov');
    const token = await gov.getToken('https://cognitiveservices.azure.us/.default');
    assert.equal(decodeClaims(token.token).aud, 'https://cognitiveservices.azure.us');
    assert.equal(fx.emulator.requests({ host: 'login.microsoftonline.us' }).length, 1);

    await assertAadsts(
      fx.secretCredential(customers.usGov.tenantId, platform.clientSecret, 'usgov'),
      500011,
      400,
    );
    await assertAadsts(
      fx.secretCredential(customers.usGov.tenantId),
      500011,
      400,
      'https://cognitiveservices.azure.us/.default',
    );
  });
});

describe('discovery', () => {
  it('serves OpenID configuration for any tenant, with the issuer on the authority host', async () => {
    for (const tenant of [customers.healthy.tenantId, 'no-such-tenant.onmicrosoft.com']) {
      const response = await fx.transport.fetch(
        `https://login.microsoftonline.com/${tenant}/v2.0/.well-known/openid-configuration`,
      );
      assert.equal(response.status, 200);
      const config = (await response.json()) as Record<string, string>;
      const base = `https://login.microsoftonline.com/${tenant}`;
      assert.equal(config.issuer, `${base}/v2.0`);
      assert.equal(config.token_endpoint, `${base}/oauth2/v2.0/token`);
      assert.equal(config.authorization_endpoint, `${base}/oauth2/v2.0/authorize`);
      assert.equal(config.jwks_uri, `${base}/discovery/v2.0/keys`);
    }
  });

  it('publishes the key that signs the access tokens', async () => {
    const token = await fx.secretCredential(customers.healthy.tenantId).getToken(dataPlaneScope);
    const [header = '', payload = '', signature = ''] = token.token.split('.');
    const { kid } = JSON.parse(Buffer.from(header, 'base64url').toString()) as { kid: string };
    const response = await fx.transport.fetch(
      `https://login.microsoftonline.com/${customers.healthy.tenantId}/discovery/v2.0/keys`,
    );
    const { keys } = (await response.json()) as { keys: (JsonWebKey & { kid: string })[] };
    const jwk = keys.find((k) => k.kid === kid);
    assert.ok(jwk !== undefined);
    const valid = verify(
      'sha256',
      Buffer.from(`${header}.${payload}`),
      createPublicKey({ key: jwk, format: 'jwk' }),
      Buffer.from(signature, 'base64url'),
    );
    assert.equal(valid, true);
  });
});

describe('AADSTS errors', () => {
  it('90002: the tenant does not exist', async () => {
    await assertAadsts(fx.secretCredential('00000000-0000-4000-8000-000000000000'), 90002, 400);
  });

  it('700016: the app has no service principal (no consent) in the tenant', async () => {
    await assertAadsts(fx.secretCredential(customers.consentMissing.tenantId), 700016, 400);
  });

  it('7000215: wrong client secret', async () => {
    await assertAadsts(
      fx.secretCredential(customers.healthy.tenantId, 'wrong-secret'),
      7000215,
      401,
    );
  });

  it('7000222: the matching client secret has expired', async () => {
    await assertAadsts(
      fx.secretCredential(customers.healthy.tenantId, platform.expiredClientSecret),
      7000222,
      401,
    );
  });

  it('700027: the certificate is not registered on the app', async () => {
    await assertAadsts(
      fx.certificateCredential(customers.healthy.tenantId, strangerCertificate.pem),
      700027,
      401,
    );
  });

  it('700027: the assertion is not signed by the registered key', async () => {
    fx.emulator.updateWorld((world) => {
      const [app] = world.apps;
      // The registered thumbprint stays, its key is someone else's.
      if (app !== undefined) {
        app.certificates = [
          {
            thumbprintSha256: fx.keys.certificate.thumbprintSha256,
            publicKeyPem: strangerCertificate.publicKeyPem,
          },
        ];
      }
    });
    await assertAadsts(fx.certificateCredential(customers.healthy.tenantId), 700027, 401);
  });

  it('70021: no federated credential for the issuer', async () => {
    const token = fx.keys.federatedIssuer.issueToken({ issuer: 'https://oidc.elsewhere.example' });
    await assertAadsts(
      await fx.workloadIdentityCredential(customers.healthy.tenantId, token),
      70021,
      400,
    );
  });

  it('700213: no federated credential for the subject', async () => {
    const token = fx.keys.federatedIssuer.issueToken({
      subject: 'system:serviceaccount:tenant-ns:intruder',
    });
    await assertAadsts(
      await fx.workloadIdentityCredential(customers.healthy.tenantId, token),
      700213,
      401,
    );
  });

  it('700212: no federated credential for the audience', async () => {
    const token = fx.keys.federatedIssuer.issueToken({ audience: 'api://SomethingElse' });
    await assertAadsts(
      await fx.workloadIdentityCredential(customers.healthy.tenantId, token),
      700212,
      401,
    );
  });

  it('700027: the federated token is not signed by the issuer keys', async () => {
    const token = strangerIssuer.issueToken();
    await assertAadsts(
      await fx.workloadIdentityCredential(customers.healthy.tenantId, token),
      700027,
      401,
    );
  });

  it('700024: the federated token has expired', async () => {
    const token = fx.keys.federatedIssuer.issueToken({ offsetSeconds: -7200 });
    await assertAadsts(
      await fx.workloadIdentityCredential(customers.healthy.tenantId, token),
      700024,
      401,
    );
  });

  it('53003: Conditional Access blocks the app', async () => {
    fx.emulator.updateWorld((world) => {
      const tenant = world.tenants.find((t) => t.id === customers.healthy.tenantId);
      tenant?.conditionalAccessBlockedApps.push(platform.appId);
    });
    await assertAadsts(
      fx.secretCredential(customers.healthy.tenantId),
      53003,
      400,
      dataPlaneScope,
      'InteractionRequiredAuthError',
    );
  });

  it('checks in order: tenant, consent, client authentication, Conditional Access', async () => {
    fx.emulator.updateWorld((world) => {
      for (const tenant of world.tenants) tenant.conditionalAccessBlockedApps.push(platform.appId);
    });
    await assertAadsts(
      fx.secretCredential('00000000-0000-4000-8000-000000000000', 'wrong'),
      90002,
      400,
    );
    await assertAadsts(
      fx.secretCredential(customers.consentMissing.tenantId, 'wrong'),
      700016,
      400,
    );
    await assertAadsts(fx.secretCredential(customers.healthy.tenantId, 'wrong'), 7000215, 401);
    await assertAadsts(
      fx.secretCredential(customers.healthy.tenantId),
      53003,
      400,
      dataPlaneScope,
      'InteractionRequiredAuthError',
    );
  });

  it('sends the Entra error body shape', async () => {
    const response = await fx.transport.fetch(
      `https://login.microsoftonline.com/${customers.consentMissing.tenantId}/oauth2/v2.0/token?client-request-id=corr-1`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: platform.appId,
          client_secret: platform.clientSecret,
          scope: dataPlaneScope,
        }),
      },
    );
    assert.equal(response.status, 400);
    const body = (await response.json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), [
      'correlation_id',
      'error',
      'error_codes',
      'error_description',
      'error_uri',
      'timestamp',
      'trace_id',
    ]);
    assert.equal(body.error, 'unauthorized_client');
    assert.deepEqual(body.error_codes, [700016]);
    assert.equal(body.correlation_id, 'corr-1');
    assert.match(
      String(body.error_description),
      /^AADSTS700016: Application with identifier '.+' was not found in the directory 'Fabrikam'\..*\r\nTrace ID: [0-9a-f-]{36}\r\nCorrelation ID: corr-1\r\nTimestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/s,
    );
    assert.equal(body.error_uri, 'https://login.microsoftonline.com/error?code=700016');
  });
});

describe('throttling', () => {
  it('retries a 429 honouring Retry-After and then succeeds', async () => {
    fx.emulator.setFaults([
      {
        match: { service: 'entra' },
        kind: 'status',
        status: 429,
        retryAfterSeconds: 1,
        remaining: 2,
      },
    ]);
    const started = Date.now();
    const token = await fx.secretCredential(customers.healthy.tenantId).getToken(dataPlaneScope);
    assert.ok(token.token.length > 0);
    assert.ok(Date.now() - started >= 1900, 'waited Retry-After twice');
    const outcomes = fx.emulator.requests({ service: 'entra' }).map((r) => r.outcome);
    assert.deepEqual(outcomes, ['fault:status', 'fault:status', 'ok']);
  });

  it('gives up after three retries of a persistent 429', async () => {
    fx.emulator.setFaults([
      { match: { service: 'entra' }, kind: 'status', status: 429, retryAfterSeconds: 0 },
    ]);
    await assert.rejects(
      fx.secretCredential(customers.healthy.tenantId).getToken(dataPlaneScope),
      (error: unknown) => {
        assert.ok(error instanceof AuthenticationRequiredError);
        assert.match(error.message, /Http status code: 429/);
        assert.equal((error.cause as { status?: unknown }).status, 429);
        return true;
      },
    );
    assert.equal(fx.emulator.requests({ service: 'entra', status: 429 }).length, 4);
  });
});
