import { TrustError } from '../errors.js';
import type { TufKey } from './tuf-keys.js';

/** A role's keys and how many of them must sign. */
export interface RoleKeys {
  keyids: string[];
  threshold: number;
}

/** What a parent role says of a child file: its length and hashes (base64). */
export interface FileMeta {
  length: number;
  hashes: Record<string, string>;
}

export interface DelegatedRole extends RoleKeys {
  name: string;
  paths?: string[];
  path_hash_prefixes?: string[];
}

interface Common {
  version: number;
  expires: string;
}
export interface RootMetadata extends Common {
  _type: 'Root';
  keys: Record<string, TufKey>;
  roles: Record<string, RoleKeys>;
  consistent_snapshot?: boolean;
}
export interface TimestampMetadata extends Common {
  _type: 'Timestamp';
  meta: Record<string, FileMeta>;
}
export interface SnapshotMetadata extends Common {
  _type: 'Snapshot';
  meta: Record<string, FileMeta>;
}
export interface TargetsMetadata extends Common {
  _type: 'Targets';
  targets: Record<string, FileMeta & { custom?: unknown }>;
  delegations?: { keys: Record<string, TufKey>; roles: DelegatedRole[] };
}

export interface TufSignature {
  keyid: string;
  method: string;
  sig: string;
}

/** A metadata file as served: its bytes, its `signed` part as parsed, and its signatures. */
export interface SignedMetadata<T> {
  bytes: Uint8Array;
  signed: T;
  /** `signed` exactly as parsed, for the canonical JSON the signatures cover. */
  signedValue: unknown;
  signatures: TufSignature[];
}

interface MetadataTypes {
  Root: RootMetadata;
  Timestamp: TimestampMetadata;
  Snapshot: SnapshotMetadata;
  Targets: TargetsMetadata;
}
type TypeName = keyof MetadataTypes;
type MetadataOf<N extends TypeName> = MetadataTypes[N];

/** Parses a metadata file and checks the fields concil relies on; names the file in errors. */
export function parseMetadata<N extends TypeName>(
  bytes: Uint8Array,
  type: N,
  subject: string,
): SignedMetadata<MetadataOf<N>> {
  const fail = (why: string): never => {
    throw new TrustError('METADATA_INVALID', `${subject} is not valid TUF ${type} metadata: ${why}`, subject);
  };
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    return fail((error as Error).message);
  }
  if (!isObject(json) || !isObject(json.signed) || !Array.isArray(json.signatures)) {
    return fail('expected {"signed": {…}, "signatures": […]}');
  }
  const signed = json.signed;
  if (signed._type !== type) fail(`_type is ${JSON.stringify(signed._type)}`);
  if (!Number.isSafeInteger(signed.version) || (signed.version as number) < 0)
    fail('version is not a whole number');
  if (typeof signed.expires !== 'string' || Number.isNaN(Date.parse(signed.expires)))
    fail('expires is not a date');
  for (const each of json.signatures) {
    if (
      !isObject(each) ||
      typeof each.keyid !== 'string' ||
      typeof each.method !== 'string' ||
      typeof each.sig !== 'string'
    ) {
      fail('a signature lacks keyid, method or sig');
    }
  }
  const checkKeys = (keys: unknown, where: string) => {
    if (!isObject(keys)) fail(`${where} is not an object`);
    for (const key of Object.values(keys as object)) {
      if (
        !isObject(key) ||
        typeof key.keytype !== 'string' ||
        !isObject(key.keyval) ||
        typeof key.keyval.public !== 'string'
      ) {
        fail(`a key of ${where} lacks keytype or keyval.public`);
      }
    }
  };
  const checkRole = (role: unknown, where: string) => {
    if (
      !isObject(role) ||
      !Array.isArray(role.keyids) ||
      !role.keyids.every((id) => typeof id === 'string') ||
      !Number.isSafeInteger(role.threshold) ||
      (role.threshold as number) < 1
    ) {
      fail(`${where} needs keyids and a threshold of at least 1`);
    }
  };
  const checkFiles = (files: unknown, where: string) => {
    if (!isObject(files)) fail(`${where} is not an object`);
    for (const [name, meta] of Object.entries(files as object)) {
      if (!isObject(meta) || !Number.isSafeInteger(meta.length) || !isObject(meta.hashes)) {
        fail(`${where}.${name} needs length and hashes`);
      }
      for (const hash of Object.values((meta as { hashes: object }).hashes)) {
        if (typeof hash !== 'string') fail(`${where}.${name} has a hash that is not a string`);
      }
    }
  };
  if (type === 'Root') {
    checkKeys(signed.keys, 'keys');
    if (!isObject(signed.roles)) fail('roles is not an object');
    for (const [name, role] of Object.entries(signed.roles as object)) checkRole(role, `roles.${name}`);
  } else if (type === 'Targets') {
    checkFiles(signed.targets, 'targets');
    if (signed.delegations !== undefined) {
      const delegations = signed.delegations;
      if (!isObject(delegations) || !Array.isArray(delegations.roles))
        fail('delegations needs keys and roles');
      const { keys, roles } = delegations as { keys: unknown; roles: unknown[] };
      checkKeys(keys, 'delegations.keys');
      for (const role of roles) {
        checkRole(role, 'a delegated role');
        if (typeof (role as { name?: unknown }).name !== 'string') fail('a delegated role has no name');
      }
    }
  } else {
    checkFiles(signed.meta, 'meta');
  }
  return {
    bytes,
    signed: signed as unknown as MetadataOf<N>,
    signedValue: signed,
    signatures: json.signatures as TufSignature[],
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
