/**
 * What may be shown of a secret: in logs, API answers, records and configuration errors. A webhook URL
 * often carries its token in the path or query (Slack, CI triggers) and a database URL its password, so
 * a URL is shown as its origin only, and a value of a secret-named variable not at all.
 */

const SECRET_NAME = /(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL|DATABASE_URL|DSN|WEBHOOK_URL|AUTH)/i;
const REDACTED = "[redacted]";

/** Whether an environment variable's name says it holds a secret (DATABASE_URL, WEBHOOK_SECRET, *_TOKEN...). */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** `https://hooks.example.com/[redacted]`: scheme and host only; anything unparseable is fully hidden. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.host) return REDACTED;
    const rest = u.pathname !== "/" || u.search || u.hash || u.username || u.password ? `/${REDACTED}` : "";
    return `${u.protocol}//${u.host}${rest}`;
  } catch {
    return REDACTED;
  }
}

const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>,]+/gi;

/** Every URL inside a text (a JSON document such as ALERT_ACTIONS, a message) by its origin only. */
export function redactUrlsIn(text: string): string {
  return text.replace(URL_IN_TEXT, (url) => redactUrl(url));
}

/**
 * An environment value as a configuration error may show it: secret-named values never, and every URL
 * in it by its origin only (a JSON value such as ALERT_ACTIONS may carry webhook URLs with tokens).
 */
export function shownEnvValue(name: string, value: string | undefined): string {
  if (value === undefined) return "(unset)";
  if (isSecretName(name)) return `(${REDACTED}, ${value.length} characters)`;
  return JSON.stringify(redactUrlsIn(value));
}
