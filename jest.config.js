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

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/libs', '<rootDir>/services', '<rootDir>/helm', '<rootDir>/bench'],
  testMatch: ['**/*.spec.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  // jose ships ES modules only: let SWC turn them into CommonJS for Jest like our own code.
  transform: { '^.+\\.ts$': swc, '^.+/node_modules/jose/.+\\.js$': swc },
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  moduleNameMapper: {
    '^@causeway/(contracts|bridge|crypto|audit|testing)$': '<rootDir>/libs/$1/src',
  },
  // Integration tests start real processes and talk to the real broker and database.
  testTimeout: 60_000,
  maxWorkers: 2,
};
