import { z } from 'zod';
import { ConfigError } from '@causeway/contracts';

/**
 * Settings of an S3-compatible bucket, read the same way wherever Causeway keeps things in one:
 * the node's object store (CAUSEWAY_S3_*) and the control plane's audit archive
 * (CAUSEWAY_AUDIT_S3_*). Kept here, beside the seal schedule, because both sides archive sealed
 * audit segments to S3 and must not drift apart in what they accept.
 */

/** S3's bucket naming rules (3-63 characters), so a typo fails at start rather than at a seal. */
export const S3_BUCKET_PATTERN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
export const S3_REGION_PATTERN = /^[a-z0-9-]{1,32}$/;

/** An endpoint variable: empty (unset) or an http(s) URL; the rest is checked by `parseS3Endpoint`. */
export const S3_ENDPOINT_SCHEMA = z.union([z.literal(''), z.url({ protocol: /^https?$/ })]);

/** Where the minio client connects, from an endpoint URL. */
export interface S3Endpoint {
  /** Host name or IP address, without scheme, port or IPv6 brackets. */
  endPoint: string;
  port: number;
  useSSL: boolean;
}

/**
 * Splits an endpoint URL (`https://s3.eu-west-1.amazonaws.com`, `http://10.0.0.5:9000`) into what
 * the client takes. A path, query or credentials in the URL are refused: the client would
 * silently drop them, and credentials belong in their own (secret) variables. The value is never
 * echoed, since a URL with user info may carry a secret.
 */
export function parseS3Endpoint(name: string, value: string, expects: string): S3Endpoint {
  const invalid = () =>
    new ConfigError(`Invalid configuration: ${name} is invalid; it expects ${expects}.`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid();
  }
  if (
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    url.username ||
    url.password ||
    (url.pathname !== '/' && url.pathname !== '') ||
    url.search ||
    url.hash
  ) {
    throw invalid();
  }
  const useSSL = url.protocol === 'https:';
  return {
    endPoint: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : useSSL ? 443 : 80,
    useSSL,
  };
}
