import { type Digest, parseDigest } from './digest.js';
import { OciSpecError } from './errors.js';

/** A reference to an image in a registry: `docker://[user:pass@]host[:port]/repo[:tag][@digest]`. */
export interface ImageReference {
  /** host[:port], with Docker Hub spelled `docker.io`. */
  registry: string;
  repository: string;
  tag?: string;
  digest?: Digest;
  /** Credentials written into the reference, used for its registry only. */
  username?: string;
  password?: string;
}

export const DOCKER_HUB = 'docker.io';
const DEFAULT_TAG = 'latest';
const TRANSPORT = 'docker://';

const componentPattern = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const tagPattern = /^[\w][\w.-]{0,127}$/;
/** The OCI grammar of a digest: algorithm ':' encoded. */
const digestPattern = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const hostPattern = /^(?:\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?)(?::[0-9]+)?$/;

/**
 * Parses an image reference as people type it. Short forms follow Docker's rules: a first
 * component without `.` or `:` that is not `localhost` names a Docker Hub repository, and a
 * single-component Hub name lives under `library/`. Without tag or digest the tag is `latest`.
 */
export function parseReference(input: string): ImageReference {
  const fail = (why: string): never => {
    throw new OciSpecError(
      'REFERENCE_INVALID',
      `"${redact(input)}" is not an image reference: ${why}`,
      redact(input),
    );
  };
  let rest = input.startsWith(TRANSPORT) ? input.slice(TRANSPORT.length) : input;
  if (rest.length === 0) fail('it is empty');

  let username: string | undefined;
  let password: string | undefined;
  const firstSlash = rest.indexOf('/');
  const at = rest.indexOf('@');
  // `name@sha256:…` without a slash is a digest, not credentials.
  if (at >= 0 && (firstSlash < 0 || at < firstSlash) && !digestPattern.test(rest.slice(at + 1))) {
    const credentials = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = credentials.indexOf(':');
    username = decodeURIComponent(colon < 0 ? credentials : credentials.slice(0, colon));
    password = colon < 0 ? undefined : decodeURIComponent(credentials.slice(colon + 1));
  }

  let digest: Digest | undefined;
  const digestAt = rest.indexOf('@');
  if (digestAt >= 0) {
    const value = rest.slice(digestAt + 1);
    try {
      parseDigest(value);
    } catch {
      fail(`"${value}" is not a valid digest`);
    }
    digest = value as Digest;
    rest = rest.slice(0, digestAt);
  }

  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const tagColon = rest.lastIndexOf(':');
  if (tagColon > lastSlash) {
    tag = rest.slice(tagColon + 1);
    rest = rest.slice(0, tagColon);
    if (!isTag(tag)) fail(`"${tag}" is not a valid tag`);
  }

  let registry = DOCKER_HUB;
  let repository = rest;
  const slash = rest.indexOf('/');
  const first = slash < 0 ? '' : rest.slice(0, slash);
  if (
    slash >= 0 &&
    (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['))
  ) {
    registry = first;
    repository = rest.slice(slash + 1);
  }
  if (!hostPattern.test(registry)) fail(`"${registry}" is not a valid registry host`);
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  if (repository.length === 0 || repository.length > 255) fail('the repository name is empty or too long');
  for (const component of repository.split('/')) {
    if (!componentPattern.test(component)) {
      fail(`"${component}" is not a valid repository name component (lowercase letters, digits, . _ -)`);
    }
  }
  if (!tag && !digest) tag = DEFAULT_TAG;
  return {
    registry,
    repository,
    ...(tag !== undefined && { tag }),
    ...(digest !== undefined && { digest }),
    ...(username !== undefined && { username }),
    ...(password !== undefined && { password }),
  };
}

/** Whether a text is a valid tag: a word character, then up to 127 of `\w . -`. */
export function isTag(text: string): boolean {
  return tagPattern.test(text);
}

/** The reference as text, never with credentials. */
export function formatReference(ref: ImageReference, withTransport = false): string {
  let text = `${ref.registry}/${ref.repository}`;
  if (ref.tag) text += `:${ref.tag}`;
  if (ref.digest) text += `@${ref.digest}`;
  return withTransport ? TRANSPORT + text : text;
}

/** What goes into the manifest URL: the digest when there is one (it pins the content), else the tag. */
export function manifestReference(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? DEFAULT_TAG;
}

export function isLoopbackHost(registry: string): boolean {
  const host = hostOf(registry);
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The host without port or IPv6 brackets. */
export function hostOf(registry: string): string {
  if (registry.startsWith('[')) return registry.slice(1, registry.indexOf(']'));
  const colon = registry.lastIndexOf(':');
  return colon < 0 ? registry : registry.slice(0, colon);
}

/**
 * The base URL of a registry's API (`…/v2/` is appended by the client). Docker Hub's API lives
 * on another host; loopback registries speak plain HTTP, everything else HTTPS unless told.
 */
export function registryBaseUrl(registry: string, options: { plainHttp?: boolean } = {}): string {
  if (registry === DOCKER_HUB) return 'https://registry-1.docker.io';
  const scheme = (options.plainHttp ?? isLoopbackHost(registry)) ? 'http' : 'https';
  return `${scheme}://${registry}`;
}

function redact(input: string): string {
  // Greedy up to the last `@` before the path: an unencoded `@` in a password stays hidden too.
  return input.replace(/^(docker:\/\/)?([^/@:]*):([^/]*)@/, '$1$2:***@');
}
