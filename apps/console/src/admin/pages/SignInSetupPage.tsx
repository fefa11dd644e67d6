import { useId, useState, type ChangeEvent, type FormEvent } from 'react';
import { ErrorMessage, StatusMessage } from '../../components/Messages';
import { adminApi } from '../api';
import type { IdentityProvider, SignInPolicy } from '../types';
import { AdminPage, LoadState, When, lines, useAction, useLoad } from '../ui';

/**
 * Sign-in setup: the tenant's SSO connectors (OIDC, SAML), each with a "test sign-in" that runs
 * its real sign-in flow, and the policy for emailed codes, passwords and a second factor.
 */
export function SignInSetupPage() {
  return (
    <AdminPage
      title="Sign-in"
      intro="Connectors need identity-providers.manage; the policy needs sign-in-policy.manage (owner and admin hold both)."
    >
      {(tenant) => (
        <>
          <Connectors tenant={tenant} />
          <Policy tenant={tenant} />
        </>
      )}
    </AdminPage>
  );
}

function Connectors({ tenant }: { tenant: string }) {
  const state = useLoad(() => adminApi.identityProviders(tenant), tenant);
  const [adding, setAdding] = useState<'oidc' | 'saml'>();
  return (
    <section aria-labelledby="connectors-title">
      <h2 id="connectors-title">Single sign-on connectors</h2>
      <LoadState state={state} permission="identity-providers.manage" what="the connectors">
        {() => (
          <>
            {state.data?.items.length === 0 && (
              <p className="empty">No connector yet: add your identity provider below.</p>
            )}
            <ul className="plain connectors">
              {state.data?.items.map((p) => (
                <ConnectorCard key={p.id} tenant={tenant} provider={p} onRemoved={state.reload} />
              ))}
            </ul>
            <div className="row">
              <button
                type="button"
                className={adding === 'oidc' ? '' : 'secondary'}
                aria-expanded={adding === 'oidc'}
                onClick={() => setAdding(adding === 'oidc' ? undefined : 'oidc')}
              >
                Add an OIDC connector
              </button>
              <button
                type="button"
                className={adding === 'saml' ? '' : 'secondary'}
                aria-expanded={adding === 'saml'}
                onClick={() => setAdding(adding === 'saml' ? undefined : 'saml')}
              >
                Add a SAML connector
              </button>
            </div>
            {adding === 'oidc' && (
              <OidcForm
                tenant={tenant}
                onAdded={() => {
                  setAdding(undefined);
                  state.reload();
                }}
              />
            )}
            {adding === 'saml' && (
              <SamlForm
                tenant={tenant}
                onAdded={() => {
                  setAdding(undefined);
                  state.reload();
                }}
              />
            )}
          </>
        )}
      </LoadState>
    </section>
  );
}

function ConnectorCard({
  tenant,
  provider: p,
  onRemoved,
}: {
  tenant: string;
  provider: IdentityProvider;
  onRemoved: () => void;
}) {
  const action = useAction('identity-providers.manage');
  const [confirming, setConfirming] = useState(false);
  const s = p.settings;
  const text = (key: string) => {
    const value = s[key];
    return typeof value === 'string' ? value : undefined;
  };
  return (
    <li className="connector" aria-label={`${p.name} (${p.kind.toUpperCase()})`}>
      <h3>
        {p.name} <span className="badge">{p.kind.toUpperCase()}</span>
        {s['partners'] === true && <span className="badge">partners</span>}
        {!p.enabled && <span className="badge warn">disabled</span>}
      </h3>
      <dl className="facts">
        {p.kind === 'oidc' ? (
          <>
            <dt>Issuer</dt>
            <dd>
              <code>{text('issuer')}</code>
            </dd>
            <dt>Client id</dt>
            <dd>
              <code>{text('clientId')}</code>
            </dd>
            <dt>Redirect URI</dt>
            <dd>
              <code>{p.redirectUri}</code>
            </dd>
          </>
        ) : (
          <>
            <dt>IdP entity id</dt>
            <dd>
              <code>{text('idpEntityId')}</code>
            </dd>
            <dt>Our entity id</dt>
            <dd>
              <code>{p.spEntityId}</code>
            </dd>
            <dt>Our ACS URL</dt>
            <dd>
              <code>{p.acsUrl}</code>
            </dd>
          </>
        )}
        <dt>Added</dt>
        <dd>
          <When iso={p.createdAt} />
        </dd>
      </dl>
      <div className="row">
        <a
          className="button"
          href={p.loginUrl}
          aria-describedby={`test-${p.id}`}
          data-testid="test-sign-in"
        >
          Test sign-in
        </a>
        {p.metadataUrl && (
          <a
            className="button secondary"
            href={p.metadataUrl}
            download={`causeway-sp-${p.name}.xml`}
          >
            Download SP metadata
          </a>
        )}
        {confirming ? (
          <>
            <button
              type="button"
              className="danger"
              disabled={action.busy}
              onClick={() =>
                void action.run(async () => {
                  await adminApi.removeIdentityProvider(tenant, p.id);
                  onRemoved();
                })
              }
            >
              Remove {p.name} now
            </button>
            <button type="button" className="secondary" onClick={() => setConfirming(false)}>
              Keep it
            </button>
          </>
        ) : (
          <button type="button" className="secondary danger" onClick={() => setConfirming(true)}>
            Remove
          </button>
        )}
      </div>
      <p className="hint" id={`test-${p.id}`}>
        Test sign-in runs this connector's real sign-in in this tab: you sign in at your identity
        provider and come back signed in through it (your current session is replaced).
      </p>
      <ErrorMessage message={action.error} />
    </li>
  );
}

function Field({
  label,
  hint,
  ...input
}: {
  label: string;
  hint?: string;
  name: string;
  value: string;
  onChange: (e: ChangeEvent<HTMLInputElement>) => void;
  type?: string;
  required?: boolean;
  autoComplete?: string;
}) {
  const id = useId();
  return (
    <>
      <label htmlFor={id}>
        {label}
        {input.required ? '' : ' (optional)'}
      </label>
      {hint && (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      <input id={id} aria-describedby={hint ? `${id}-hint` : undefined} {...input} />
    </>
  );
}

function Check({
  label,
  checked,
  onChange,
  name,
}: {
  label: string;
  checked: boolean;
  onChange: (checked: boolean) => void;
  name: string;
}) {
  const id = useId();
  return (
    <div className="check">
      <input
        id={id}
        name={name}
        type="checkbox"
        checked={checked}
        onChange={(e) => onChange(e.target.checked)}
      />
      <label htmlFor={id}>{label}</label>
    </div>
  );
}

function OidcForm({ tenant, onAdded }: { tenant: string; onAdded: () => void }) {
  const [v, setV] = useState({
    name: '',
    issuer: '',
    clientId: '',
    clientSecret: '',
    scopes: '',
    groups: '',
  });
  const [partners, setPartners] = useState(false);
  const action = useAction('identity-providers.manage');
  const set = (key: keyof typeof v) => (e: ChangeEvent<HTMLInputElement>) =>
    setV({ ...v, [key]: e.target.value });
  const redirectUri = `${window.location.origin}/api/v1/auth/${tenant}/oidc/callback`;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!v.name.trim() || !v.issuer.trim() || !v.clientId.trim() || !v.clientSecret) {
      action.setError('Give a name, the issuer URL, the client id and the client secret.');
      return;
    }
    void action.run(async () => {
      const scopes = lines(v.scopes.replace(/\s+/g, ','));
      await adminApi.addIdentityProvider(tenant, {
        kind: 'oidc',
        name: v.name.trim(),
        issuer: v.issuer.trim(),
        clientId: v.clientId.trim(),
        clientSecret: v.clientSecret,
        ...(scopes.length > 0 ? { scopes } : {}),
        ...(v.groups.trim() ? { claims: { groups: v.groups.trim() } } : {}),
        partners,
      });
      onAdded();
    });
  };
  return (
    <form className="stack subform" onSubmit={submit} noValidate aria-label="New OIDC connector">
      <h3>New OIDC connector</h3>
      <p className="hint">
        Register Causeway at your identity provider as a confidential web client (authorization code
        with PKCE S256) with the redirect URI <code>{redirectUri}</code>.
      </p>
      <Field label="Name" name="name" value={v.name} onChange={set('name')} required />
      <Field
        label="Issuer URL"
        hint="Exactly as the provider publishes it, e.g. https://acme.okta.com."
        name="issuer"
        type="url"
        value={v.issuer}
        onChange={set('issuer')}
        required
      />
      <Field
        label="Client id"
        name="clientId"
        value={v.clientId}
        onChange={set('clientId')}
        required
      />
      <Field
        label="Client secret"
        hint="Stored sealed; never shown again."
        name="clientSecret"
        type="password"
        autoComplete="off"
        value={v.clientSecret}
        onChange={set('clientSecret')}
        required
      />
      <Field
        label="Scopes"
        hint="Default: openid email profile. Separate with spaces."
        name="scopes"
        value={v.scopes}
        onChange={set('scopes')}
      />
      <Field
        label="Groups claim"
        hint="Default: groups."
        name="groups"
        value={v.groups}
        onChange={set('groups')}
      />
      <Check
        name="partners"
        label="A partner company's provider (signs in partners only)"
        checked={partners}
        onChange={setPartners}
      />
      <ErrorMessage message={action.error} />
      <button type="submit" disabled={action.busy}>
        {action.busy ? 'Saving…' : 'Save connector'}
      </button>
    </form>
  );
}

function SamlForm({ tenant, onAdded }: { tenant: string; onAdded: () => void }) {
  const [name, setName] = useState('');
  const [xml, setXml] = useState('');
  const [fileName, setFileName] = useState<string>();
  const [attrs, setAttrs] = useState({ email: '', name: '', groups: '' });
  const [opts, setOpts] = useState({
    allowIdpInitiated: false,
    trustEmail: false,
    partners: false,
  });
  const action = useAction('identity-providers.manage');
  const fileId = useId();
  const pick = (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    if (!file) return;
    setFileName(file.name);
    file.text().then(setXml, () => action.setError('The file could not be read.'));
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!name.trim() || !xml.trim()) {
      action.setError("Give a name and your identity provider's metadata file.");
      return;
    }
    const attributes = Object.fromEntries(
      Object.entries(attrs).filter(([, value]) => value.trim() !== ''),
    );
    void action.run(async () => {
      await adminApi.addIdentityProvider(tenant, {
        kind: 'saml',
        name: name.trim(),
        idpMetadataXml: xml,
        ...opts,
        ...(Object.keys(attributes).length > 0 ? { attributes } : {}),
      });
      onAdded();
    });
  };
  return (
    <form className="stack subform" onSubmit={submit} noValidate aria-label="New SAML connector">
      <h3>New SAML connector</h3>
      <p className="hint">
        Upload the metadata your identity provider publishes. Once saved, download this connector's
        SP metadata (or copy its entity id and ACS URL) into the identity provider.
      </p>
      <Field
        label="Name"
        name="name"
        value={name}
        onChange={(e) => setName(e.target.value)}
        required
      />
      <label htmlFor={fileId}>IdP metadata (XML file)</label>
      <input id={fileId} type="file" accept=".xml,application/xml,text/xml" onChange={pick} />
      {fileName && (
        <p className="hint">
          {fileName}: {xml.length.toLocaleString()} characters read.
        </p>
      )}
      <Field
        label="E-mail attribute"
        name="attr-email"
        value={attrs.email}
        onChange={(e) => setAttrs({ ...attrs, email: e.target.value })}
      />
      <Field
        label="Name attribute"
        name="attr-name"
        value={attrs.name}
        onChange={(e) => setAttrs({ ...attrs, name: e.target.value })}
      />
      <Field
        label="Groups attribute"
        name="attr-groups"
        value={attrs.groups}
        onChange={(e) => setAttrs({ ...attrs, groups: e.target.value })}
      />
      <Check
        name="trustEmail"
        label="Trust this IdP's e-mail addresses (link a first sign-in to an existing account)"
        checked={opts.trustEmail}
        onChange={(c) => setOpts({ ...opts, trustEmail: c })}
      />
      <Check
        name="allowIdpInitiated"
        label="Accept sign-ins started at the identity provider"
        checked={opts.allowIdpInitiated}
        onChange={(c) => setOpts({ ...opts, allowIdpInitiated: c })}
      />
      <Check
        name="partners"
        label="A partner company's provider (signs in partners only)"
        checked={opts.partners}
        onChange={(c) => setOpts({ ...opts, partners: c })}
      />
      <ErrorMessage message={action.error} />
      <button type="submit" disabled={action.busy}>
        {action.busy ? 'Saving…' : 'Save connector'}
      </button>
    </form>
  );
}

const POLICY_LABELS: Record<keyof SignInPolicy, string> = {
  emailCodesAllowed: 'Allow sign-in with a code sent by email',
  passwordsAllowed: 'Allow local passwords',
  requireSecondFactor: 'Require a second factor (authenticator app) at every sign-in',
};

function Policy({ tenant }: { tenant: string }) {
  const state = useLoad(() => adminApi.signInPolicy(tenant), tenant);
  return (
    <section aria-labelledby="policy-title">
      <h2 id="policy-title">Sign-in policy</h2>
      <LoadState state={state} permission="sign-in-policy.manage" what="the sign-in policy">
        {() => state.data && <PolicyForm tenant={tenant} policy={state.data} />}
      </LoadState>
    </section>
  );
}

function PolicyForm({ tenant, policy }: { tenant: string; policy: SignInPolicy }) {
  const [value, setValue] = useState(policy);
  const action = useAction('sign-in-policy.manage');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void action.run(async () => {
      setValue(await adminApi.updateSignInPolicy(tenant, value));
      return 'Sign-in policy saved.';
    });
  };
  return (
    <form onSubmit={submit} aria-label="Sign-in policy">
      {(Object.keys(POLICY_LABELS) as Array<keyof SignInPolicy>).map((key) => (
        <Check
          key={key}
          name={key}
          label={POLICY_LABELS[key]}
          checked={value[key]}
          onChange={(c) => setValue({ ...value, [key]: c })}
        />
      ))}
      <ErrorMessage message={action.error} />
      <StatusMessage>{action.done}</StatusMessage>
      <button type="submit" disabled={action.busy}>
        {action.busy ? 'Saving…' : 'Save policy'}
      </button>
    </form>
  );
}
