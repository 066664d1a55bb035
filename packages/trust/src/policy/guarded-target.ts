import type { ReadOnlyTarget } from '@concil/oci-spec';
import type { TrustPolicy } from './trust-policy.js';

/**
 * A registry source that resolves only what the policy trusts: `resolve` verifies the manifest it
 * returns (and a Notary policy resolves a tag by its trusted digest), so a copy that starts from it
 * refuses an untrusted image before it reads or writes anything else. It has no
 * `fetchReference`, which would fetch a manifest by tag past `resolve`: readers resolve, then
 * fetch. Everything else is the target's own (a Proxy, so `instanceof` and cross-repository
 * mounts still see the registry).
 */
export function guardTarget<T extends ReadOnlyTarget>(target: T, policy: TrustPolicy): T {
  const resolve = (reference?: string) => policy.resolveTrusted(target, reference);
  return new Proxy(target, {
    get(object, property) {
      if (property === 'resolve') return resolve;
      if (property === 'fetchReference') return undefined;
      const value = Reflect.get(object, property, object);
      return typeof value === 'function' ? value.bind(object) : value;
    },
  });
}
