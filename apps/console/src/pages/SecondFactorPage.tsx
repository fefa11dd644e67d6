import { useId, useState, type FormEvent } from 'react';
import { api } from '../api/client';
import { messageOf } from '../api/errors';
import type { TotpSetup } from '../api/types';
import { PageHeading } from '../components/Heading';
import { ErrorMessage } from '../components/Messages';
import { Link, navigate, useTitle } from '../router';
import { useSession } from '../session';

/**
 * The second-factor prompt: a session waiting for it can only confirm it (an app code or a
 * recovery code) or set up an app, which also confirms it.
 */
export function SecondFactorPage() {
  useTitle('Confirm your sign-in');
  const { refresh, session } = useSession();
  const [mode, setMode] = useState<'app' | 'recovery' | 'setup'>('app');
  const [recoveryCodes, setRecoveryCodes] = useState<string[]>();

  const done = async () => {
    await refresh();
    navigate('/workspaces', { replace: true });
  };

  if (session.status === 'signed-out') {
    return (
      <section className="card narrow">
        <PageHeading>Confirm your sign-in</PageHeading>
        <p>
          Your sign-in has ended. <Link to="/sign-in">Sign in again</Link>.
        </p>
      </section>
    );
  }

  if (recoveryCodes) {
    return (
      <section className="card narrow">
        <PageHeading>Keep your recovery codes</PageHeading>
        <p>
          Each code works once, in place of an app code, if you lose your phone. Keep them somewhere
          safe, away from your phone (a password manager, or printed). They are shown only now.
        </p>
        <ul className="codes">
          {recoveryCodes.map((c) => (
            <li key={c}>
              <code>{c}</code>
            </li>
          ))}
        </ul>
        <button type="button" onClick={() => void done()}>
          I have kept them: continue
        </button>
      </section>
    );
  }

  return (
    <section className="card narrow">
      <PageHeading>Confirm your sign-in</PageHeading>
      <p>Your organisation asks for a second factor: a code from your authenticator app.</p>
      {mode === 'setup' ? (
        <TotpSetupForm onConfirmed={setRecoveryCodes} onCancel={() => setMode('app')} />
      ) : (
        <ConfirmForm mode={mode} onConfirmed={done} />
      )}
      {mode !== 'setup' && (
        <ul className="plain options">
          <li>
            <button
              type="button"
              className="link"
              onClick={() => setMode(mode === 'app' ? 'recovery' : 'app')}
            >
              {mode === 'app' ? 'Use a recovery code instead' : 'Use a code from the app instead'}
            </button>
          </li>
          <li>
            <button type="button" className="link" onClick={() => setMode('setup')}>
              No authenticator app yet? Set one up
            </button>
          </li>
        </ul>
      )}
    </section>
  );
}

function ConfirmForm({
  mode,
  onConfirmed,
}: {
  mode: 'app' | 'recovery';
  onConfirmed: () => Promise<void>;
}) {
  const [value, setValue] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const id = useId();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    const entered = value.trim();
    if (mode === 'app' && !/^\d{6}$/.test(entered.replace(/\s+/g, ''))) {
      setError('The code from the app has 6 digits.');
      return;
    }
    setBusy(true);
    try {
      await api.confirmSecondFactor(
        mode === 'app' ? { code: entered.replace(/\s+/g, '') } : { recoveryCode: entered },
      );
      await onConfirmed();
    } catch (e) {
      setError(messageOf(e));
      setBusy(false);
    }
  };
  return (
    <form className="stack" onSubmit={(e) => void submit(e)} noValidate>
      <label htmlFor={id}>{mode === 'app' ? 'Code from your app' : 'Recovery code'}</label>
      <input
        id={id}
        autoComplete="one-time-code"
        inputMode={mode === 'app' ? 'numeric' : 'text'}
        value={value}
        onChange={(e) => setValue(e.target.value)}
        aria-invalid={error ? true : undefined}
        required
      />
      <ErrorMessage message={error} />
      <button type="submit" disabled={busy}>
        {busy ? 'Checking…' : 'Confirm'}
      </button>
    </form>
  );
}

function TotpSetupForm({
  onConfirmed,
  onCancel,
}: {
  onConfirmed: (recoveryCodes: string[]) => void;
  onCancel: () => void;
}) {
  const [setup, setSetup] = useState<TotpSetup>();
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const id = useId();

  const start = async () => {
    setError(undefined);
    setBusy(true);
    try {
      setSetup(await api.startTotpSetup());
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };

  const confirm = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    setBusy(true);
    try {
      onConfirmed((await api.confirmTotpSetup(code.replace(/\s+/g, ''))).recoveryCodes);
    } catch (e) {
      setError(messageOf(e));
      setBusy(false);
    }
  };

  if (!setup) {
    return (
      <div className="stack">
        <h2>Set up an authenticator app</h2>
        <p>
          Any authenticator app works (Google or Microsoft Authenticator, 1Password, Aegis…).
          Setting one up replaces an app you set up before, so finish it right away.
        </p>
        <ErrorMessage message={error} />
        <div className="row">
          <button type="button" disabled={busy} onClick={() => void start()}>
            Start
          </button>
          <button type="button" className="secondary" onClick={onCancel}>
            Back
          </button>
        </div>
      </div>
    );
  }
  return (
    <form className="stack" onSubmit={(e) => void confirm(e)} noValidate>
      <h2>Add Causeway to your app</h2>
      <p>In your app, add an account with this key (it is shown only now):</p>
      <p>
        <code className="secret">{setup.secret}</code>
      </p>
      <p className="hint">
        Or open this link on the device that has the app:{' '}
        <a href={setup.otpauthUrl}>otpauth link</a>
      </p>
      <label htmlFor={id}>Code the app shows now</label>
      <input
        id={id}
        autoComplete="one-time-code"
        inputMode="numeric"
        value={code}
        onChange={(e) => setCode(e.target.value)}
        aria-invalid={error ? true : undefined}
        required
      />
      <ErrorMessage message={error} />
      <button type="submit" disabled={busy}>
        {busy ? 'Checking…' : 'Confirm and continue'}
      </button>
    </form>
  );
}
