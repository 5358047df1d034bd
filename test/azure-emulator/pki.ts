// Per-run test PKI: a CA that exists only for this run, one server certificate
// covering the real Azure host names, and client certificates for service
// principals. Nothing is trusted unless a client is given this CA explicitly.
// @peculiar/x509 resolves its providers through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { createHash, KeyObject, type webcrypto, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { azureHostNames } from './clouds.ts';

const rsa = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
} as const;

export type CertificateAuthority = {
  certPem: string;
  cert: x509.X509Certificate;
  keys: webcrypto.CryptoKeyPair;
};
export type ServerCertificate = { certPem: string; keyPem: string; hostNames: string[] };
export type ClientCertificate = {
  certPem: string;
  keyPem: string;
  // Private key then certificate, the form ClientCertificateCredential accepts.
  pem: string;
  publicKeyPem: string;
  // x5t#S256 as Entra and MSAL spell it: base64url of SHA-256 over the DER.
  thumbprintSha256: string;
};

export async function generateRsaKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  return crypto.subtle.generateKey(rsa, true, ['sign', 'verify']);
}

export async function createCertificateAuthority(): Promise<CertificateAuthority> {
  const keys = await generateRsaKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=Azure emulator test CA (per run)',
    notBefore: hoursFromNow(-1),
    notAfter: hoursFromNow(24 * 7),
    signingAlgorithm: rsa,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), cert, keys };
}

// The real Azure names of all clouds, localhost, 127.0.0.1 and whatever extra
// names a test wants to lure a client to (e.g. evil.example.com).
export function serverHostNames(extraHostNames: string[] = []): string[] {
  return [...azureHostNames(), 'localhost', ...extraHostNames];
}

export async function issueServerCertificate(
  ca: CertificateAuthority,
  hostNames: string[],
): Promise<ServerCertificate> {
  const keys = await generateRsaKeyPair();
  const cert = await x509.X509CertificateGenerator.create({
    subject: 'CN=login.microsoftonline.com',
    issuer: ca.cert.subject,
    notBefore: hoursFromNow(-1),
    notAfter: hoursFromNow(24 * 7),
    signingAlgorithm: rsa,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...hostNames.map((value) => ({ type: 'dns' as const, value })),
        { type: 'ip', value: '127.0.0.1' },
      ]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: privateKeyPem(keys.privateKey), hostNames };
}

// A self-signed certificate for a service principal's certificate credential.
export async function createClientCertificate(
  subject = 'CN=azure-openai-operator',
): Promise<ClientCertificate> {
  const keys = await generateRsaKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: subject,
    notBefore: hoursFromNow(-1),
    notAfter: hoursFromNow(24 * 365),
    signingAlgorithm: rsa,
    keys,
    extensions: [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)],
  });
  const certPem = cert.toString('pem');
  const keyPem = privateKeyPem(keys.privateKey);
  return {
    certPem,
    keyPem,
    pem: `${keyPem}${certPem}`,
    publicKeyPem: KeyObject.from(keys.publicKey).export({ type: 'spki', format: 'pem' }).toString(),
    thumbprintSha256: thumbprintSha256(certPem),
  };
}

export function thumbprintSha256(certPem: string): string {
  return createHash('sha256').update(new X509Certificate(certPem).raw).digest('base64url');
}

function privateKeyPem(key: webcrypto.CryptoKey): string {
  return KeyObject.from(key).export({ type: 'pkcs8', format: 'pem' }).toString();
}

function hoursFromNow(hours: number): Date {
  return new Date(Date.now() + hours * 3600_000);
}
