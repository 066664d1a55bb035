import type { Descriptor, Platform } from './descriptor.js';
import { OciSpecError } from './errors.js';
import type { ImageIndex } from './manifest.js';

const goArch: Record<string, string> = {
  x64: 'amd64',
  ia32: '386',
  arm64: 'arm64',
  arm: 'arm',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
};

/** The platform of this machine, as Go spells it (what images are labelled with). */
export function defaultPlatform(): Platform {
  const architecture = goArch[process.arch] ?? process.arch;
  const os = process.platform === 'win32' ? 'windows' : process.platform;
  // Images for Linux are what a macOS or Windows user runs too.
  return normalizePlatform({ os: os === 'darwin' ? 'linux' : os, architecture });
}

/** Parses `os/arch[/variant]`, e.g. `linux/arm64/v8`. */
export function parsePlatform(text: string): Platform {
  const [os, architecture, variant, ...extra] = text.split('/');
  if (!os || !architecture || extra.length > 0) {
    throw new OciSpecError(
      'PLATFORM_INVALID',
      `"${text}" is not a platform: write os/arch[/variant], e.g. linux/amd64`,
      text,
    );
  }
  return normalizePlatform({ os, architecture, ...(variant && { variant }) });
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** Fills in the variants that registries leave out (arm64 is v8, arm is v7), as containerd does. */
export function normalizePlatform(p: Platform): Platform {
  let { architecture, variant } = p;
  if (architecture === 'aarch64') architecture = 'arm64';
  if (architecture === 'x86_64' || architecture === 'x86-64') architecture = 'amd64';
  if (architecture === 'arm64' && !variant) variant = 'v8';
  if (architecture === 'arm' && !variant) variant = 'v7';
  if (architecture === 'amd64' && variant === 'v1') variant = undefined;
  return { ...p, os: p.os.toLowerCase(), architecture, ...(variant ? { variant } : { variant: undefined }) };
}

export function platformMatches(candidate: Platform, wanted: Platform): boolean {
  const a = normalizePlatform(candidate);
  const b = normalizePlatform(wanted);
  return a.os === b.os && a.architecture === b.architecture && (a.variant ?? '') === (b.variant ?? '');
}

/** The one manifest of an index for a platform; an error lists the platforms that are there. */
export function selectPlatform(index: ImageIndex, wanted: Platform, subject = 'index'): Descriptor {
  const found = index.manifests.find((m) => m.platform && platformMatches(m.platform, wanted));
  if (found) return found;
  const available = index.manifests
    .flatMap((m) => (m.platform ? [formatPlatform(m.platform)] : []))
    .join(', ');
  throw new OciSpecError(
    'PLATFORM_NOT_FOUND',
    `${subject} has no image for ${formatPlatform(wanted)}; available: ${available || 'none'}; choose one with --platform or copy all with --all`,
    subject,
  );
}
