import { RegistryError, type RegistryErrorCode } from './errors.js';

/** What a failed request was about, to say it in the message. */
export interface ErrorContext {
  /** `docker://host/repo:tag`, `docker://host/repo@sha256:…` or `docker://host/repo`. */
  reference: string;
  registry: string;
  /** `tag`, `manifest`, `blob`, `repository`, `upload`: what was not found, if anything. */
  subject?: 'tag' | 'manifest' | 'blob' | 'repository' | 'upload';
  /** Whether credentials were sent. */
  authenticated?: boolean;
  /** How many times the request was sent again before this answer (429, 5xx, broken connections). */
  retries?: number;
  /** The blob a blob or upload request was about. */
  digest?: string;
  /** The image the request served (`docker://host/repo:tag`), when the caller said. */
  image?: string;
}

/** "after 3 retries", to say that they ran out. */
export function afterRetries(retries: number): string {
  return `after ${retries} ${retries === 1 ? 'retry' : 'retries'}`;
}

const knownCodes = new Set<RegistryErrorCode>([
  'BLOB_UNKNOWN',
  'BLOB_UPLOAD_INVALID',
  'BLOB_UPLOAD_UNKNOWN',
  'DIGEST_INVALID',
  'MANIFEST_BLOB_UNKNOWN',
  'MANIFEST_INVALID',
  'MANIFEST_UNKNOWN',
  'NAME_INVALID',
  'NAME_UNKNOWN',
  'SIZE_INVALID',
  'UNAUTHORIZED',
  'DENIED',
  'UNSUPPORTED',
  'TOOMANYREQUESTS',
]);

/** The first OCI error code and message in a response body, when it is the JSON the spec describes. */
export function parseErrorBody(body: string): { code?: RegistryErrorCode; message?: string } {
  try {
    const json: unknown = JSON.parse(body);
    if (typeof json !== 'object' || json === null || !('errors' in json) || !Array.isArray(json.errors)) {
      return {};
    }
    const first: unknown = json.errors[0];
    if (typeof first !== 'object' || first === null) return {};
    const code = 'code' in first && typeof first.code === 'string' ? first.code.toUpperCase() : undefined;
    const message = 'message' in first && typeof first.message === 'string' ? first.message : undefined;
    return {
      ...(code && knownCodes.has(code as RegistryErrorCode) && { code: code as RegistryErrorCode }),
      ...(message && { message: message.slice(0, 200) }),
    };
  } catch {
    return {};
  }
}

/** A RegistryError for a response that was not a success, with a message a person can act on. */
export function errorFromResponse(status: number, body: string, context: ErrorContext): RegistryError {
  const parsed = parseErrorBody(body);
  const code = parsed.code ?? codeForStatus(status, context);
  const { reference, registry } = context;
  const about = authSubject(context);
  const said = parsed.message ? ` (registry said: ${parsed.message})` : '';
  let message: string;
  switch (code) {
    case 'MANIFEST_UNKNOWN':
      message =
        context.subject === 'tag'
          ? `${reference}: tag not found (MANIFEST_UNKNOWN); check the tag with \`concil tags\``
          : `${reference}: manifest not found (MANIFEST_UNKNOWN); check the digest or tag`;
      break;
    case 'BLOB_UNKNOWN':
      message = `${reference}: blob not found in the repository (BLOB_UNKNOWN); push it first or check the digest`;
      break;
    case 'NAME_UNKNOWN':
      message = `${reference}: repository not found (NAME_UNKNOWN); check the name with \`concil catalog\``;
      break;
    case 'UNAUTHORIZED':
      message = context.authenticated
        ? `wrong username or password for ${registry}; log in or check ~/.concil/config.json auths`
        : `${registry} requires authentication for ${about}; log in or add credentials to ~/.concil/config.json auths`;
      break;
    case 'DENIED':
      message = `${about}: access denied by ${registry} (DENIED); the account lacks permission for this repository`;
      break;
    case 'TOOMANYREQUESTS':
      message = `${registry} is rate limiting requests (TOOMANYREQUESTS); wait and try again, or log in for a higher limit`;
      break;
    case 'MANIFEST_INVALID':
      message = `${reference}: the registry rejected the manifest as invalid (MANIFEST_INVALID)${said}`;
      break;
    case 'MANIFEST_BLOB_UNKNOWN':
      message = `${reference}: the manifest refers to a blob the repository does not have (MANIFEST_BLOB_UNKNOWN); push its layers and config first${said}`;
      break;
    case 'DIGEST_INVALID':
      message = `${reference}: the content does not match its digest (DIGEST_INVALID)${said}`;
      break;
    case 'SIZE_INVALID':
      message = `${reference}: the content does not match its size (SIZE_INVALID)${said}`;
      break;
    case 'NAME_INVALID':
      message = `${reference}: invalid repository name (NAME_INVALID)${said}`;
      break;
    case 'UNSUPPORTED':
      message = `${reference}: ${registry} does not support this operation (UNSUPPORTED)${said}`;
      break;
    case 'SERVER_ERROR':
      message = `${registry} failed with HTTP ${status} for ${reference}; the registry has a problem, try again later${said}`;
      break;
    default:
      message = `${reference}: unexpected HTTP ${status} from ${registry} (${code})${said}`;
  }
  if (context.retries)
    message = `${message}; ${registry} still answered HTTP ${status} ${afterRetries(context.retries)}`;
  const authError = code === 'UNAUTHORIZED' || code === 'DENIED';
  return new RegistryError(code, message, {
    reference: (authError && context.image) || reference,
    status,
  });
}

/**
 * What an auth error is about: access is granted per repository, so a blob request names the
 * image it served (or its repository) and then the blob, never the blob as if it were the image.
 */
function authSubject(context: ErrorContext): string {
  if (!context.digest) return context.image ?? context.reference;
  const image = context.image ?? context.reference.slice(0, context.reference.lastIndexOf('@'));
  return `${image} (while ${context.subject === 'upload' ? 'pushing' : 'asking for'} blob ${context.digest})`;
}

function codeForStatus(status: number, context: ErrorContext): RegistryErrorCode {
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'DENIED';
  if (status === 429) return 'TOOMANYREQUESTS';
  if (status === 404) {
    if (context.subject === 'blob') return 'BLOB_UNKNOWN';
    if (context.subject === 'tag' || context.subject === 'manifest') return 'MANIFEST_UNKNOWN';
    if (context.subject === 'upload') return 'BLOB_UPLOAD_UNKNOWN';
    return 'NAME_UNKNOWN';
  }
  if (status === 405) return 'UNSUPPORTED';
  if (status >= 500) return 'SERVER_ERROR';
  return 'PROTOCOL';
}
