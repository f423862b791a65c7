/** `contact-import bridge`: serve the store's contacts to Talkdesk's contact sync until SIGTERM / Ctrl-C. */
import type { Argv } from 'yargs';
import { ImportError } from '../errors.js';
import { createLogger } from '../log.js';
import { DEFAULT_STATE_PATH, resolveStatePath } from '../state/store.js';
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, fillCommand, startBridge } from '../bridge/server.js';
import { EPILOGUE, type Io } from './common.js';

interface BridgeArgs {
  port: number;
  host: string;
  path: string;
  'page-size': number;
  state?: string;
  'max-body-kb': number;
  'log-format': 'text' | 'json';
  verbose: boolean;
}

export function bridgeCommand(io: Io, done: (code: number) => void) {
  return {
    command: 'bridge',
    describe: 'Serve the contacts loaded with --target talkdesk to Talkdesk\'s contact synchronization',
    builder: (y: Argv) => y
      .epilogue(EPILOGUE)
      .option('port', { alias: 'p', type: 'number', default: 8080, describe: 'TCP port (0: any free port)' })
      .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to listen on; put a TLS reverse proxy in front for Talkdesk' })
      .option('path', { type: 'string', default: '/', describe: 'the path Talkdesk POSTs to (the integration\'s endpoint URL)' })
      .option('page-size', { type: 'number', default: DEFAULT_PAGE_SIZE, describe: `contacts per response (1..${MAX_PAGE_SIZE})` })
      .option('state', { type: 'string', describe: 'the state store file (default $CONTACT_IMPORT_STATE, else .contact-import/state.db)' })
      .option('max-body-kb', { type: 'number', default: DEFAULT_MAX_BODY_BYTES / 1024, describe: 'larger request bodies are refused with 400' })
      .option('log-format', { choices: ['text', 'json'] as const, default: 'text' as const, describe: 'json: one JSON object per event on stderr' })
      .option('verbose', { type: 'boolean', default: false, describe: 'log every request (method, path, status, contacts; never credentials)' })
      .example('TALKDESK_BRIDGE_USERNAME=… TALKDESK_BRIDGE_PASSWORD=… $0 bridge --port 8080 --path /contacts-sync', 'answer Talkdesk on http://127.0.0.1:8080/contacts-sync'),
    handler: async (a: BridgeArgs) => {
      const username = io.env.TALKDESK_BRIDGE_USERNAME;
      const password = io.env.TALKDESK_BRIDGE_PASSWORD;
      for (const [name, v] of [['TALKDESK_BRIDGE_USERNAME', username], ['TALKDESK_BRIDGE_PASSWORD', password]] as const) {
        if (!v) throw new ImportError('CONFIG_MISSING', `${name} is not set: the bridge checks Talkdesk's credentials against it`);
      }
      if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65535) throw new ImportError('USAGE', `--port must be 0..65535, got ${a.port}`);
      if (!Number.isInteger(a['page-size']) || a['page-size'] < 1 || a['page-size'] > MAX_PAGE_SIZE) {
        throw new ImportError('USAGE', `--page-size must be a whole number 1..${MAX_PAGE_SIZE}, got ${a['page-size']}`);
      }
      if (!a.path.startsWith('/')) throw new ImportError('USAGE', `--path must start with "/", got "${a.path}"`);
      if (!(a['max-body-kb'] > 0)) throw new ImportError('USAGE', `--max-body-kb must be positive, got ${a['max-body-kb']}`);

      const log = createLogger({ format: a['log-format'], level: a.verbose ? 'debug' : 'info', write: io.err, env: io.env });
      const statePath = resolveStatePath(a.state, io.env);
      let bridge;
      try {
        bridge = await startBridge({
          statePath, stateFrom: stateOrigin(a.state, io.env), username: username!, password: password!, host: a.host, port: a.port, path: a.path,
          pageSize: a['page-size'], maxBodyBytes: Math.round(a['max-body-kb'] * 1024), log,
        });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE') throw new ImportError('USAGE', `port ${a.port} on ${a.host} is already in use; choose another with --port`);
        if (code === 'EADDRNOTAVAIL' || code === 'EACCES') throw new ImportError('USAGE', `cannot listen on ${a.host}:${a.port} (${code}); check --host and --port`);
        throw e;
      }
      if (bridge.contacts === 0) {
        // Served as it is (an import may fill it while the bridge runs), but a sync now delivers nothing.
        log.warn('bridge.empty', `the state store ${statePath} holds no Talkdesk contacts: the bridge serves zero contacts until \`${fillCommand(statePath)}\` fills it`,
          { state: statePath });
      }
      // One line, through the logger like every other info message (stderr; a JSON event with --log-format json).
      log.info('bridge.listening', `bridge listening on ${bridge.url} (state ${statePath}: ${bridge.contacts.toLocaleString('en-US')} contact${bridge.contacts === 1 ? '' : 's'}, ${a['page-size']} per page)`,
        { url: bridge.url, state: statePath, contacts: bridge.contacts });
      await new Promise<void>((resolve) => {
        if (!io.signal || io.signal.aborted) { if (io.signal) resolve(); return; }
        io.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      await bridge.close();
      log.info('bridge.stopped', 'bridge stopped');
      done(0);
    },
  };
}

/** How the store path was chosen, for the message that names it. */
function stateOrigin(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  if (flag) return 'from --state';
  if (env.CONTACT_IMPORT_STATE) return 'from CONTACT_IMPORT_STATE, as no --state was given';
  return `the default ${DEFAULT_STATE_PATH} in the working folder, as neither --state nor CONTACT_IMPORT_STATE was given`;
}
