import type { Logger } from '../util/logger.js';
import { AclEvaluator } from './auth/acl.js';
import { AclFile } from './auth/acl-file.js';
import { PasswordFile } from './auth/password-file.js';
import { EmbeddedBroker } from './broker.js';
import type { BrokerOptions } from './options.js';

/** The broker with the mosquitto-format password and ACL files. */
export function createBroker(options: BrokerOptions, logger: Logger): EmbeddedBroker {
  return new EmbeddedBroker(options, {
    logger,
    loadPasswords: (file) => PasswordFile.load(file),
    loadAcl: async (file) => new AclEvaluator(await AclFile.load(file)),
  });
}
