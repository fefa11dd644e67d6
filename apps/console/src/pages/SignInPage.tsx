import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { api } from '../api/client';
import { messageOf } from '../api/errors';
import type { SignInAnswer, SignInMethods } from '../api/types';
import { PageHeading } from '../components/Heading';
import { ErrorMessage, StatusMessage } from '../components/Messages';
import { navigate, useTitle } from '../router';
import { isTenantSlug, useSession } from '../session';

/** Where a finished sign-in goes: the workspaces, or the second-factor prompt first. */
async function afterSignIn(
  answer: SignInAnswer,
  refresh: ReturnType<typeof useSession>['refresh'],
): Promise<void> {
  await refresh();
  navigate(answer.secondFactorRequired ? '/sign-in/second-factor' : '/workspaces', {
    replace: true,
  });
}

export function SignInPage() {
  const { tenant, setTenant } = useSession();
  useTitle('Sign in');
  if (tenant === undefined) return <ChooseOrganisation onChosen={setTenant} />;
  return <SignIn tenant={tenant} onChangeTenant={() => setTenant(undefined)} />;
}

function ChooseOrganisation({ onChosen }: { onChosen: (slug: string) => void }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string>();
  const inputId = useId();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const slug = value.trim().toLowerCase();
    if (!isTenantSlug(slug)) {
      setError(
        'Enter the short name of the organisation that invited you, as in its address (letters, digits and -).',
      );
      return;
    }
    onChosen(slug);
  };
  return (
    <section className="card narrow">
      <PageHeading>Sign in</PageHeading>
      <form onSubmit={submit} noValidate>
        <label htmlFor={inputId}>Organisation</label>
        <p className="hint" id={`${inputId}-hint`}>
          The short name of the company that invited you, as in the link of your invitation (for
          example <code>acme</code>).
        </p>
        <input
          id={inputId}
          name="organisation"
          autoComplete="organization"
          aria-describedby={`${inputId}-hint`}
          aria-invalid={error ? true : undefined}
          value={value}
          onChange={(e) => setValue(e.target.value)}
          required
        />
        <ErrorMessage message={error} />
        <button type="submit">Continue</button>
      </form>
    </section>
  );
}

function SignIn({ tenant, onChangeTenant }: { tenant: string; onChangeTenant: () => void }) {
  const { refresh } = useSession();
  const [methods, setMethods] = useState<SignInMethods>();
  const [loadError, setLoadError] = useState<string>();

  useEffect(() => {
    let live = true;
    setMethods(undefined);
    setLoadError(undefined);
    api.methods(tenant).then(
      (m) => live && setMethods(m),
      (e: unknown) => live && setLoadError(messageOf(e)),
    );
    return () => {
      live = false;
    };
  }, [tenant]);

  const nothing =
    methods !== undefined && methods.items.length === 0 && !methods.emailCode && !methods.password;

  return (
    <section className="card narrow" aria-busy={methods === undefined && !loadError}>
      <PageHeading>
        Sign in to <span className="tenant">{tenant}</span>
      </PageHeading>
      <p className="hint">
        Not your organisation?{' '}
        <button type="button" className="link" onClick={onChangeTenant}>
          Choose another
        </button>
      </p>
      <ErrorMessage message={loadError} />
      {methods === undefined && !loadError && <p>Loading the ways to sign in…</p>}
      {methods && methods.items.length > 0 && (
        <nav aria-label="Single sign-on" className="sso">
          <ul className="plain">
            {methods.items.map((p) => (
              <li key={p.id}>
                <a className="button secondary block" href={p.loginUrl}>
                  Sign in with {p.name}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      )}
      {methods?.emailCode && (
        <EmailCodeForm tenant={tenant} onSignedIn={(a) => afterSignIn(a, refresh)} />
      )}
      {methods?.password && (
        <PasswordForm tenant={tenant} onSignedIn={(a) => afterSignIn(a, refresh)} />
      )}
      {nothing && (
        <p>
          This organisation offers no way to sign in here yet. Ask your contact there how to sign
          in.
        </p>
      )}
    </section>
  );
}

function EmailCodeForm({
  tenant,
  onSignedIn,
}: {
  tenant: string;
  onSignedIn: (answer: SignInAnswer) => Promise<void>;
}) {
  const [email, setEmail] = useState('');
  const [code, setCode] = useState('');
  const [sentTo, setSentTo] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const codeRef = useRef<HTMLInputElement>(null);
  const id = useId();

  useEffect(() => {
    if (sentTo) codeRef.current?.focus();
  }, [sentTo]);

  const send = async (event?: FormEvent) => {
    event?.preventDefault();
    setError(undefined);
    const address = email.trim();
    if (!/^[^\s@]+@[^\s@]+$/.test(address)) {
      setError('Enter your email address, for example ada@partner.example.');
      return;
    }
    setBusy(true);
    try {
      await api.startEmailCode(tenant, address);
      setSentTo(address);
      setCode('');
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };

  const verify = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    const digits = code.replace(/\s+/g, '');
    if (!/^\d{6}$/.test(digits)) {
      setError('The code has 6 digits. Copy it from the email.');
      return;
    }
    setBusy(true);
    try {
      await onSignedIn(await api.verifyEmailCode(tenant, sentTo ?? email.trim(), digits));
    } catch (e) {
      setError(messageOf(e));
      setBusy(false);
    }
  };

  if (sentTo === undefined) {
    return (
      <form className="stack" onSubmit={(e) => void send(e)} noValidate aria-label="Emailed code">
        <h2>With a code sent by email</h2>
        <label htmlFor={`${id}-email`}>Email address</label>
        <input
          id={`${id}-email`}
          name="email"
          type="email"
          autoComplete="email"
          inputMode="email"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          aria-invalid={error ? true : undefined}
          required
        />
        <ErrorMessage message={error} />
        <button type="submit" disabled={busy}>
          {busy ? 'Sending…' : 'Email me a code'}
        </button>
      </form>
    );
  }
  return (
    <form className="stack" onSubmit={(e) => void verify(e)} noValidate aria-label="Emailed code">
      <h2>Enter the code from your email</h2>
      <StatusMessage>
        If <strong>{sentTo}</strong> has an account here, a 6-digit code is on its way. It works
        once, for 10 minutes.
      </StatusMessage>
      <label htmlFor={`${id}-code`}>6-digit code</label>
      <input
        id={`${id}-code`}
        ref={codeRef}
        name="code"
        autoComplete="one-time-code"
        inputMode="numeric"
        maxLength={12}
        value={code}
        onChange={(e) => setCode(e.target.value)}
        aria-invalid={error ? true : undefined}
        required
      />
      <ErrorMessage message={error} />
      <div className="row">
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <button type="button" className="secondary" disabled={busy} onClick={() => void send()}>
          Send a new code
        </button>
        <button
          type="button"
          className="link"
          onClick={() => {
            setSentTo(undefined);
            setError(undefined);
          }}
        >
          Use another address
        </button>
      </div>
    </form>
  );
}

function PasswordForm({
  tenant,
  onSignedIn,
}: {
  tenant: string;
  onSignedIn: (answer: SignInAnswer) => Promise<void>;
}) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const id = useId();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    setBusy(true);
    try {
      await onSignedIn(await api.signInWithPassword(tenant, email.trim(), password));
    } catch (e) {
      setError(messageOf(e));
      setBusy(false);
    }
  };
  return (
    <form className="stack" onSubmit={(e) => void submit(e)} aria-label="Password">
      <h2>With a password</h2>
      <label htmlFor={`${id}-email`}>Email address</label>
      <input
        id={`${id}-email`}
        type="email"
        autoComplete="username"
        value={email}
        onChange={(e) => setEmail(e.target.value)}
        required
      />
      <label htmlFor={`${id}-password`}>Password</label>
      <input
        id={`${id}-password`}
        type="password"
        autoComplete="current-password"
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        required
      />
      <ErrorMessage message={error} />
      <button type="submit" disabled={busy}>
        {busy ? 'Signing in…' : 'Sign in with password'}
      </button>
    </form>
  );
}
