import { checkBrokerFiles } from '../../broker/check-files.js';
import { toBrokerOptions } from '../../broker/config.js';
import { ConfigError, type ConfigProblem } from './errors.js';
import { formatKeyPath, type LoadedConfig } from './load.js';

/**
 * The files a valid config names (TLS certificates and keys, the password file, the ACL file), loaded as the broker
 * loads them: every problem at once, each at the key that names the file, as a ConfigError. `check` runs it so that
 * a config it calls valid is one the broker starts with.
 */
export async function checkReferencedFiles(loaded: LoadedConfig): Promise<void> {
  const { config, baseDir } = loaded;
  const options = toBrokerOptions(config.broker, { id: config.gateway.id, stateDir: config.gateway.state_dir, baseDir, version: '' });
  const problems: ConfigProblem[] = (await checkBrokerFiles(options)).map((problem) => {
    const keyPath = ['broker', ...problem.key];
    return { key: formatKeyPath(keyPath), ...loaded.locate?.(keyPath), message: problem.message };
  });
  if (problems.length > 0) throw new ConfigError(loaded.file, problems);
}
