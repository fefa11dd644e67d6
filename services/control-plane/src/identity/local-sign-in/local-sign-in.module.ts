import { Module } from '@nestjs/common';
import { Clock } from '../../common/clock';
import { SessionsModule } from '../../sessions/sessions.module';
import { TenantsModule } from '../../tenants/tenants.module';
import { MfaVerifier, PasswordHasher, Throttle, Totp } from '../mfa';
import { SignInModule } from '../sign-in/sign-in.module';
import { SignInPolicyModule } from '../sign-in-policy/sign-in-policy.module';
import { EmailSignInService } from './email-sign-in.service';
import { LocalSignInController } from './local-sign-in.controller';
import { PasswordSignInService } from './password-sign-in.service';
import { PgEmailCodeStore } from './pg-email-code.store';
import { PgSecondFactorStore } from './pg-second-factor.store';
import { PgThrottleStore } from './pg-throttle.store';
import { SecondFactorService } from './second-factor.service';

/**
 * Sign-in without an identity provider: emailed one-time codes, local passwords where the
 * tenant allows them, and the authenticator app and recovery codes that confirm a session.
 * The checks themselves live in identity/email-codes and identity/mfa; this module gives them
 * PostgreSQL storage and HTTP routes.
 */
@Module({
  imports: [TenantsModule, SessionsModule, SignInModule, SignInPolicyModule],
  controllers: [LocalSignInController],
  providers: [
    PgEmailCodeStore,
    PgThrottleStore,
    PgSecondFactorStore,
    {
      provide: Throttle,
      inject: [PgThrottleStore, Clock],
      useFactory: (store: PgThrottleStore, clock: Clock) => new Throttle(store, clock),
    },
    { provide: Totp, inject: [Clock], useFactory: (clock: Clock) => new Totp(clock) },
    { provide: PasswordHasher, useFactory: () => new PasswordHasher() },
    {
      provide: MfaVerifier,
      inject: [PgSecondFactorStore, Throttle, Totp, PasswordHasher, Clock],
      useFactory: (
        store: PgSecondFactorStore,
        throttle: Throttle,
        totp: Totp,
        passwords: PasswordHasher,
        clock: Clock,
      ) => new MfaVerifier(store, throttle, totp, passwords, clock),
    },
    EmailSignInService,
    PasswordSignInService,
    SecondFactorService,
  ],
})
export class LocalSignInModule {}
