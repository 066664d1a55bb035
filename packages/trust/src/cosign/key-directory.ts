import { createPublicKey } from 'node:crypto';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { TrustError } from '../errors.js';
import type { TrustedKey } from './check-signature.js';
import {
  COSIGN_PRIVATE_KEY_LABEL,
  encryptPrivateKey,
  generateCosignKeyPair,
  keyFingerprint,
  publicKeyPem,
  readPrivateKey,
  readPublicKey,
  SIGSTORE_PRIVATE_KEY_LABEL,
} from './keys.js';
import { type PasswordSource, resolvePassword } from './password.js';

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export interface KeyEntry {
  id: string;
  /** The sha256 of the public key's PKIX DER, as hex. */
  fingerprint: string;
  hasPrivateKey: boolean;
}

/**
 * The named keys of the configuration's `cosign_path`, as the Python concil kept them:
 * `ID.key` (cosign's encrypted private key) and `ID.pub` (PKIX public key). Its public keys
 * are the keys verification trusts.
 */
export class CosignKeyDirectory {
  constructor(readonly path: string) {}

  privateKeyPath(id: string): string {
    return join(this.path, `${checkId(id)}.key`);
  }

  publicKeyPath(id: string): string {
    return join(this.path, `${checkId(id)}.pub`);
  }

  /** Generates an ECDSA P-256 key pair under `id`, the private key sealed with the password. */
  async generate(id: string, password: PasswordSource): Promise<KeyEntry> {
    await this.#refuseExisting(id);
    const pair = await generateCosignKeyPair(await resolvePassword(password, id));
    await this.#write(id, pair.privateKeyPem, pair.publicKeyPem);
    return this.#entry(id, pair.publicKeyPem, true);
  }

  /**
   * Imports a key file under `id`: a public key (verification only), cosign's encrypted private
   * key (kept as it is, once the password opened it), or a plain PKCS#8/EC private key (sealed
   * with the password into cosign's format, as `cosign import-key-pair` does).
   */
  async import(id: string, file: string, password: PasswordSource): Promise<KeyEntry> {
    await this.#refuseExisting(id);
    const pem = await readKeyFile(file);
    if (pem.includes('-----BEGIN PUBLIC KEY-----')) {
      const publicPem = publicKeyPem(readPublicKey(pem, file));
      await this.#write(id, undefined, publicPem);
      return this.#entry(id, publicPem, false);
    }
    const privateKey = await readPrivateKey(pem, password, file);
    const publicPem = publicKeyPem(createPublicKey(privateKey));
    const sealed =
      pem.includes(SIGSTORE_PRIVATE_KEY_LABEL) || pem.includes(COSIGN_PRIVATE_KEY_LABEL)
        ? pem
        : await encryptPrivateKey(privateKey, await resolvePassword(password, id));
    await this.#write(id, sealed, publicPem);
    return this.#entry(id, publicPem, true);
  }

  /** Copies a key out: the public key, or with `private` the encrypted private key. */
  async export(id: string, file: string, options: { private?: boolean } = {}): Promise<void> {
    const source = options.private ? this.privateKeyPath(id) : this.publicKeyPath(id);
    const pem = await readKeyFile(source, id);
    await writeFileAtomic(file, pem, { mode: options.private ? 0o600 : 0o644 });
  }

  /** The keys held, sorted by ID. */
  async list(): Promise<KeyEntry[]> {
    const names = await readdir(this.path).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [] as string[];
      throw error;
    });
    const ids = names.filter((n) => n.endsWith('.pub')).map((n) => n.slice(0, -'.pub'.length));
    const entries = await Promise.all(
      ids
        .filter((id) => ID_PATTERN.test(id))
        .map(async (id) => {
          const pem = await readKeyFile(this.publicKeyPath(id), id);
          return this.#entry(id, pem, names.includes(`${id}.key`));
        }),
    );
    return entries.sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Every public key of the directory, named by its ID: what verification trusts. */
  async trustedKeys(): Promise<TrustedKey[]> {
    const entries = await this.list();
    return Promise.all(
      entries.map(async ({ id }) => ({
        name: id,
        key: readPublicKey(await readKeyFile(this.publicKeyPath(id), id), this.publicKeyPath(id)),
      })),
    );
  }

  async #refuseExisting(id: string): Promise<void> {
    for (const path of [this.privateKeyPath(id), this.publicKeyPath(id)]) {
      if (await stat(path).catch(() => undefined)) {
        throw new TrustError(
          'KEY_EXISTS',
          `${path}: a key named "${id}" exists already; choose another ID or remove it first`,
          path,
        );
      }
    }
  }

  async #write(id: string, privatePem: string | undefined, publicPem: string): Promise<void> {
    await mkdir(this.path, { recursive: true, mode: 0o700 });
    if (privatePem !== undefined) await writeFileAtomic(this.privateKeyPath(id), privatePem, { mode: 0o600 });
    await writeFileAtomic(this.publicKeyPath(id), publicPem, { mode: 0o644 });
  }

  #entry(id: string, publicPem: string, hasPrivateKey: boolean): KeyEntry {
    return { id, fingerprint: keyFingerprint(readPublicKey(publicPem, id)), hasPrivateKey };
  }
}

function checkId(id: string): string {
  if (!ID_PATTERN.test(id)) {
    throw new TrustError(
      'KEY_NOT_FOUND',
      `"${id}" is no key ID: use letters, digits, ".", "_" and "-", starting with a letter or digit`,
      id,
    );
  }
  return id;
}

/** A key file's text; `KEY_NOT_FOUND` naming the key when it is missing. */
export async function readKeyFile(path: string, name = path): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new TrustError('KEY_NOT_FOUND', `${path}: no such key file (${name})`, path, { cause: error });
    }
    throw new TrustError('KEY_NOT_FOUND', `${path}: cannot read the key file (${code})`, path, {
      cause: error,
    });
  }
}
