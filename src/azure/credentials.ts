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

/**
 * One credential instance per identity material and tenant: each instance carries
 * MSAL's client and caches, so building one per reconcile would grow without bound.
 */
export class CredentialCache {
  readonly #credentials = new Map<string, TokenCredential>();
  readonly #max: number;

  constructor(max = 10_000) {
    this.#max = max;
  }

  get(fingerprint: string, create: () => TokenCredential): TokenCredential {
    const found = this.#credentials.get(fingerprint);
    if (found) return found;
    const credential = create();
    this.#credentials.set(fingerprint, credential);
    // Rotated material leaves old entries behind: drop the oldest beyond the bound.
    if (this.#credentials.size > this.#max)
      this.#credentials.delete(this.#credentials.keys().next().value as string);
    return credential;
  }

  forget(fingerprint: string): void {
    this.#credentials.delete(fingerprint);
  }
}

export async function buildCredential(
  identity: { name: string; spec: ServicePrincipalSpec },
  tenantId: string,
  cloud: Cloud,
  readSecret: SecretReader,
  httpClient: HttpClient,
  cache: CredentialCache,
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
    const fingerprint = fingerprintOf(secret);
    return {
      credential: cache.get(
        fingerprint,
        () => new ClientSecretCredential(tenantId, spec.clientId, secret, options),
      ),
      fingerprint,
    };
  }
  if ('certificate' in credential) {
    const pem = await material(credential.certificate.secretRef, 'certificate');
    const fingerprint = fingerprintOf(pem);
    return {
      credential: cache.get(
        fingerprint,
        () =>
          new ClientCertificateCredential(
            tenantId,
            spec.clientId,
            { certificate: pem },
            { ...options, sendCertificateChain: credential.certificate.sendCertificateChain },
          ),
      ),
      fingerprint,
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
  const fingerprint = fingerprintOf(tokenFilePath);
  return {
    credential: cache.get(
      fingerprint,
      () =>
        new WorkloadIdentityCredential({
          tenantId,
          clientId: spec.clientId,
          tokenFilePath,
          ...options,
        }),
    ),
    fingerprint,
  };
}
