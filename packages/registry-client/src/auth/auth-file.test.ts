import { describe, expect, it } from 'vitest';
import { credentialsFromAuths } from './auth-file.js';

const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('credentialsFromAuths', () => {
  it("reads the Python concil's base64 string and docker's objects alike", () => {
    const auths = {
      'string.example': b64('py-user:py:pass'),
      'auth.example': { auth: b64('docker-user:pw') },
      'plain.example': { username: 'plain', password: 'text' },
      'token.example': { auth: '', identitytoken: 'refresh-me' },
    };
    expect(credentialsFromAuths(auths, { registry: 'string.example' })).toEqual({
      username: 'py-user',
      password: 'py:pass',
    });
    expect(credentialsFromAuths(auths, { registry: 'auth.example' })).toEqual({
      username: 'docker-user',
      password: 'pw',
    });
    expect(credentialsFromAuths(auths, { registry: 'plain.example' })).toEqual({
      username: 'plain',
      password: 'text',
    });
    expect(credentialsFromAuths(auths, { registry: 'token.example' })).toEqual({
      identityToken: 'refresh-me',
    });
  });

  it('gives nothing for an empty string, a value of another shape or base64 without a colon', () => {
    const auths = { 'a.example': '', 'b.example': 42, 'c.example': b64('no-colon'), 'd.example': null };
    for (const registry of ['a.example', 'b.example', 'c.example', 'd.example', 'e.example']) {
      expect(credentialsFromAuths(auths, { registry })).toBeUndefined();
    }
  });

  it('takes host, host:port, repository prefixes and URLs as keys; the longest prefix wins', () => {
    const auths = {
      'https://r.example': b64('url-host:1'),
      'r.example/team': b64('team:2'),
      'docker://r.example/team/app': b64('app:3'),
      'http://r.example:5000/v2/': b64('port:4'),
      'r.example:5000/team': { auth: b64('port-team:5') },
    };
    const user = (registry: string, repository: string) =>
      credentialsFromAuths(auths, { registry, repository })?.username;
    expect(user('r.example', 'other/app')).toBe('url-host');
    expect(user('r.example', 'team/x')).toBe('team');
    expect(user('r.example', 'team/app')).toBe('app');
    expect(user('r.example', 'team/app/sub')).toBe('app');
    // prefixes end on path boundaries
    expect(user('r.example', 'teamx/app')).toBe('url-host');
    expect(user('r.example', 'team/apps')).toBe('team');
    expect(user('r.example:5000', 'any')).toBe('port');
    expect(user('r.example:5000', 'team/app')).toBe('port-team');
    expect(user('r.example:6000', 'team/app')).toBeUndefined();
  });

  it("reads the Python concil's wildcards: `host/team/*` by path, `host/te*` by text", () => {
    const auths = { 'r.example/team/*': b64('team:1'), 'r.example/pro*': b64('pro:2') };
    const user = (repository: string) =>
      credentialsFromAuths(auths, { registry: 'r.example', repository })?.username;
    expect(user('team/app')).toBe('team');
    expect(user('teamx/app')).toBeUndefined();
    expect(user('project/app')).toBe('pro');
    expect(user('pro')).toBe('pro');
  });

  it('with anyPort, a key without port covers every port, after the keys that name it', () => {
    const auths = { 'r.example': b64('any:1'), 'r.example:5000/team': b64('exact:2') };
    const user = (registry: string, repository: string, anyPort: boolean) =>
      credentialsFromAuths(auths, { registry, repository }, { anyPort })?.username;
    expect(user('r.example:5000', 'app', true)).toBe('any');
    expect(user('r.example:5000', 'team/app', true)).toBe('exact');
    expect(user('r.example:5000', 'app', false)).toBeUndefined();
    expect(user('r.example', 'team/app', true)).toBe('any');
  });
});
