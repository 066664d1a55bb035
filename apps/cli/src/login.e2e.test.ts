import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFixtureLayout, pushFixture, startRegistry, type TestRegistry } from '@concil/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { oneLine } from './test/one-line.js';
import { runCli } from './test/run-cli.js';

const USER = 'tester';
const PASSWORD = 'pass:with-colon';
const WRONG = 'hunter2-wrong';
let basic: TestRegistry;
let token: TestRegistry;
let work: string;
let home: string;
let env: Record<string, string>;
let config: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-e2e-login-'));
  const users = { [USER]: PASSWORD };
  [basic, token] = await Promise.all([
    startRegistry({ auth: 'basic', users }),
    startRegistry({ auth: 'token', users }),
  ]);
  const layout = await buildFixtureLayout(join(work, 'layout'));
  await pushFixture(layout.dir, `${basic.host}/app:1`, { format: 'oci', credentials: `${USER}:${PASSWORD}` });
});

afterAll(async () => {
  await Promise.all([basic?.stop(), token?.stop()]);
  await rm(work, { recursive: true, force: true });
});

beforeEach(async () => {
  home = await mkdtemp(join(work, 'home-'));
  config = join(home, 'concil.json');
  env = { HOME: home, CONCIL_CONFIG: config, DOCKER_CONFIG: join(home, 'docker') };
});

const auth = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString('base64');

describe('concil login and logout', () => {
  it("checks the password, stores it in concil's config beside the other keys, and logout removes it", async () => {
    const others = { cache_dir: join(home, 'cache'), auths: { 'other.example': { auth: auth('x', 'y') } } };
    await writeFile(config, JSON.stringify(others));
    const login = await runCli(['login', '-u', USER, '--password-stdin', basic.host], env, {
      input: `${PASSWORD}\n`,
    });
    expect(login.stderr).toBe('');
    expect(login.stdout).toBe(
      `logged in to ${basic.host} as ${USER}; stored under "${basic.host}" in ${config}\n`,
    );
    expect(JSON.parse(await readFile(config, 'utf8'))).toEqual({
      ...others,
      auths: { ...others.auths, [basic.host]: { auth: auth(USER, PASSWORD) } },
    });
    expect((await stat(config)).mode & 0o777).toBe(0o600);

    // What login stored is what every command uses.
    const tags = await runCli(['tags', `docker://${basic.host}/app`], env);
    expect(tags.stdout).toBe('1\n');

    const logout = await runCli(['logout', '--json', basic.host], env);
    expect(JSON.parse(logout.stdout)).toEqual({
      registry: basic.host,
      removed: [basic.host],
      configPath: config,
    });
    expect(JSON.parse(await readFile(config, 'utf8'))).toEqual(others);
    const again = await runCli(['logout', basic.host], env);
    expect(again.stdout).toBe(`no credentials for ${basic.host} in ${config}\n`);
    const refused = await runCli(['tags', `docker://${basic.host}/app`], env);
    expect(refused.code).toBe(1);
    expect(oneLine(refused.stderr)).toMatch(/requires authentication/);
  });

  for (const kind of ['basic', 'token'] as const) {
    it(`refuses a wrong password in one line and writes nothing (${kind})`, async () => {
      const host = (kind === 'basic' ? basic : token).host;
      const result = await runCli(['login', '-u', USER, '-p', WRONG, host], env);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(oneLine(result.stderr)).toBe(
        `concil: ${host} refused the password of ${USER} (UNAUTHORIZED); nothing was stored`,
      );
      expect(result.stderr).not.toContain(WRONG);
      await expect(stat(config)).rejects.toMatchObject({ code: 'ENOENT' });

      const existing = '{"auths": {}, "cache_timeout": 5}';
      await writeFile(config, existing);
      expect(
        (await runCli(['login', '-u', USER, '--password-stdin', host], env, { input: WRONG })).code,
      ).toBe(1);
      expect(await readFile(config, 'utf8')).toBe(existing);
    });
  }

  it('logs in to a registry with a token service, and says so as JSON', async () => {
    const result = await runCli(['login', '--json', '-u', USER, '-p', PASSWORD, token.host], env);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({
      registry: token.host,
      username: USER,
      key: token.host,
      configPath: config,
      authenticated: true,
    });
    expect(result.stdout).not.toContain(PASSWORD);
    expect(JSON.parse(await readFile(config, 'utf8')).auths[token.host]).toEqual({
      auth: auth(USER, PASSWORD),
    });
  });

  it("writes docker's config with --docker-config, and leaves concil's alone", async () => {
    const login = await runCli(
      ['login', '--docker-config', '-u', USER, '--password-stdin', `https://${basic.host}/`],
      env,
      { input: PASSWORD },
    );
    expect(login.code).toBe(0);
    const dockerConfig = join(home, 'docker', 'config.json');
    expect(JSON.parse(await readFile(dockerConfig, 'utf8'))).toEqual({
      auths: { [basic.host]: { auth: auth(USER, PASSWORD) } },
    });
    await expect(stat(config)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await runCli(['tags', `docker://${basic.host}/app`], env)).stdout).toBe('1\n');
    const logout = await runCli(['logout', '--docker-config', basic.host], env);
    expect(logout.stdout).toBe(`removed the credentials for ${basic.host} from ${dockerConfig}\n`);
    expect(JSON.parse(await readFile(dockerConfig, 'utf8'))).toEqual({ auths: {} });
  });

  it('asks for the password on standard input, not a terminal, in one line', async () => {
    const noPassword = await runCli(['login', '-u', USER, basic.host], env);
    expect(noPassword.code).toBe(1);
    expect(oneLine(noPassword.stderr)).toBe(
      `concil: concil login: no password for ${basic.host}: give -u USER and the password with --password-stdin [USAGE]`,
    );
    const noUser = await runCli(['login', '--password-stdin', basic.host], env, { input: PASSWORD });
    expect(oneLine(noUser.stderr)).toMatch(/--password-stdin needs the user name too: add -u USER \[USAGE\]/);
    await expect(stat(config)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
