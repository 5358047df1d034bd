// Builds the @azure/identity credential for a platform identity and a customer
// tenant. Credential material is read only from the operator's own namespace:
// the AzureServicePrincipal names a Secret, never a namespace.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { HttpClient } from '@azure/core-rest-pipeline';
import {
  ClientCertificateCredential,
  ClientSecretCredential,
  type TokenCredential,
  WorkloadIdentityCredential,
} from '@azure/identity';
import { ValidationFailure } from '../api/reasons.ts';
import type { ServicePrincipalSpec } from '../api/service-principal.ts';
import type { Cloud } from './clouds.ts';

/** Reads one key of a Secret in the operator's namespace; undefined when the Secret or key is missing. */
export type SecretReader = (name: string, key: string) => Promise<string | undefined>;

export interface ResolvedCredential {
  credential: TokenCredential;
  /** Changes whenever the material or the identity changes, so cached tokens are not reused across them. */
  fingerprint: string;
}

export async function buildCredential(
  identity: { name: string; spec: ServicePrincipalSpec },
  tenantId: string,
  cloud: Cloud,
  readSecret: SecretReader,
  httpClient: HttpClient,
): Promise<ResolvedCredential> {
  const { spec } = identity;
  const options = {
    authorityHost: cloud.authorityHost,
    // The authority is one of the three known clouds: MSAL has their metadata built in.
    disableInstanceDiscovery: true,
    httpClient,
    // The work queue retries with backoff and Retry-After; SDK retries would hide throttling from it.
    retryOptions: { maxRetries: 0 },
  };
  const material = async (ref: { name: string; key: string }, kind: string) => {
    const value = await readSecret(ref.name, ref.key);
    if (!value) {
      throw new ValidationFailure(
        'CredentialNotFound',
        `The ${kind} of AzureServicePrincipal ${identity.name} is missing: create Secret ${ref.name} with key ${ref.key} in the operator's namespace`,
      );
    }
    return value;
  };
  const fingerprintOf = (material: string) =>
    createHash('sha256')
      .update(`${identity.name}\0${spec.clientId}\0${tenantId}\0${material}`)
      .digest('hex')
      .slice(0, 16);

  const credential = spec.credential;
  if ('clientSecret' in credential) {
    const secret = await material(credential.clientSecret.secretRef, 'client secret');
    return {
      credential: new ClientSecretCredential(tenantId, spec.clientId, secret, options),
      fingerprint: fingerprintOf(secret),
    };
  }
  if ('certificate' in credential) {
    const pem = await material(credential.certificate.secretRef, 'certificate');
    return {
      credential: new ClientCertificateCredential(
        tenantId,
        spec.clientId,
        { certificate: pem },
        { ...options, sendCertificateChain: credential.certificate.sendCertificateChain },
      ),
      fingerprint: fingerprintOf(pem),
    };
  }
  const { tokenFilePath } = credential.workloadIdentity;
  try {
    await readFile(tokenFilePath);
  } catch {
    throw new ValidationFailure(
      'CredentialNotFound',
      `The federated token file ${tokenFilePath} of AzureServicePrincipal ${identity.name} does not exist: project a ServiceAccount token with audience api://AzureADTokenExchange into the operator pod`,
    );
  }
  // The projected token rotates in place; the path, not its content, identifies the credential.
  return {
    credential: new WorkloadIdentityCredential({
      tenantId,
      clientId: spec.clientId,
      tokenFilePath,
      ...options,
    }),
    fingerprint: fingerprintOf(tokenFilePath),
  };
}
