import * as v from 'valibot';

/**
 * The building blocks of our schemas for untrusted JSON, shared by the packages above. valibot's
 * object and record schemas take any non-null object, arrays included; a JSON object never is
 * one, so these refuse arrays first. Each is built once, at load.
 */
const isJsonObject = (value: unknown) => typeof value === 'object' && value !== null && !Array.isArray(value);
const notAnObject = (issue: v.BaseIssue<unknown>) =>
  `Invalid type: Expected Object but received ${issue.received}`;
const objectType = v.custom<Record<string, unknown>>(isJsonObject, notAnObject);
/** The object schemas' message, for a field they require that is absent (objectType caught the rest). */
const missing = () => 'required, but missing';

/** A JSON object with these fields; unknown fields are allowed (the specs require it) and kept. */
export function jsonLooseObject<const E extends v.ObjectEntries>(entries: E) {
  return v.pipe(objectType, v.looseObject(entries, missing));
}

/** A JSON object with these fields; unknown fields are dropped (records this program writes). */
export function jsonObject<const E extends v.ObjectEntries>(entries: E) {
  return v.pipe(objectType, v.object(entries, missing));
}

/**
 * A JSON object of any keys, each value of one schema (a copy: valibot's record drops the keys
 * `__proto__`, `constructor` and `prototype`; where those are plausible, use the maps below).
 */
export function jsonRecord<const S extends v.GenericSchema>(value: S) {
  return v.pipe(objectType, v.record(v.string(), value));
}

/**
 * A JSON object of any values (`ExposedPorts`, `Volumes`): the object itself, every key kept as
 * the document wrote it.
 */
export const jsonMap = objectType;

/** A JSON object of string values (annotations, labels): the object itself, every key kept. */
export const jsonStringMap = v.pipe(
  v.custom<Record<string, string>>(isJsonObject, notAnObject),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    for (const [key, value] of Object.entries(dataset.value)) {
      if (typeof value === 'string') continue;
      const path: [v.ObjectPathItem] = [
        { type: 'object', origin: 'value', input: dataset.value, key, value },
      ];
      addIssue({ label: 'type', expected: 'string', input: value, path });
    }
  }),
);

/** A JSON number: `1e999` parses as Infinity, which is none. */
export const jsonNumber = v.pipe(
  v.number(),
  v.finite((issue) => `Invalid number: Expected a finite number but received ${issue.received}`),
);

/** An integer that a double holds exactly. */
export const jsonInteger = v.pipe(
  v.number(),
  v.safeInteger((issue) => `Invalid type: Expected an integer but received ${issue.received}`),
);

/** A count or a size: an integer, 0 or more. */
export const jsonCount = v.pipe(jsonInteger, v.minValue(0));

/** A string of at least one character. */
export const nonEmptyString = v.pipe(v.string(), v.minLength(1));
