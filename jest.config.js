/** One Jest run for everything: small tests beside the code, integration tests in test/. */
const swc = [
  '@swc/jest',
  {
    jsc: {
      target: 'es2022',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
    },
    module: { type: 'commonjs' },
  },
];

/**
 * Packages that ship ES modules only. Node 20.19+ loads them from our CommonJS build; Jest does
 * not, so SWC turns them into CommonJS for the tests like our own code.
 */
const ESM_ONLY = [
  'jose',
  'openid-client',
  'oauth4webapi',
  'otpauth',
  'nodemailer',
  'smtp-server',
  'mailparser',
  '@tus/server',
  '@tus/utils',
  'srvx',
];

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/libs', '<rootDir>/services', '<rootDir>/helm', '<rootDir>/bench'],
  testMatch: ['**/*.spec.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  transform: { '^.+\\.ts$': swc, '^.+/node_modules/.+\\.m?js$': swc },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_ONLY.join('|')})/)`],
  moduleNameMapper: {
    '^@causeway/(contracts|bridge|crypto|audit|testing)$': '<rootDir>/libs/$1/src',
  },
  // Integration tests start real processes and talk to the real broker and database.
  testTimeout: 60_000,
  maxWorkers: 2,
};
