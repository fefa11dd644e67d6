import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import { parse } from 'yaml';

/**
 * Helm is not available in CI, so the charts are checked statically: values.yaml must satisfy
 * values.schema.json (which Helm enforces at install), the schema must reject bad values, and
 * Chart.yaml must be a Helm 3 chart.
 */

type Values = Record<string, unknown>;

const NODE_ID = '3f1c2b9e-8d4a-4b7e-9a1f-2c3d4e5f6a7b';

function chartDir(chart: string): string {
  return path.join(__dirname, chart);
}

function readYaml(chart: string, file: string): Values {
  return parse(readFileSync(path.join(chartDir(chart), file), 'utf8')) as Values;
}

function readTemplate(chart: string, file: string): string {
  return readFileSync(path.join(chartDir(chart), 'templates', file), 'utf8');
}

function compileSchema(chart: string): ValidateFunction {
  const schema = JSON.parse(
    readFileSync(path.join(chartDir(chart), 'values.schema.json'), 'utf8'),
  ) as object;
  // strict: an unknown keyword or a loose type in the schema is an error, not a silent no-op.
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  return ajv.compile(schema);
}

/** A deep copy of the chart's values.yaml with the given top-level changes. */
function withValues(base: Values, changes: Values): Values {
  return { ...structuredClone<Values>(base), ...changes };
}

function describeErrors(validate: ValidateFunction): string {
  return (validate.errors ?? [])
    .map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`)
    .join('; ');
}

interface ChartCase {
  chart: string;
  /** Values that complete values.yaml for an install (what an operator passes with --set). */
  install: Values;
  /** Invalid changes to values.yaml, each of which the schema must reject. */
  invalid: Array<[string, Values]>;
}

const badImages: Array<[string, Values]> = [
  ['an image given as a string', { image: 'causeway/control-plane:latest' }],
  [
    'an image repository with spaces and capitals',
    { image: { repository: 'Causeway/Control Plane!', tag: '', pullPolicy: 'IfNotPresent' } },
  ],
  [
    'an image repository that includes its tag',
    { image: { repository: 'causeway/app:1.0', tag: '', pullPolicy: 'IfNotPresent' } },
  ],
  ['an unknown pull policy', { image: { repository: 'causeway/app', pullPolicy: 'Sometimes' } }],
  [
    'a malformed digest',
    { image: { repository: 'causeway/app', pullPolicy: 'IfNotPresent', digest: 'sha256:xyz' } },
  ],
];

const cases: ChartCase[] = [
  {
    chart: 'control-plane',
    install: {
      secrets: {
        databaseUrl: 'postgres://causeway:secret@postgres:5432/causeway',
        amqpUrl: 'amqps://causeway:secret@rabbitmq:5671',
        adminToken: 'x'.repeat(32),
      },
    },
    invalid: [
      ['replicaCount as a string', { replicaCount: 'two' }],
      ['a negative replicaCount', { replicaCount: -1 }],
      ...badImages,
      ['an unknown top-level key (a typo)', { replicas: 2 }],
      [
        'a database URL that is not postgres',
        { secrets: { databaseUrl: 'mysql://db/causeway', amqpUrl: '', adminToken: '' } },
      ],
      [
        'an admin token shorter than 32 characters',
        { secrets: { databaseUrl: '', amqpUrl: '', adminToken: 'short' } },
      ],
      [
        'a bridge namespace with capitals',
        {
          config: {
            httpPort: 8080,
            bridgeNamespace: 'Causeway',
            nodeOfflineAfterMs: 15000,
            bridgeTimeoutMs: 5000,
            logLevel: 'info',
          },
        },
      ],
      [
        'a privileged port',
        {
          config: {
            httpPort: 80,
            bridgeNamespace: 'causeway',
            nodeOfflineAfterMs: 15000,
            bridgeTimeoutMs: 5000,
            logLevel: 'info',
          },
        },
      ],
      [
        'a writable root filesystem',
        {
          securityContext: {
            runAsNonRoot: true,
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: false,
            capabilities: { drop: ['ALL'] },
          },
        },
      ],
      ['an unknown service type', { service: { type: 'Ingress', port: 8080 } }],
    ],
  },
  {
    chart: 'node',
    install: { nodeId: NODE_ID, secrets: { amqpUrl: 'amqps://node-1:secret@rabbitmq:5671' } },
    invalid: [
      ['a replicaCount (the node always runs exactly one pod)', { replicaCount: 2 }],
      ...badImages,
      ['a node id that is not a UUID', { nodeId: 'node-1' }],
      ['an AMQP URL with another scheme', { secrets: { amqpUrl: 'http://rabbitmq:15672' } }],
      [
        'a prefetch given as a string',
        {
          config: {
            bridgeNamespace: 'causeway',
            heartbeatIntervalMs: 5000,
            prefetch: 'sixteen',
            logLevel: 'info',
            stateDir: '/var/lib/causeway-node',
          },
        },
      ],
      [
        'a relative state directory',
        {
          config: {
            bridgeNamespace: 'causeway',
            heartbeatIntervalMs: 5000,
            prefetch: 16,
            logLevel: 'info',
            stateDir: 'state',
          },
        },
      ],
      [
        'a volume size that is not a quantity',
        { persistence: { enabled: true, size: 'large', accessModes: ['ReadWriteOnce'] } },
      ],
      [
        'persistence.enabled as a string',
        { persistence: { enabled: 'yes', size: '1Gi', accessModes: ['ReadWriteOnce'] } },
      ],
    ],
  },
];

describe.each(cases)('helm chart $chart', ({ chart, install, invalid }) => {
  const values = readYaml(chart, 'values.yaml');
  const validate = compileSchema(chart);

  it('has a Helm 3 Chart.yaml named after its directory', () => {
    const meta = readYaml(chart, 'Chart.yaml');
    expect(meta).toMatchObject({
      apiVersion: 'v2',
      name: chart,
      version: '0.1.0',
      appVersion: '0.1.0',
      type: 'application',
    });
  });

  it('ships a values.yaml that validates against values.schema.json', () => {
    const ok = validate(values);
    expect(describeErrors(validate)).toBe('');
    expect(ok).toBe(true);
  });

  it('accepts values.yaml completed with install-time settings', () => {
    expect(validate(withValues(values, install))).toBe(true);
  });

  it('keeps every credential out of values.yaml', () => {
    const secrets = values['secrets'] as Record<string, unknown>;
    expect(Object.keys(secrets).length).toBeGreaterThan(0);
    for (const value of Object.values(secrets)) expect(value).toBe('');
    expect(values['existingSecret']).toBe('');
  });

  it.each(invalid)('rejects %s', (_label, changes) => {
    expect(validate(withValues(values, changes))).toBe(false);
  });

  it('creates its Secret only when existingSecret is empty, and never puts credentials in the ConfigMap', () => {
    expect(readTemplate(chart, 'secret.yaml')).toMatch(
      /^\{\{-\s*if not \.Values\.existingSecret\s*\}\}/,
    );
    expect(readTemplate(chart, 'configmap.yaml')).not.toMatch(/\.Values\.secrets/);
    expect(readTemplate(chart, 'deployment.yaml')).toMatch(/secretKeyRef:/);
  });

  it('runs hardened pods', () => {
    const pod = values['podSecurityContext'] as Record<string, unknown>;
    const container = values['securityContext'] as Record<string, unknown>;
    expect(pod).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container).toMatchObject({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(values['resources']).toMatchObject({ requests: {}, limits: {} });
  });
});

describe('helm chart specifics', () => {
  it('probes the control plane on /healthz (liveness) and /readyz (readiness)', () => {
    const deployment = readTemplate('control-plane', 'deployment.yaml');
    expect(deployment).toMatch(/livenessProbe:\s+httpGet:\s+path: \/healthz/);
    expect(deployment).toMatch(/readinessProbe:\s+httpGet:\s+path: \/readyz/);
    expect(deployment).toMatch(/fieldPath: metadata\.name/);
    expect(existsSync(path.join(chartDir('control-plane'), 'templates', 'service.yaml'))).toBe(
      true,
    );
  });

  it('gives the node no inbound port: no Service, no containerPort', () => {
    expect(existsSync(path.join(chartDir('node'), 'templates', 'service.yaml'))).toBe(false);
    const deployment = readTemplate('node', 'deployment.yaml');
    expect(deployment).not.toMatch(/containerPort/);
    expect(deployment).not.toMatch(/^\s*ports:/m);
  });

  it('runs exactly one node pod, recreated, on a persistent state volume', () => {
    const deployment = readTemplate('node', 'deployment.yaml');
    expect(deployment).toMatch(/replicas: 1\n/);
    expect(deployment).toMatch(/type: Recreate/);
    expect(deployment).toMatch(/persistentVolumeClaim:/);
    expect(readTemplate('node', 'pvc.yaml')).toMatch(/kind: PersistentVolumeClaim/);
  });
});
