// The parts of undici the client uses; loaded on the first request (see undici.ts).
export { EnvHttpProxyAgent, request } from 'undici';
