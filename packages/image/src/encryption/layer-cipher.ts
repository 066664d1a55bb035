import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { type Digest, Digester, isDigest, parseDigest } from '@concil/oci-spec';
import { ImageError } from '../errors.js';

/** ocicrypt's one layer cipher: AES-256 in CTR mode, then HMAC-SHA256 over the ciphertext. */
export const LAYER_CIPHER = 'AES_256_CTR_HMAC_SHA256';
const KEY_BYTES = 32;
const NONCE_BYTES = 16;

/** What decrypts one layer: the symmetric key (also the HMAC key, as ocicrypt has it) and the CTR nonce. */
export interface LayerSecret {
  symkey: Buffer;
  nonce: Buffer;
}

/**
 * Encrypts a layer as it passes: a fresh key and nonce per layer, the HMAC taken over the
 * ciphertext; `hmac` and, unless it was known beforehand, the plaintext's `digest` once it ended.
 */
export class LayerEncryptStream extends Transform {
  readonly secret: LayerSecret = { symkey: randomBytes(KEY_BYTES), nonce: randomBytes(NONCE_BYTES) };
  readonly #cipher = createCipheriv('aes-256-ctr', this.secret.symkey, this.secret.nonce);
  readonly #hmac = createHmac('sha256', this.secret.symkey);
  readonly #plaintext: Digester | undefined;
  #mac: Buffer | undefined;
  #digest: Digest | undefined;

  /** `digest`: the plaintext's digest when it is known (a verified source); else it is computed. */
  constructor(digest?: Digest) {
    super({ highWaterMark: 1 << 20 });
    this.#digest = digest;
    this.#plaintext = digest ? undefined : new Digester('sha256');
  }

  get hmac(): Buffer {
    if (!this.#mac)
      throw new ImageError('UNSUPPORTED', 'the HMAC of a layer is known only once it is encrypted');
    return this.#mac;
  }

  get digest(): Digest {
    if (!this.#digest)
      throw new ImageError('UNSUPPORTED', 'the digest of a layer is known only once it is read');
    return this.#digest;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#plaintext?.update(chunk);
    const encrypted = this.#cipher.update(chunk);
    this.#hmac.update(encrypted);
    callback(null, encrypted);
  }

  override _flush(callback: TransformCallback): void {
    const rest = this.#cipher.final(); // CTR has no padding: nothing, but the cipher is closed
    this.#hmac.update(rest);
    this.#mac = this.#hmac.digest();
    if (this.#plaintext) this.#digest = this.#plaintext.digest();
    callback(null, rest.length ? rest : undefined);
  }
}

/**
 * Decrypts a layer as it passes. The HMAC is checked over the whole ciphertext and the
 * plaintext's digest against the one recorded at encryption before the stream ends: on a
 * mismatch it ends in an error, so whoever stores the plaintext keeps nothing.
 */
export class LayerDecryptStream extends Transform {
  readonly #decipher;
  readonly #hmac;
  readonly #plaintext: Digester | undefined;

  /**
   * `expected.digest`: the plaintext's digest, checked here unless it is undefined (ocicrypt may
   * leave it empty, or whoever stores the plaintext verifies it against it as it writes).
   */
  constructor(
    secret: LayerSecret,
    private readonly expected: { hmac: Buffer; digest: Digest | undefined; layer: string },
  ) {
    super({ highWaterMark: 1 << 20 });
    if (secret.symkey.length !== KEY_BYTES || secret.nonce.length !== NONCE_BYTES) {
      throw new ImageError(
        'ENCRYPTION_INVALID',
        `layer ${expected.layer}: its key is ${secret.symkey.length} bytes and its nonce ${secret.nonce.length}; ${LAYER_CIPHER} needs ${KEY_BYTES} and ${NONCE_BYTES}`,
        expected.layer,
      );
    }
    this.#plaintext =
      expected.digest && isDigest(expected.digest)
        ? new Digester(parseDigest(expected.digest).algorithm)
        : undefined;
    this.#decipher = createDecipheriv('aes-256-ctr', secret.symkey, secret.nonce);
    this.#hmac = createHmac('sha256', secret.symkey);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#hmac.update(chunk);
    const plain = this.#decipher.update(chunk);
    this.#plaintext?.update(plain);
    callback(null, plain);
  }

  override _flush(callback: TransformCallback): void {
    this.#decipher.final();
    const mac = this.#hmac.digest();
    const { hmac, digest, layer } = this.expected;
    if (mac.length !== hmac.length || !timingSafeEqual(mac, hmac)) {
      callback(
        new ImageError(
          'DECRYPTION_FAILED',
          `layer ${layer}: its HMAC does not match: the ciphertext was changed or cut short; nothing decrypted was kept`,
          layer,
        ),
      );
      return;
    }
    const actual = this.#plaintext?.digest();
    if (digest && actual !== digest) {
      callback(
        new ImageError(
          'DECRYPTION_FAILED',
          `layer ${layer} decrypts to ${actual}, but its encryption recorded ${digest}; nothing decrypted was kept`,
          layer,
        ),
      );
      return;
    }
    callback();
  }
}
