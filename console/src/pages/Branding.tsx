// Web app login configuration: the sign-in pages' background colour, logo and default language, and when user
// sessions are logged out; with a live preview. The logo is checked here before it is sent
// (type by its bytes, size, dimensions), with the server's own limits (src/shared/images.ts).
import { useMemo, useRef, useState } from 'react';
import { api, ApiError } from '../api.ts';
import { useSession, useTenantPath } from '../App.tsx';
import { can } from '../roles.ts';
import { settings } from '../settings.ts';
import type { Branding } from '../types.ts';
import { SelfServiceSection } from './SelfService.tsx';
import { Banner, Button, ErrorBox, FormError, Loading, notify, PageTitle, SelectField, TextField, useAsync } from '../ui.tsx';

/** The same limits as the server's (src/shared/images.ts LOGO_LIMITS). */
export const LOGO = { maxBytes: 250 * 1024, maxWidth: 200, maxHeight: 150 };
export const SESSION = { min: 30, max: 4 * 24 * 60, default: 120 };
const HEX = /^#[0-9a-fA-F]{6}$/;

/** PNG, GIF or JPEG, told by the file's first bytes (a name or a declared type can lie). */
function imageKind(b: Uint8Array): string | undefined {
  if (b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'image/png';
  if (b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x38) return 'image/gif';
  if (b[0] === 0xff && b[1] === 0xd8) return 'image/jpeg';
  return undefined;
}

/** Check a chosen logo file; returns its data: URL or the message to show. */
export async function checkLogoFile(file: File): Promise<{ ok: true; dataUrl: string } | { ok: false; message: string }> {
  const head = new Uint8Array(await file.slice(0, 8).arrayBuffer());
  const kind = imageKind(head);
  if (!kind) return { ok: false, message: `“${file.name}” is not a PNG, GIF or JPG image. Choose one of those formats.` };
  if (file.size > LOGO.maxBytes)
    return {
      ok: false,
      message: `“${file.name}” is ${Math.ceil(file.size / 1024)} KB; the logo may be at most ${LOGO.maxBytes / 1024} KB. Use a smaller image.`,
    };
  let width: number, height: number;
  try {
    const bitmap = await createImageBitmap(file);
    ({ width, height } = bitmap);
    bitmap.close();
  } catch {
    return { ok: false, message: `“${file.name}” could not be read as an image. Choose another file.` };
  }
  if (width > LOGO.maxWidth || height > LOGO.maxHeight)
    return {
      ok: false,
      message: `“${file.name}” is ${width} x ${height} pixels; the logo may be at most ${LOGO.maxWidth} x ${LOGO.maxHeight}. Resize it and try again.`,
    };
  const dataUrl = await new Promise<string>((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result));
    r.onerror = () => reject(r.error);
    r.readAsDataURL(file);
  });
  return { ok: true, dataUrl: dataUrl.replace(/^data:[^;]*;/, `data:${kind};`) };
}

/** The sign-in pages' languages (the server's catalogs; docs/languages.md). */
const LANGUAGES = [
  { value: 'en', label: 'English' },
  { value: 'es', label: 'Español (Spanish)' },
  { value: 'fr', label: 'Français (French)' },
  { value: 'de', label: 'Deutsch (German)' },
];
const UNITS = [
  { value: '1', label: 'minutes' },
  { value: '60', label: 'hours' },
  { value: '1440', label: 'days' },
];
const split = (minutes: number) =>
  minutes % 1440 === 0
    ? { amount: String(minutes / 1440), unit: '1440' }
    : minutes % 60 === 0
      ? { amount: String(minutes / 60), unit: '60' }
      : { amount: String(minutes), unit: '1' };
export const describeMinutes = (m: number) =>
  m === 0 ? 'never (off)' : m % 1440 === 0 ? `${m / 1440} day${m === 1440 ? '' : 's'}` : m % 60 === 0 ? `${m / 60} hour${m === 60 ? '' : 's'}` : `${m} minutes`;

export function BrandingPage() {
  const tp = useTenantPath();
  const current = useAsync((signal) => api<Branding>('GET', tp('/branding'), undefined, { signal }), [tp('')]);
  if (current.loading && !current.data)
    return (
      <>
        <PageTitle>Web app login configuration</PageTitle>
        <Loading />
      </>
    );
  if (current.error || !current.data)
    return (
      <>
        <PageTitle>Web app login configuration</PageTitle>
        <ErrorBox error={current.error!} onRetry={current.reload} />
      </>
    );
  return <BrandingForm key={current.data.version} initial={current.data} onSaved={current.setData} reload={current.reload} />;
}

function BrandingForm({ initial, onSaved, reload }: { initial: Branding; onSaved: (b: Branding) => void; reload: () => void }) {
  const tp = useTenantPath();
  const { me } = useSession();
  const editable = can.branding(me);
  const [color, setColor] = useState(initial.backgroundColor ?? '');
  const [logo, setLogo] = useState<string | null>(initial.logo);
  const [logoError, setLogoError] = useState<string>();
  const [checking, setChecking] = useState(false);
  const [language, setLanguage] = useState<string>(initial.defaultLocale);
  const [off, setOff] = useState(initial.sessionLifetimeMinutes === 0);
  const start = split(initial.sessionLifetimeMinutes || SESSION.default);
  const [amount, setAmount] = useState(start.amount);
  const [unit, setUnit] = useState(start.unit);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const fileRef = useRef<HTMLInputElement>(null);

  const colorError = color && !HEX.test(color) ? 'Enter a colour as # and six hexadecimal digits, like #1f6feb.' : undefined;
  const minutes = off ? 0 : Number(amount) * Number(unit);
  const sessionError =
    !off && (!Number.isFinite(minutes) || !Number.isInteger(minutes) || minutes < SESSION.min || minutes > SESSION.max)
      ? 'Choose between 30 minutes and 4 days, or turn automatic logout off.'
      : undefined;
  const apiField = (f: string) => (error instanceof ApiError ? error.forField(f) : undefined);

  const pick = async (file: File | undefined) => {
    setLogoError(undefined);
    if (!file) return;
    setChecking(true);
    const r = await checkLogoFile(file);
    setChecking(false);
    if (r.ok) setLogo(r.dataUrl);
    else {
      setLogoError(r.message);
      if (fileRef.current) fileRef.current.value = '';
    }
  };

  const save = async () => {
    if (colorError || sessionError || logoError) return;
    setBusy(true);
    setError(undefined);
    try {
      // The logo goes only when it changed (it is the largest part, and checked again there).
      const b = await api<Branding>('PATCH', tp('/branding'), {
        backgroundColor: color || null,
        ...(logo !== initial.logo && { logo }),
        defaultLocale: language,
        sessionLifetimeMinutes: minutes,
        version: initial.version,
      });
      notify('Saved. The sign-in pages use the new look now.');
      onSaved(b);
    } catch (e) {
      setError(e as Error);
      setBusy(false);
    }
  };
  const preview = useMemo(() => ({ backgroundColor: HEX.test(color) ? color : undefined }), [color]);
  const conflict = error instanceof ApiError && error.code === 'version_conflict';

  return (
    <>
      <PageTitle>Web app login configuration</PageTitle>
      <p>
        How the sign-in pages of <strong>{settings.tenantName}</strong> look, and when users are logged out.
      </p>
      {!editable && (
        <Banner level="info">
          <p>Only a superadministrator changes the login configuration; you can see it.</p>
        </Banner>
      )}
      <div className="split">
        <form
          className="form"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            void save();
          }}
        >
          <fieldset disabled={!editable}>
            <section aria-labelledby="look-h">
              <h2 id="look-h">Appearance</h2>
              <div className="color-row">
                <TextField
                  label="Background colour"
                  value={color}
                  onValue={setColor}
                  placeholder="#1f6feb"
                  error={colorError ?? apiField('backgroundColor')}
                  hint="Hexadecimal, like #1f6feb. Empty: the default."
                  maxLength={7}
                />
                <input type="color" aria-label="Colour picker" value={HEX.test(color) ? color : '#f4f5f7'} onChange={(e) => setColor(e.target.value)} />
              </div>
              <div className={`field${logoError || apiField('logo') ? ' invalid' : ''}`}>
                <label htmlFor="logo-file">Logo</label>
                <input
                  id="logo-file"
                  ref={fileRef}
                  type="file"
                  accept="image/png,image/gif,image/jpeg"
                  aria-describedby="logo-hint logo-error"
                  aria-invalid={logoError ? true : undefined}
                  onChange={(e) => void pick(e.target.files?.[0])}
                />
                <p className="hint" id="logo-hint">
                  PNG, GIF or JPG, at most {LOGO.maxWidth} x {LOGO.maxHeight} pixels and {LOGO.maxBytes / 1024} KB.
                </p>
                {checking && <p role="status">Checking the image…</p>}
                {(logoError || apiField('logo')) && (
                  <p className="field-error" id="logo-error" role="alert">
                    {logoError ?? apiField('logo')}
                  </p>
                )}
                {logo && (
                  <p>
                    <Button
                      variant="link"
                      onClick={() => {
                        setLogo(null);
                        if (fileRef.current) fileRef.current.value = '';
                      }}
                    >
                      Remove the logo
                    </Button>
                  </p>
                )}
              </div>
            </section>
            <section aria-labelledby="language-h">
              <h2 id="language-h">Language</h2>
              <SelectField
                label="Default language"
                value={language}
                onValue={setLanguage}
                options={LANGUAGES}
                error={apiField('defaultLocale')}
                hint="Used when neither the application (ui_locales), the user's own choice nor the browser's languages name one Gatehouse has. Users can switch with the language links on every page."
              />
            </section>
            <section aria-labelledby="session-h">
              <h2 id="session-h">Session logout</h2>
              <fieldset>
                <legend>Log user sessions out</legend>
                <div className="field radio">
                  <input type="radio" id="logout-after" name="logout" checked={!off} onChange={() => setOff(false)} />
                  <label htmlFor="logout-after">After a time (default 2 hours)</label>
                </div>
                {!off && (
                  <div className="inline-fields">
                    <TextField
                      label="Time"
                      type="number"
                      inputMode="numeric"
                      min={1}
                      value={amount}
                      onValue={setAmount}
                      error={sessionError ?? apiField('sessionLifetimeMinutes')}
                    />
                    <SelectField label="Unit" value={unit} onValue={setUnit} options={UNITS} />
                  </div>
                )}
                <div className="field radio">
                  <input type="radio" id="logout-off" name="logout" checked={off} onChange={() => setOff(true)} />
                  <label htmlFor="logout-off">Off (no automatic logout)</label>
                </div>
                <p className="hint">Between 30 minutes and 4 days. New sign-ins get the new lifetime.</p>
              </fieldset>
            </section>
          </fieldset>
          {conflict ? (
            <Banner level="error">
              <p>{error!.message}</p>
              <p>
                <Button variant="secondary" onClick={reload}>
                  Reload
                </Button>
              </p>
            </Banner>
          ) : (
            <FormError error={error} />
          )}
          {editable && (
            <div className="actions">
              <Button type="submit" busy={busy} busyLabel="Saving…">
                Save
              </Button>
            </div>
          )}
        </form>
        <section className="preview" aria-labelledby="preview-h">
          <h2 id="preview-h">Preview</h2>
          <div className="signin-preview" style={preview} aria-label="Preview of the sign-in page" role="img">
            <div className="signin-card">
              {logo ? <img className="signin-logo" src={logo} alt="" data-testid="preview-logo" /> : <p className="signin-brand">Gatehouse</p>}
              <p className="signin-title">Sign in</p>
              <p className="signin-label">Email</p>
              <div className="signin-input" />
              <div className="signin-button">Next</div>
            </div>
          </div>
          <p className="hint">Sessions are logged out after: {off ? 'never (off)' : sessionError ? '—' : describeMinutes(minutes)}.</p>
        </section>
      </div>
      <SelfServiceSection />
    </>
  );
}
