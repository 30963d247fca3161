/**
 * Heuristics for credentials written where they do not belong (env literals, args, ConfigMaps, Helm
 * values). A name says "secret" when one of its words is a secret word, or a key word qualified as
 * an API/access/private... key; a trailing word naming where the secret lives (FILE, PATH, NAME, ID)
 * makes it a reference instead.
 */
const SECRET_WORDS = new Set(["PASSWORD", "PASSWD", "PWD", "PASSPHRASE", "SECRET", "SECRETS", "TOKEN", "TOKENS", "CREDENTIAL", "CREDENTIALS", "APIKEY", "APIKEYS"]);
/** Words that mean a secret even inside another word (PGPASSWORD, DBPASSWD, CLIENTSECRET). */
const EMBEDDED_SECRET_WORDS = ["PASSWORD", "PASSWD", "SECRET"];
const KEY_QUALIFIERS = new Set(["API", "ACCESS", "SECRET", "PRIVATE", "SIGNING", "ENCRYPTION", "MASTER", "AUTH", "CLIENT", "SERVICE", "ACCOUNT", "SHARED"]);
const KEY_NAME_OWNERS = new Set(["PASSWORD", "PASSWD", "TOKEN", "USER", "USERNAME"]);
const REFERENCE_SUFFIXES = new Set(["FILE", "PATH", "DIR", "NAME", "ID", "HEADER", "REF", "ALGORITHM", "TYPE", "LENGTH", "TTL"]);

/** `DB_PASSWORD`, `dbPassword`, `db-password` -> ["DB", "PASSWORD"]. */
function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.toUpperCase());
}

export function isSecretName(name: string): boolean {
  const parts = words(name);
  if (parts.length === 0 || REFERENCE_SUFFIXES.has(parts[parts.length - 1])) return false;
  if (parts[0] === "EXISTING") return false; // Helm's existingSecret: the name of a Secret
  // passwordKey / tokenKey: the key inside a Secret where the value lives (Helm charts).
  if (parts.length > 1 && parts[parts.length - 1] === "KEY" && KEY_NAME_OWNERS.has(parts[parts.length - 2])) return false;
  return parts.some((w, i) => SECRET_WORDS.has(w) || EMBEDDED_SECRET_WORDS.some((e) => w.includes(e)) || ((w === "KEY" || w === "KEYS") && (parts.length === 1 || KEY_QUALIFIERS.has(parts[i - 1] ?? ""))));
}

/** `scheme://user:password@host`: a URL with a password in it. */
const CREDENTIAL_URL = /[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i;
/** `Password=...;` / `AccountKey=...` in key=value connection strings (ADO.NET, Azure, JDBC query strings). */
const CREDENTIAL_PAIR = /(^|[;?&\s])(password|pwd|accountkey|sharedaccesskey|access_token)=[^;&\s]+/i;
const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;
/** `$(VAR)` is expanded by the kubelet from the container's env (which may come from a Secret). */
const ENV_EXPANSION = /^\$\([A-Za-z_][A-Za-z0-9_]*\)$/;

/** What in a value looks like a credential, or undefined. */
export function credentialIn(value: string): string | undefined {
  if (CREDENTIAL_URL.test(value)) return "a URL with a password";
  if (CREDENTIAL_PAIR.test(value)) return "a connection string with a password or key";
  if (PRIVATE_KEY.test(value)) return "a private key";
  return undefined;
}

export function isLiteralSecretValue(value: string): boolean {
  return value.trim() !== "" && !ENV_EXPANSION.test(value.trim());
}

const SECRET_FLAG = /^--?(password|passwd|secret|token|api-?key|access-?key|secret-?key|client-?secret|db-password)$/i;

/** Problems in a container's command and args: `--password=x`, `--token x`, credential URLs. */
export function secretsInArgs(args: string[]): string[] {
  const found: string[] = [];
  args.forEach((arg, i) => {
    const credential = credentialIn(arg);
    if (credential) {
      found.push(`argument ${i} holds ${credential}`);
      return;
    }
    const [flag, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    if (!SECRET_FLAG.test(flag)) return;
    const value = inline ?? args[i + 1];
    if (value !== undefined && isLiteralSecretValue(value) && !value.startsWith("-")) found.push(`argument ${i} passes ${flag} on the command line`);
  });
  return found;
}
