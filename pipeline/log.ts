/**
 * Logging to stderr: human lines by default, one JSON object per event with
 * --log-format json (for schedulers). Messages never carry secrets: callers pass
 * redacted URLs and server messages only, and `redactSecrets` strips any value of
 * an environment variable that holds a credential.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(event: string, msg: string, data?: Record<string, unknown>): void;
  info(event: string, msg: string, data?: Record<string, unknown>): void;
  warn(event: string, msg: string, data?: Record<string, unknown>): void;
  error(event: string, msg: string, data?: Record<string, unknown>): void;
}

export const SECRET_ENV_VARS = [
  'SPOKE_CLIENT_SECRET', 'SPOKE_CLIENT_ID', 'SAMESPACE_API_KEY', 'GENESYS_PASSWORD',
  'TALKDESK_BRIDGE_PASSWORD',
] as const;

/** Replaces any secret value from the environment that appears in `text`. */
export function redactSecrets(text: string, env: NodeJS.ProcessEnv = process.env): string {
  let out = text;
  for (const name of SECRET_ENV_VARS) {
    const v = env[name];
    if (v && v.length >= 4) out = out.split(v).join(`[${name}]`);
  }
  return out;
}

export interface LoggerOptions {
  format: 'text' | 'json';
  level: LogLevel;
  write?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export function createLogger(o: LoggerOptions): Logger {
  const write = o.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const env = o.env ?? process.env;
  const emit = (level: LogLevel, event: string, msg: string, data?: Record<string, unknown>) => {
    if (ORDER[level] < ORDER[o.level]) return;
    if (o.format === 'json') {
      write(redactSecrets(JSON.stringify({ time: new Date().toISOString(), level, event, msg, ...data }), env));
    } else {
      const prefix = level === 'info' ? '' : `${level}: `;
      write(redactSecrets(prefix + msg, env));
    }
  };
  return {
    debug: (e, m, d) => emit('debug', e, m, d),
    info: (e, m, d) => emit('info', e, m, d),
    warn: (e, m, d) => emit('warn', e, m, d),
    error: (e, m, d) => emit('error', e, m, d),
  };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
