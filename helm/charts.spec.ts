import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import { parse } from 'yaml';

/**
 * Helm is not available in CI, so the charts are checked statically: values.yaml must satisfy
 * values.schema.json (which Helm enforces at install), the schema must reject bad values for the
 * right reason, Chart.yaml must be a Helm 3 chart, and the templates must keep the properties
 * the operator documentation promises (enrolment, no inbound port, credentials in Secrets).
 */

type Values = Record<string, unknown>;

function chartDir(chart: string): string {
  return path.join(__dirname, chart);
}

function readYaml(chart: string, file: string): Values {
  return parse(readFileSync(path.join(chartDir(chart), file), 'utf8')) as Values;
}

function readTemplate(chart: string, file: string): string {
  return readFileSync(path.join(chartDir(chart), 'templates', file), 'utf8');
}

/** Every file of a chart (values, schema, Chart.yaml, templates), as one string per file. */
function chartFiles(chart: string): Array<[string, string]> {
  const files: Array<[string, string]> = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir)) {
      const full = path.join(dir, entry);
      if (statSync(full).isDirectory()) walk(full);
      else files.push([path.relative(__dirname, full), readFileSync(full, 'utf8')]);
    }
  };
  walk(chartDir(chart));
  return files;
}

function compileSchema(chart: string): ValidateFunction {
  const schema = JSON.parse(
    readFileSync(path.join(chartDir(chart), 'values.schema.json'), 'utf8'),
  ) as object;
  // strict: an unknown keyword or a loose type in the schema is an error, not a silent no-op.
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  return ajv.compile(schema);
}

function isPlainObject(value: unknown): value is Values {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * values.yaml with changes merged in the way Helm merges -f/--set values: objects merge key by
 * key, everything else replaces. `undefined` removes a key (a value left out).
 */
function withValues(base: Values, changes: Values): Values {
  const merged = structuredClone<Values>(base);
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete merged[key];
    else if (isPlainObject(value) && isPlainObject(merged[key]))
      merged[key] = withValues(merged[key], value);
    else merged[key] = structuredClone(value);
  }
  return merged;
}

function describeErrors(validate: ValidateFunction): string {
  return (validate.errors ?? [])
    .map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`)
    .join('; ');
}

/**
 * The node values file of the operator guide (docs/operator/containers.md, `cat >
 * node-1.values.yaml <<'EOF' ... EOF`), so that the documented example stays installable.
 */
function documentedNodeValues(): Values {
  const guide = readFileSync(
    path.join(__dirname, '..', 'docs', 'operator', 'containers.md'),
    'utf8',
  );
  const match = /cat > node-1\.values\.yaml <<'EOF'\n([\s\S]*?)\n[ \t]*EOF\n/.exec(guide);
  if (!match?.[1]) throw new Error('containers.md has no node-1.values.yaml example');
  const lines = match[1].split('\n');
  const indent = Math.min(
    ...lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)?.[0].length ?? 0),
  );
  return parse(lines.map((l) => l.slice(indent)).join('\n')) as Values;
}

interface ChartCase {
  chart: string;
  /** Values that complete values.yaml for an install (what an operator passes with -f/--set). */
  install: Values;
  /** Invalid changes to the install values, and a text the schema's errors must contain. */
  invalid: Array<[string, Values, string]>;
}

const badImages: Array<[string, Values, string]> = [
  [
    'an image given as a string',
    { image: 'causeway/control-plane:latest' },
    '/image must be object',
  ],
  [
    'an image repository with spaces and capitals',
    { image: { repository: 'Causeway/Control Plane!' } },
    '/image/repository',
  ],
  [
    'an image repository that includes its tag',
    { image: { repository: 'causeway/app:1.0' } },
    '/image/repository',
  ],
  ['an unknown pull policy', { image: { pullPolicy: 'Sometimes' } }, '/image/pullPolicy'],
  ['a malformed digest', { image: { digest: 'sha256:xyz' } }, '/image/digest'],
];

const writableRoot: [string, Values, string] = [
  'a writable root filesystem',
  { securityContext: { readOnlyRootFilesystem: false } },
  '/securityContext/readOnlyRootFilesystem',
];

const cases: ChartCase[] = [
  {
    chart: 'control-plane',
    install: {
      image: { repository: 'registry.example.com/causeway/control-plane' },
      secrets: {
        databaseUrl: 'postgres://causeway:secret@postgres:5432/causeway',
        amqpUrl: 'amqps://causeway:secret@rabbitmq:5671',
        adminToken: 'x'.repeat(32),
        caSealKey: 'y'.repeat(48),
      },
    },
    invalid: [
      ['replicaCount as a string', { replicaCount: 'two' }, '/replicaCount must be integer'],
      ['a negative replicaCount', { replicaCount: -1 }, '/replicaCount must be >= 0'],
      ...badImages,
      ['an unknown top-level key (a typo)', { replicas: 2 }, '"additionalProperty":"replicas"'],
      [
        'a database URL that is not postgres',
        { secrets: { databaseUrl: 'mysql://db/causeway' } },
        '/secrets/databaseUrl',
      ],
      [
        'an admin token shorter than 32 characters',
        { secrets: { adminToken: 'short' } },
        '/secrets/adminToken',
      ],
      [
        'a CA seal key shorter than 12 characters',
        { secrets: { caSealKey: 'short' } },
        '/secrets/caSealKey',
      ],
      [
        'secrets without the caSealKey entry',
        { secrets: { caSealKey: undefined } },
        '"missingProperty":"caSealKey"',
      ],
      [
        'a bridge namespace with capitals',
        { config: { bridgeNamespace: 'Causeway' } },
        '/config/bridgeNamespace',
      ],
      ['a privileged port', { config: { httpPort: 80 } }, '/config/httpPort'],
      writableRoot,
      ['an unknown service type', { service: { type: 'Ingress' } }, '/service/type'],
    ],
  },
  {
    chart: 'node',
    install: documentedNodeValues(),
    invalid: [
      [
        'a missing controlPlaneUrl',
        { controlPlaneUrl: undefined },
        '"missingProperty":"controlPlaneUrl"',
      ],
      ['an empty controlPlaneUrl', { controlPlaneUrl: '' }, '/controlPlaneUrl'],
      [
        'a controlPlaneUrl that is not http(s)',
        { controlPlaneUrl: 'amqps://rabbitmq:5671' },
        '/controlPlaneUrl',
      ],
      [
        'a controlPlaneUrl with a path (enrolment and renewal ignore it)',
        { controlPlaneUrl: 'https://example.com/causeway' },
        '/controlPlaneUrl',
      ],
      [
        'a controlPlaneUrl with credentials',
        { controlPlaneUrl: 'https://user:secret@causeway.example.com' },
        '/controlPlaneUrl',
      ],
      ['a node name with spaces', { nodeName: 'node 1' }, '/nodeName'],
      ['a node name longer than 63 characters', { nodeName: 'n'.repeat(64) }, '/nodeName'],
      [
        'a join token given as a value instead of a Secret',
        { joinToken: { token: 'cwj_secret' } },
        '"additionalProperty":"token"',
      ],
      [
        'a join-token Secret name with capitals',
        { joinToken: { existingSecret: 'Node-1-Join' } },
        '/joinToken/existingSecret',
      ],
      ['an empty join-token Secret key', { joinToken: { key: '' } }, '/joinToken/key'],
      [
        'the removed nodeId (the id comes from enrolment)',
        { nodeId: '3f1c2b9e-8d4a-4b7e-9a1f-2c3d4e5f6a7b' },
        '"additionalProperty":"nodeId"',
      ],
      [
        'the removed broker-URL Secret (the URL comes from enrolment)',
        { existingSecret: 'node-1-broker' },
        '"additionalProperty":"existingSecret"',
      ],
      [
        'the removed bridge namespace (it comes from enrolment)',
        { config: { bridgeNamespace: 'causeway' } },
        '"additionalProperty":"bridgeNamespace"',
      ],
      [
        'a replicaCount (the node always runs exactly one pod)',
        { replicaCount: 2 },
        '"additionalProperty":"replicaCount"',
      ],
      ...badImages,
      ['a prefetch given as a string', { config: { prefetch: 'sixteen' } }, '/config/prefetch'],
      [
        'a prefetch above what the node accepts',
        { config: { prefetch: 1001 } },
        '/config/prefetch',
      ],
      ['a relative state directory', { config: { stateDir: 'state' } }, '/config/stateDir'],
      [
        'a relative mount path',
        { persistence: { mountPath: 'var/lib/causeway-node' } },
        '/persistence/mountPath',
      ],
      [
        'a volume size that is not a quantity',
        { persistence: { size: 'large' } },
        '/persistence/size',
      ],
      [
        'persistence.enabled as a string',
        { persistence: { enabled: 'yes' } },
        '/persistence/enabled',
      ],
      writableRoot,
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

  it('accepts values.yaml completed with the documented install-time settings', () => {
    const ok = validate(withValues(values, install));
    expect(describeErrors(validate)).toBe('');
    expect(ok).toBe(true);
  });

  it.each(invalid)('rejects %s', (_label, changes, reason) => {
    expect(validate(withValues(withValues(values, install), changes))).toBe(false);
    expect(describeErrors(validate)).toContain(reason);
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

  it('never mentions node registration, which no longer exists', () => {
    for (const [file, text] of chartFiles(chart)) {
      expect([file, /nodes register|registered/i.test(text)]).toEqual([file, false]);
    }
  });
});

describe('helm chart control-plane specifics', () => {
  const values = readYaml('control-plane', 'values.yaml');
  const validate = compileSchema('control-plane');
  const deployment = readTemplate('control-plane', 'deployment.yaml');

  it('ships a values.yaml that validates on its own, with every credential left empty', () => {
    expect(validate(values)).toBe(true);
    const secrets = values['secrets'] as Record<string, unknown>;
    expect(Object.keys(secrets).sort()).toEqual([
      'adminToken',
      'amqpUrl',
      'caSealKey',
      'databaseUrl',
    ]);
    for (const value of Object.values(secrets)) expect(value).toBe('');
    expect(values['existingSecret']).toBe('');
  });

  it('creates its Secret only without existingSecret, with CAUSEWAY_CA_SEAL_KEY required in it', () => {
    const secret = readTemplate('control-plane', 'secret.yaml');
    expect(secret).toMatch(/^\{\{-\s*if not \.Values\.existingSecret\s*\}\}/);
    expect(secret).toMatch(
      /CAUSEWAY_CA_SEAL_KEY: \{\{ required "[^"]+" \.Values\.secrets\.caSealKey/,
    );
    expect(readTemplate('control-plane', 'configmap.yaml')).not.toMatch(/\.Values\.secrets|SEAL/);
  });

  it('passes CAUSEWAY_CA_SEAL_KEY from the Secret, not as optional', () => {
    const entry = /- name: CAUSEWAY_CA_SEAL_KEY\n([\s\S]*?)\n\s*- name:/.exec(deployment)?.[1];
    expect(entry).toMatch(/secretKeyRef:\s+name: \{\{ include "causeway-cp\.secretName" \. \}\}/);
    expect(entry).toMatch(/key: CAUSEWAY_CA_SEAL_KEY/);
    expect(entry).not.toMatch(/optional/);
  });

  it('probes the control plane on /healthz (liveness) and /readyz (readiness)', () => {
    expect(deployment).toMatch(/livenessProbe:\s+httpGet:\s+path: \/healthz/);
    expect(deployment).toMatch(/readinessProbe:\s+httpGet:\s+path: \/readyz/);
    expect(deployment).toMatch(/fieldPath: metadata\.name/);
    expect(existsSync(path.join(chartDir('control-plane'), 'templates', 'service.yaml'))).toBe(
      true,
    );
  });

  it('tells how to create a join token and install a node in its NOTES', () => {
    const notes = readTemplate('control-plane', 'NOTES.txt');
    expect(notes).toMatch(
      /exec deploy\/\{\{ include "causeway-cp\.fullname" \. \}\} -- \\\n\s+node services\/control-plane\/dist\/cli\/main\.js join-tokens create --tenant <tenant>/,
    );
    expect(notes).toMatch(/--set controlPlaneUrl=https:\/\//);
    expect(notes).toMatch(/--set joinToken\.existingSecret=/);
  });
});

describe('helm chart node specifics', () => {
  const values = readYaml('node', 'values.yaml');
  const validate = compileSchema('node');
  const deployment = readTemplate('node', 'deployment.yaml');
  const initStart = deployment.indexOf('\n      initContainers:\n');
  const mainStart = deployment.indexOf('\n      containers:\n');
  const init = deployment.slice(initStart, mainStart);
  const main = deployment.slice(mainStart, deployment.indexOf('\n      volumes:\n'));

  it('ships a values.yaml that is complete except for controlPlaneUrl, which has no default', () => {
    expect(values).not.toHaveProperty('controlPlaneUrl');
    expect(validate(values)).toBe(false);
    expect(validate.errors).toEqual([
      expect.objectContaining({
        keyword: 'required',
        params: { missingProperty: 'controlPlaneUrl' },
      }),
    ]);
    expect(validate(withValues(values, { controlPlaneUrl: 'https://causeway.example.com' }))).toBe(
      true,
    );
  });

  it('accepts an in-cluster http address and an explicit port', () => {
    for (const url of [
      'http://causeway-control-plane.causeway.svc:8080',
      'https://causeway.example.com:8443/',
    ]) {
      expect(validate(withValues(values, { controlPlaneUrl: url }))).toBe(true);
    }
  });

  it('documents an example with the join token in a Secret, not in values', () => {
    const example = documentedNodeValues();
    expect(example).toMatchObject({
      controlPlaneUrl: expect.stringMatching(/^https:\/\//),
      joinToken: { existingSecret: expect.any(String) },
    });
    expect(values['joinToken']).toEqual({ existingSecret: '', key: 'CAUSEWAY_JOIN_TOKEN' });
    expect(values).not.toHaveProperty('secrets');
    expect(values).not.toHaveProperty('existingSecret');
  });

  it('enrols in an init container only while node.json is missing', () => {
    expect(initStart).toBeGreaterThan(0);
    expect(mainStart).toBeGreaterThan(initStart);
    expect(init).toMatch(/- name: enrol\n/);
    expect(init).toMatch(/image: \{\{ include "causeway-node\.image" \. \| quote \}\}/);
    expect(init).toMatch(/command:\s+- sh\s+- -c\s+- \|/);
    expect(init).toMatch(
      /\[ -f "\$CAUSEWAY_STATE_DIR\/node\.json" \] \|\| \{[\s\S]*exec node services\/node\/dist\/cli\/main\.js enroll --control-plane "\$ENROL_CONTROL_PLANE_URL" --name "\$ENROL_NODE_NAME" --state-dir "\$CAUSEWAY_STATE_DIR"\n\s*\}/,
    );
    // Values reach the script only through the environment, never spliced into it.
    const script = /- \|\n([\s\S]*?)\n\s*env:/.exec(init)?.[1] ?? '';
    expect(script).not.toMatch(/\{\{/);
    expect(init).toMatch(
      /- name: ENROL_CONTROL_PLANE_URL\n\s+value: \{\{ required "[^"]+" \.Values\.controlPlaneUrl \| quote \}\}/,
    );
    expect(init).toMatch(
      /- name: ENROL_NODE_NAME\n\s+value: \{\{ \.Values\.nodeName \| default \.Release\.Name \| quote \}\}/,
    );
  });

  it('reads the join token from the Secret, optionally, so the spent token can be deleted', () => {
    expect(init).toMatch(
      /- name: CAUSEWAY_JOIN_TOKEN\n\s+valueFrom:\n\s+secretKeyRef:\n\s+name: \{\{ \.Values\.joinToken\.existingSecret \| quote \}\}\n\s+key: \{\{ \.Values\.joinToken\.key \| quote \}\}\n(?:\s+#.*\n)*\s+optional: true/,
    );
    expect(main).not.toMatch(/JOIN_TOKEN|secretKeyRef/);
  });

  it('runs the node from its state directory alone: no id, broker URL or namespace is set', () => {
    const configmap = readTemplate('node', 'configmap.yaml');
    expect(configmap).toMatch(
      /CAUSEWAY_STATE_DIR: \{\{ include "causeway-node\.stateDir" \. \| quote \}\}/,
    );
    expect(main).toMatch(/configMapRef:/);
    expect(main).not.toMatch(/^\s*(?:command|args):/m);
    expect(existsSync(path.join(chartDir('node'), 'templates', 'secret.yaml'))).toBe(false);
    for (const [file, text] of chartFiles('node')) {
      expect([
        file,
        /CAUSEWAY_NODE_ID|CAUSEWAY_AMQP_URL|CAUSEWAY_BRIDGE_NAMESPACE|\.Values\.nodeId|\.Values\.secrets/.test(
          text,
        ),
      ]).toEqual([file, false]);
    }
  });

  it('keeps the state directory below the volume mount, in both containers', () => {
    const helpers = readTemplate('node', '_helpers.tpl');
    expect(helpers).toMatch(/define "causeway-node\.stateDir"[\s\S]*hasPrefix[\s\S]*fail/);
    const config = values['config'] as Record<string, string>;
    const persistence = values['persistence'] as Record<string, string>;
    expect(config['stateDir']?.startsWith(`${persistence['mountPath']}/`)).toBe(true);
    for (const container of [init, main]) {
      expect(container).toMatch(
        /- name: state\n\s+mountPath: \{\{ \.Values\.persistence\.mountPath \| quote \}\}/,
      );
    }
  });

  it('gives the node no inbound port: no Service, no containerPort', () => {
    expect(existsSync(path.join(chartDir('node'), 'templates', 'service.yaml'))).toBe(false);
    expect(deployment).not.toMatch(/containerPort/);
    expect(deployment).not.toMatch(/^\s*ports:/m);
  });

  it('runs exactly one node pod, recreated, on a persistent state volume', () => {
    expect(deployment).toMatch(/replicas: 1\n/);
    expect(deployment).toMatch(/type: Recreate/);
    expect(deployment).toMatch(/persistentVolumeClaim:/);
    expect(readTemplate('node', 'pvc.yaml')).toMatch(/kind: PersistentVolumeClaim/);
  });
});
