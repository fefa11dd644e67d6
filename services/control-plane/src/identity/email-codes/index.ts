export * from './email-codes.errors';
export * from './email-code.store';
export * from './mailer';
export * from './email-codes.service';
