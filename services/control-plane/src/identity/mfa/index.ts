export * from './mfa.errors';
export * from './throttle';
export * from './passwords';
export * from './totp';
export * from './recovery-codes';
export * from './second-factor.store';
export * from './mfa-verifier';
export * from './argon2-parameters';
