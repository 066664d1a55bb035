/**
 * Notary's canonical JSON (docker/go's `json.MarshalCanonical`): object keys sorted by their
 * UTF-8 bytes, no whitespace, strings escaped as Go's encoder escapes them (`<`, `>`, `&`,
 * U+2028 and U+2029 as `\u00xx`, other control characters as `\u00xx` but `\n`, `\r`, `\t`).
 * TUF metadata holds integers only, so a number that is not a safe integer is refused.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError(`canonical JSON holds integers only, not ${value}`);
    return String(value);
  }
  if (typeof value === 'string') return goString(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, each]) => each !== undefined);
    entries.sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    return `{${entries.map(([key, each]) => `${goString(key)}:${canonicalJson(each)}`).join(',')}}`;
  }
  throw new TypeError(`canonical JSON cannot hold a ${typeof value}`);
}

const shortEscapes: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

function goString(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: exactly the characters Go escapes
  const escaped = text.replace(/["\\\u0000-\u001f<>&\u2028\u2029]/g, (char) => {
    return shortEscapes[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
  return `"${escaped}"`;
}
