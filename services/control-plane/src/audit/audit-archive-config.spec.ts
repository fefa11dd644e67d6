import { ConfigError } from '@causeway/contracts';
import { loadConfig } from '../config/config';

const base = {
  CAUSEWAY_DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/db',
  CAUSEWAY_AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
  CAUSEWAY_ADMIN_TOKEN: 'x'.repeat(40),
};

const SECRET = 'wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY';

const s3 = {
  CAUSEWAY_AUDIT_ARCHIVE: 's3',
  CAUSEWAY_AUDIT_S3_ENDPOINT: 'https://s3.eu-west-1.amazonaws.com',
  CAUSEWAY_AUDIT_S3_REGION: 'eu-west-1',
  CAUSEWAY_AUDIT_S3_BUCKET: 'acme-audit',
  CAUSEWAY_AUDIT_S3_ACCESS_KEY: 'AKIAEXAMPLE',
  CAUSEWAY_AUDIT_S3_SECRET_KEY: SECRET,
};

/** The ConfigError `env` raises; it must never carry the secret. */
function errorOf(env: Record<string, string>): string {
  try {
    loadConfig({ ...base, ...env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).not.toContain(SECRET);
    return message;
  }
  throw new Error('expected a ConfigError');
}

describe('audit archive configuration', () => {
  it('defaults to the directory archive', () => {
    expect(loadConfig(base).audit.archive).toEqual({
      driver: 'directory',
      directory: '/var/lib/causeway-control-plane/audit-archive',
    });
    expect(loadConfig({ ...base, CAUSEWAY_AUDIT_ARCHIVE_DIR: '/srv/audit' }).audit.archive).toEqual(
      { driver: 'directory', directory: '/srv/audit' },
    );
  });

  it('reads the s3 settings, the endpoint split for the client', () => {
    expect(loadConfig({ ...base, ...s3 }).audit.archive).toEqual({
      driver: 's3',
      endPoint: 's3.eu-west-1.amazonaws.com',
      port: 443,
      useSSL: true,
      region: 'eu-west-1',
      bucket: 'acme-audit',
      prefix: '',
      accessKey: 'AKIAEXAMPLE',
      secretKey: SECRET,
      pathStyle: true,
    });
    expect(
      loadConfig({
        ...base,
        ...s3,
        CAUSEWAY_AUDIT_S3_ENDPOINT: 'http://[::1]:9000',
        CAUSEWAY_AUDIT_S3_REGION: '',
        CAUSEWAY_AUDIT_S3_PREFIX: 'causeway/prod-eu',
        CAUSEWAY_AUDIT_S3_PATH_STYLE: 'false',
      }).audit.archive,
    ).toMatchObject({
      endPoint: '::1',
      port: 9000,
      useSSL: false,
      region: 'us-east-1',
      prefix: 'causeway/prod-eu',
      pathStyle: false,
    });
  });

  it.each([
    'CAUSEWAY_AUDIT_S3_ENDPOINT',
    'CAUSEWAY_AUDIT_S3_BUCKET',
    'CAUSEWAY_AUDIT_S3_ACCESS_KEY',
    'CAUSEWAY_AUDIT_S3_SECRET_KEY',
  ])('requires %s with CAUSEWAY_AUDIT_ARCHIVE=s3, and names it', (name) => {
    expect(errorOf({ ...s3, [name]: '' })).toContain(
      `${name} is not set; it is required when CAUSEWAY_AUDIT_ARCHIVE=s3`,
    );
  });

  it('ignores the s3 variables with the directory archive', () => {
    expect(
      loadConfig({ ...base, ...s3, CAUSEWAY_AUDIT_ARCHIVE: 'directory' }).audit.archive.driver,
    ).toBe('directory');
  });

  it.each([
    ['CAUSEWAY_AUDIT_ARCHIVE', 'ftp'],
    ['CAUSEWAY_AUDIT_S3_ENDPOINT', 's3.amazonaws.com'],
    ['CAUSEWAY_AUDIT_S3_ENDPOINT', 'ftp://s3.example.com'],
    ['CAUSEWAY_AUDIT_S3_ENDPOINT', 'https://s3.example.com/bucket'],
    ['CAUSEWAY_AUDIT_S3_ENDPOINT', 'https://s3.example.com/?x=1'],
    ['CAUSEWAY_AUDIT_S3_BUCKET', 'Audit_Bucket'],
    ['CAUSEWAY_AUDIT_S3_BUCKET', 'ab'],
    ['CAUSEWAY_AUDIT_S3_REGION', 'EU WEST'],
    ['CAUSEWAY_AUDIT_S3_PREFIX', '/causeway'],
    ['CAUSEWAY_AUDIT_S3_PREFIX', 'causeway/'],
    ['CAUSEWAY_AUDIT_S3_PREFIX', 'causeway/../other'],
    ['CAUSEWAY_AUDIT_S3_PREFIX', 'a//b'],
    ['CAUSEWAY_AUDIT_S3_PATH_STYLE', 'yes'],
  ])('refuses %s=%p, naming the variable', (name, value) => {
    expect(errorOf({ ...s3, [name]: value })).toContain(`${name} is invalid`);
  });

  it('never echoes an endpoint that carries credentials', () => {
    const message = errorOf({
      ...s3,
      CAUSEWAY_AUDIT_S3_ENDPOINT: `https://AKIAEXAMPLE:${SECRET}@s3.example.com`,
    });
    expect(message).toContain('CAUSEWAY_AUDIT_S3_ENDPOINT is invalid');
    expect(message).not.toContain('AKIAEXAMPLE');
    // Also when the URL fails the first check (the scheme).
    expect(
      errorOf({ ...s3, CAUSEWAY_AUDIT_S3_ENDPOINT: `ftp://AKIAEXAMPLE:${SECRET}@s3.example.com` }),
    ).toContain('CAUSEWAY_AUDIT_S3_ENDPOINT is invalid');
  });
});
