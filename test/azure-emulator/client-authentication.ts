// How Entra authenticates a confidential client at the token endpoint: a
// client secret, a certificate-signed assertion, or a federated assertion
// (e.g. a Kubernetes service account token) matched to a federated credential.
import {
  createHash,
  createPublicKey,
  type JsonWebKey,
  type KeyObject,
  X509Certificate,
} from 'node:crypto';
import { type AadstsError, aadsts } from './entra-errors.ts';
import { type DecodedJwt, decodeJwt, nowSeconds, verifyJwtSignature } from './jwt.ts';
import type { App, AppCertificate, FederatedCredential } from './world.ts';

export type ClientAuthMethod = 'secret' | 'certificate' | 'federated';
export type ClientAuthResult =
  | { ok: true; method: ClientAuthMethod }
  | { ok: false; error: AadstsError };

export type ClientCredentials = {
  clientSecret: string | undefined;
  clientAssertion: string | undefined;
  // The token endpoint URL as the client addressed it: a certificate assertion's `aud`.
  tokenUrl: string;
};

// Entra tolerates five minutes of clock skew on assertions.
const clockSkewSeconds = 300;

const jwtBearer = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export const clientAssertionType = jwtBearer;

export function authenticateClient(app: App, credentials: ClientCredentials): ClientAuthResult {
  if (credentials.clientSecret !== undefined) return checkSecret(app, credentials.clientSecret);
  if (credentials.clientAssertion === undefined)
    return { ok: false, error: aadsts.missingCredential() };
  const jwt = decodeJwt(credentials.clientAssertion);
  if (jwt === undefined) return { ok: false, error: aadsts.malformedAssertion() };
  // MSAL's certificate assertions name the certificate; federated tokens only a kid.
  const namesCertificate = jwt.header['x5t#S256'] !== undefined || jwt.header.x5t !== undefined;
  return namesCertificate
    ? checkCertificateAssertion(app, jwt, credentials.tokenUrl)
    : checkFederatedAssertion(app, jwt);
}

function checkSecret(app: App, presented: string): ClientAuthResult {
  const secret = app.secrets.find((s) => s.value === presented);
  if (secret === undefined) return { ok: false, error: aadsts.invalidSecret(app.appId) };
  if (Date.parse(secret.expiresAt) <= Date.now()) {
    return { ok: false, error: aadsts.secretExpired(app.appId) };
  }
  return { ok: true, method: 'secret' };
}

function checkCertificateAssertion(app: App, jwt: DecodedJwt, tokenUrl: string): ClientAuthResult {
  const presented = String(jwt.header['x5t#S256'] ?? jwt.header.x5t);
  const certificate = app.certificates.find((c) => certificateMatches(c, jwt));
  if (certificate === undefined) {
    return fail(
      aadsts.invalidCertificateAssertion(
        `The key was not found., Thumbprint of key used by client: '${presented}'`,
      ),
    );
  }
  if (jwt.header.alg !== 'PS256' && jwt.header.alg !== 'RS256') {
    return fail(
      aadsts.invalidCertificateAssertion(`Unsupported signing algorithm '${jwt.header.alg}'`),
    );
  }
  if (!verifyJwtSignature(jwt, certificatePublicKey(certificate))) {
    return fail(
      aadsts.invalidCertificateAssertion(
        `The provided signature value did not match the expected signature value., Thumbprint of key used by client: '${presented}'`,
      ),
    );
  }
  const { iss, sub, aud } = jwt.claims;
  if (iss !== app.appId || sub !== app.appId) {
    return fail(aadsts.invalidCertificateAssertion('The issuer and subject must be the client id'));
  }
  if (typeof aud !== 'string' || aud.toLowerCase() !== tokenUrl.toLowerCase()) {
    return fail(
      aadsts.invalidCertificateAssertion(`The audience must be the token endpoint ${tokenUrl}`),
    );
  }
  return checkValidityWindow(jwt) ?? { ok: true, method: 'certificate' };
}

function checkFederatedAssertion(app: App, jwt: DecodedJwt): ClientAuthResult {
  const { iss, sub, aud } = jwt.claims;
  const issuer = String(iss);
  const subject = String(sub);
  const audiences = Array.isArray(aud) ? aud.map(String) : [String(aud)];
  const byIssuer = app.federatedCredentials.filter((f) => f.issuer === issuer);
  if (byIssuer.length === 0) {
    return fail(aadsts.noFederatedRecord(issuer, subject, audiences.join(',')));
  }
  const bySubject = byIssuer.filter((f) => f.subject === subject);
  if (bySubject.length === 0) return fail(aadsts.noFederatedRecordForSubject(subject));
  const credential = bySubject.find((f) => f.audiences.some((a) => audiences.includes(a)));
  if (credential === undefined)
    return fail(aadsts.noFederatedRecordForAudience(audiences.join(',')));
  if (!federatedSignatureValid(credential, jwt)) {
    return fail(
      aadsts.invalidCertificateAssertion(
        `The provided signature value did not match a key of issuer '${issuer}'`,
      ),
    );
  }
  return checkValidityWindow(jwt) ?? { ok: true, method: 'federated' };
}

function checkValidityWindow(jwt: DecodedJwt): ClientAuthResult | undefined {
  const { exp, nbf, iat } = jwt.claims;
  if (typeof exp !== 'number') return fail(aadsts.malformedAssertion());
  const validFrom = typeof nbf === 'number' ? nbf : typeof iat === 'number' ? iat : 0;
  const now = nowSeconds();
  if (exp + clockSkewSeconds <= now || validFrom - clockSkewSeconds > now) {
    return fail(aadsts.assertionOutsideValidTime(new Date(validFrom * 1000), new Date(exp * 1000)));
  }
  return undefined;
}

function certificateMatches(certificate: AppCertificate, jwt: DecodedJwt): boolean {
  const sha256 = jwt.header['x5t#S256'];
  if (sha256 !== undefined) return certificate.thumbprintSha256 === sha256;
  // Legacy SHA-1 x5t can only be checked against a registered certificate.
  if (certificate.certPem === undefined) return false;
  const der = new X509Certificate(certificate.certPem).raw;
  return createHash('sha1').update(der).digest('base64url') === jwt.header.x5t;
}

function certificatePublicKey(certificate: AppCertificate): KeyObject {
  if (certificate.certPem !== undefined) return new X509Certificate(certificate.certPem).publicKey;
  return createPublicKey(certificate.publicKeyPem ?? '');
}

function federatedSignatureValid(credential: FederatedCredential, jwt: DecodedJwt): boolean {
  const keys = credential.jwks.keys.filter(
    (key) => jwt.header.kid === undefined || key.kid === undefined || key.kid === jwt.header.kid,
  );
  return keys.some((jwk) => {
    try {
      return verifyJwtSignature(jwt, createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }));
    } catch {
      return false;
    }
  });
}

function fail(error: AadstsError): ClientAuthResult {
  return { ok: false, error };
}
