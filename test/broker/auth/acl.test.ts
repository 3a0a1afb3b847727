import { describe, expect, it } from 'vitest';
import type { AclClient } from '../../../src/broker/auth/acl.js';
import { AclEvaluator } from '../../../src/broker/auth/acl.js';
import { AclFile } from '../../../src/broker/auth/acl-file.js';

function evaluator(...lines: string[]): AclEvaluator {
  return new AclEvaluator(AclFile.parse(lines.join('\n'), 'test.acl'));
}

const anon = (clientId = 'anon-1'): AclClient => ({ clientId });
const user = (username: string, clientId = `${username}-1`): AclClient => ({ username, clientId });

describe('AclEvaluator: the sensor / dashboard case', () => {
  const acl = evaluator(
    'user sensor',
    'topic write home/sensors/#',
    'user dashboard',
    'topic read home/#',
    'topic deny home/secret/#',
  );
  const sensor = user('sensor');
  const dashboard = user('dashboard');

  it('sensor may publish under home/sensors only', () => {
    expect(acl.canPublish(sensor, 'home/sensors/x')).toBe(true);
    expect(acl.canPublish(sensor, 'home/sensors')).toBe(true);
    expect(acl.canPublish(sensor, 'home/other')).toBe(false);
    expect(acl.canPublish(sensor, 'home/sensorsx')).toBe(false);
  });

  it('sensor cannot subscribe to anything, nor read', () => {
    for (const f of ['home/sensors/#', 'home/sensors/x', '#', 'home/#']) {
      expect(acl.canSubscribe(sensor, f)).toBe(false);
    }
    expect(acl.canRead(sensor, 'home/sensors/x')).toBe(false);
  });

  it('dashboard subscribes within home/# only and cannot publish', () => {
    expect(acl.canSubscribe(dashboard, 'home/#')).toBe(true);
    expect(acl.canSubscribe(dashboard, 'home/+/temp')).toBe(true);
    expect(acl.canSubscribe(dashboard, 'home/kitchen/temp')).toBe(true);
    expect(acl.canSubscribe(dashboard, '#')).toBe(false);
    expect(acl.canSubscribe(dashboard, 'other/#')).toBe(false);
    expect(acl.canSubscribe(dashboard, '+/temp')).toBe(false);
    for (const t of ['home/x', 'home/sensors/x', 'other']) expect(acl.canPublish(dashboard, t)).toBe(false);
  });

  it('a partial deny does not block the subscription, but blocks delivery', () => {
    expect(acl.canSubscribe(dashboard, 'home/#')).toBe(true);
    expect(acl.canRead(dashboard, 'home/kitchen/temp')).toBe(true);
    expect(acl.canRead(dashboard, 'home/secret/x')).toBe(false);
    expect(acl.canRead(dashboard, 'home/secret')).toBe(false);
  });

  it('a deny covering the whole subscription refuses it', () => {
    expect(acl.canSubscribe(dashboard, 'home/secret/#')).toBe(false);
    expect(acl.canSubscribe(dashboard, 'home/secret/+')).toBe(false);
    expect(acl.canSubscribe(dashboard, 'home/+/x')).toBe(true); // overlaps home/secret/x only partly
  });

  it('rejects invalid topics and filters', () => {
    expect(acl.canPublish(sensor, 'home/sensors/+')).toBe(false);
    expect(acl.canRead(dashboard, 'home/#')).toBe(false);
    expect(acl.canSubscribe(dashboard, 'home/#/x')).toBe(false);
    expect(acl.canSubscribe(dashboard, '')).toBe(false);
  });
});

describe('AclEvaluator: anonymous vs named users', () => {
  const acl = evaluator('topic read public/#', 'user alice', 'topic readwrite alice/#');

  it('the section before the first user line applies only to anonymous clients', () => {
    expect(acl.canRead(anon(), 'public/news')).toBe(true);
    expect(acl.canRead(user('alice'), 'public/news')).toBe(false);
    expect(acl.canRead(user('bob'), 'public/news')).toBe(false);
    expect(acl.canPublish(anon(), 'public/news')).toBe(false);
  });

  it('user rules apply by username, never by client id', () => {
    expect(acl.canPublish(user('alice', 'whatever'), 'alice/x')).toBe(true);
    expect(acl.canPublish({ clientId: 'alice' }, 'alice/x')).toBe(false);
    expect(acl.canPublish(user('bob'), 'alice/x')).toBe(false);
  });

  it('null username is anonymous; empty string is a (different) user', () => {
    expect(acl.canRead({ clientId: 'c', username: null }, 'public/a')).toBe(true);
    expect(acl.canRead({ clientId: 'c', username: '' }, 'public/a')).toBe(false);
  });

  it('everything is denied for an empty ACL file', () => {
    const empty = evaluator('');
    expect(empty.canRead(anon(), 'a')).toBe(false);
    expect(empty.canPublish(user('x'), 'a')).toBe(false);
    expect(empty.canSubscribe(user('x'), 'a')).toBe(false);
  });
});

describe('AclEvaluator: deny', () => {
  it('deny wins over a grant in the same block regardless of line order', () => {
    const acl = evaluator('user u', 'topic readwrite a/#', 'topic deny a/b/#', 'user v', 'topic deny a/b/#', 'topic a/#');
    for (const name of ['u', 'v']) {
      expect(acl.canPublish(user(name), 'a/b/c')).toBe(false);
      expect(acl.canRead(user(name), 'a/b')).toBe(false);
      expect(acl.canPublish(user(name), 'a/c')).toBe(true);
    }
  });

  it('a user deny also overrides a pattern grant', () => {
    const acl = evaluator('pattern readwrite dev/%u/#', 'user u', 'topic deny dev/u/locked');
    expect(acl.canPublish(user('u'), 'dev/u/open')).toBe(true);
    expect(acl.canPublish(user('u'), 'dev/u/locked')).toBe(false);
  });

  it('a pattern deny does not override a user topic grant (mosquitto checks user rules first)', () => {
    const acl = evaluator('pattern deny private/%u', 'user u', 'topic readwrite private/#');
    expect(acl.canPublish(user('u'), 'private/u')).toBe(true);
    // ...but it does override a pattern grant
    const acl2 = evaluator('pattern readwrite private/#', 'pattern deny private/%u');
    expect(acl2.canPublish(user('u'), 'private/u')).toBe(false);
    expect(acl2.canPublish(user('u'), 'private/other')).toBe(true);
  });

  it('a deny without any grant is just a denial', () => {
    const acl = evaluator('user u', 'topic deny #');
    expect(acl.canRead(user('u'), 'x')).toBe(false);
    expect(acl.canSubscribe(user('u'), '#')).toBe(false);
  });
});

describe('AclEvaluator: $ topics', () => {
  const acl = evaluator(
    'user all',
    'topic readwrite #',
    'user sys',
    'topic read $SYS/#',
    'topic readwrite $SYS/broker/connection/+/state',
    'topic readwrite $SYS/other',
    'topic readwrite $app/#',
  );

  it('# does not grant $SYS or other $ topics', () => {
    expect(acl.canRead(user('all'), '$SYS/broker/uptime')).toBe(false);
    expect(acl.canRead(user('all'), '$app/x')).toBe(false);
    expect(acl.canSubscribe(user('all'), '$SYS/#')).toBe(false);
    expect(acl.canSubscribe(user('all'), '#')).toBe(true);
    expect(acl.canRead(user('all'), 'a/$SYS')).toBe(true);
  });

  it('rules starting with $ grant $ topics', () => {
    expect(acl.canRead(user('sys'), '$SYS/broker/uptime')).toBe(true);
    expect(acl.canSubscribe(user('sys'), '$SYS/#')).toBe(true);
    expect(acl.canSubscribe(user('sys'), '$SYS/broker/+')).toBe(true);
    expect(acl.canRead(user('sys'), 'broker/uptime')).toBe(false);
    expect(acl.canPublish(user('sys'), '$app/x')).toBe(true);
  });

  it('publishing to $SYS is refused except the bridge connection state topic', () => {
    expect(acl.canPublish(user('sys'), '$SYS/other')).toBe(false);
    expect(acl.canPublish(user('sys'), '$SYS/broker/connection/br1/state')).toBe(true);
  });

  it('$share: never a publish/read topic; subscriptions are checked on the inner filter', () => {
    const shared = evaluator('user u', 'topic readwrite jobs/#', 'topic readwrite $share/#');
    expect(shared.canPublish(user('u'), '$share/g/jobs/x')).toBe(false);
    expect(shared.canRead(user('u'), '$share/g/jobs/x')).toBe(false);
    expect(shared.canSubscribe(user('u'), '$share/g/jobs/#')).toBe(true);
    expect(shared.canSubscribe(user('u'), '$share/g/other/#')).toBe(false);
    expect(shared.canSubscribe(user('u'), '$share/g')).toBe(false);
    expect(shared.canSubscribe(user('u'), '$share/+/jobs/#')).toBe(false);
  });
});

describe('AclEvaluator: patterns', () => {
  const acl = evaluator(
    'pattern write devices/%c/state',
    'pattern read users/%u/#',
    'pattern readwrite both/%u/%c',
    'pattern read tag-%c/x',
  );

  it('substitutes %c and %u', () => {
    const c = user('ann', 'dev42');
    expect(acl.canPublish(c, 'devices/dev42/state')).toBe(true);
    expect(acl.canPublish(c, 'devices/other/state')).toBe(false);
    expect(acl.canRead(c, 'users/ann/inbox')).toBe(true);
    expect(acl.canRead(c, 'users/bob/inbox')).toBe(false);
    expect(acl.canPublish(c, 'both/ann/dev42')).toBe(true);
    expect(acl.canPublish(c, 'both/dev42/ann')).toBe(false);
    expect(acl.canSubscribe(c, 'users/ann/#')).toBe(true);
    expect(acl.canSubscribe(c, 'users/+/#')).toBe(false);
    expect(acl.canRead(c, 'tag-dev42/x')).toBe(true); // mosquitto substitutes inside a level too
  });

  it('applies to anonymous clients too, except patterns using %u', () => {
    expect(acl.canPublish(anon('dev7'), 'devices/dev7/state')).toBe(true);
    expect(acl.canRead(anon('dev7'), 'users//x')).toBe(false);
    expect(acl.canPublish(anon('dev7'), 'both//dev7')).toBe(false);
  });

  it('applies to users with and without their own block', () => {
    const mixed = evaluator('user ann', 'topic read news/#', 'pattern write out/%u');
    expect(mixed.canPublish(user('ann'), 'out/ann')).toBe(true);
    expect(mixed.canPublish(user('zed'), 'out/zed')).toBe(true);
    expect(mixed.canRead(user('ann'), 'news/a')).toBe(true);
  });

  it.each([
    ['username with +', user('a+b', 'ok')],
    ['username with #', user('#', 'ok')],
    ['client id with +', user('ann', '+')],
    ['client id with #', { clientId: 'x/#' }],
  ])('refuses %s once patterns are reached', (_label, client) => {
    expect(acl.canPublish(client, `devices/${client.clientId}/state`)).toBe(false);
    expect(acl.canRead(client, 'devices/x/state')).toBe(false);
    expect(acl.canRead(client, 'users/anything')).toBe(false);
    expect(acl.canSubscribe(client, 'users/a/#')).toBe(false);
  });

  it('own topic rules still apply to such clients (they are checked before patterns)', () => {
    const mixed = evaluator('user a+b', 'topic read news/#', 'pattern read users/%u/#');
    expect(mixed.canRead(user('a+b'), 'news/x')).toBe(true);
    expect(mixed.canRead(user('a+b'), 'users/a+b/x')).toBe(false);
    // without patterns in the file there is nothing to protect
    const noPatterns = evaluator('user a+b', 'topic read news/#');
    expect(noPatterns.canRead(user('a+b'), 'news/x')).toBe(true);
  });

  it('a / in the username adds levels (substitution is textual, as in mosquitto)', () => {
    expect(acl.canRead(user('a/b', 'c'), 'users/a/b/x')).toBe(true);
  });
});

describe('AclEvaluator: per-client cache', () => {
  it('keys on username and client id, so clients never see each other’s substitutions', () => {
    const acl = new AclEvaluator(AclFile.parse('pattern readwrite c/%c\npattern readwrite u/%u'), { cacheSize: 2 });
    for (let i = 0; i < 10; i++) {
      const c = user(`u${i}`, `c${i}`);
      expect(acl.canPublish(c, `c/c${i}`)).toBe(true);
      expect(acl.canPublish(c, `u/u${i}`)).toBe(true);
      expect(acl.canPublish(c, `c/c${i + 1}`)).toBe(false);
    }
    // same client id, anonymous vs named
    expect(acl.canPublish({ clientId: 'c1' }, 'u/u1')).toBe(false);
    expect(acl.canPublish({ clientId: 'c1', username: 'u1' }, 'u/u1')).toBe(true);
    expect(acl.canPublish({ clientId: 'c1' }, 'c/c1')).toBe(true);
  });

  it('works with the cache disabled', () => {
    const acl = new AclEvaluator(AclFile.parse('pattern read c/%c'), { cacheSize: 0 });
    expect(acl.canRead({ clientId: 'x' }, 'c/x')).toBe(true);
    expect(acl.canRead({ clientId: 'y' }, 'c/x')).toBe(false);
  });
});
