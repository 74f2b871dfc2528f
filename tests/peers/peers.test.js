// Proves the PBX config with third-party peers: JsSIP and SIP.js register
// over ws/wss, call each other, get BLF (dialog-info), PIDF presence and MWI
// NOTIFYs. Run: node --test tests/peers/   (see tests/pbx/README.md)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startPbx,
  jssipUA,
  jssipCall,
  jssipSubscribe,
  nextIncoming,
  answerOptions,
  once,
  until,
  sipjsUA,
  sipjsSessionState,
  sipjsPublish,
  sipjsSubscribe,
  pidf,
  SIP,
  JsSIP,
} from './index.js';

let pbx;

before(async () => {
  pbx = await startPbx();
});

after(async () => {
  await pbx?.stop();
});

/** Stops a peer when the test ends; a peer that hangs on the way out is left. */
function cleanup(t, stop) {
  t.after(() =>
    Promise.race([Promise.resolve().then(stop), new Promise((r) => setTimeout(r, 2000).unref())]).catch(() => {}),
  );
}

async function jssip(t, user, opts = {}) {
  const ua = await jssipUA({ wsUrl: pbx.ws_url, user, ...opts });
  cleanup(t, () => ua.stop());
  return ua;
}

async function sipjs(t, user, opts = {}) {
  const peer = await sipjsUA({ wsUrl: pbx.ws_url, user, ...opts });
  cleanup(t, () => peer.ua.stop());
  return peer;
}

test('the PBX answered quickly and serves ws and wss', () => {
  assert.match(pbx.ws_url, /^ws:\/\/127\.0\.0\.1:\d+$/);
  assert.match(pbx.wss_url, /^wss:\/\/127\.0\.0\.1:\d+$/);
  assert.ok(pbx.ready_ms < 5000, `ready in ${pbx.ready_ms} ms`);
});

test('JsSIP registers over ws; the location table shows a ws contact', async (t) => {
  await jssip(t, '1001');
  const contacts = await pbx.contacts('1001');
  assert.equal(contacts.length, 1);
  assert.match(contacts[0], /transport=ws/);
  assert.equal(await pbx.registerCount('1001'), 2, 'one challenged and one authorised REGISTER');
});

test('JsSIP registers over wss with the self-signed certificate', async (t) => {
  const ua = await jssipUA({ wsUrl: pbx.wss_url, user: '1006' });
  cleanup(t, () => ua.stop());
  assert.match((await pbx.contacts('1006'))[0], /transport=ws/);
});

test('a wrong password fails registration and is not retried by JsSIP', async (t) => {
  const since = Date.now() / 1000;
  await assert.rejects(jssipUA({ wsUrl: pbx.ws_url, user: '1007', password: 'nope' }), /registration failed/);
  assert.deepEqual(await pbx.contacts('1007'), []);
  assert.ok((await pbx.registerCount('1007', since)) <= 2);
});

test('JsSIP calls JsSIP; the callee BLF watcher sees early, confirmed, terminated', async (t) => {
  const caller = await jssip(t, '1002');
  const callee = await jssip(t, '1003');
  const watcher = await jssip(t, '1004');

  const blf = jssipSubscribe(watcher, '1003', 'dialog', 'application/dialog-info+xml');
  const idle = await blf.next((b) => b.includes('dialog-info'), 5000, 'the initial dialog-info NOTIFY');
  assert.doesNotMatch(idle, /<state>(early|confirmed)<\/state>/);

  const incoming = nextIncoming(callee);
  const call = jssipCall(caller, '1003');
  const session = await incoming;
  assert.equal(session.remote_identity.uri.user, '1002');
  await blf.next((b) => /<state>early<\/state>/.test(b), 5000, 'BLF early');

  session.answer(answerOptions);
  await once(call, 'confirmed');
  await blf.next((b) => /<state>confirmed<\/state>/.test(b), 5000, 'BLF confirmed');

  const ended = once(session, 'ended');
  call.terminate();
  await ended;
  await blf.next(
    (b) => /<state>terminated<\/state>/.test(b) && blf.notifies.indexOf(b) > blf.notifies.findIndex((x) => /confirmed/.test(x)),
    5000,
    'BLF terminated after the call',
  );
  blf.subscriber.terminate();
});

test('peers that use 127.0.0.1 as their domain call and watch each other like pbx.test ones', async (t) => {
  const caller = await jssip(t, '1007', { domain: '127.0.0.1' });
  const callee = await jssip(t, '1008', { domain: '127.0.0.1' });
  const watcher = await jssip(t, '1001', { domain: 'localhost', register: false });
  // BLF subscribed under one host name, call placed under another
  const blf = jssipSubscribe(watcher, 'sip:1008@localhost', 'dialog', 'application/dialog-info+xml');
  await blf.active();
  const incoming = nextIncoming(callee);
  const call = jssipCall(caller, 'sip:1008@127.0.0.1');
  (await incoming).answer(answerOptions);
  await once(call, 'confirmed');
  await blf.next((b) => /<state>confirmed<\/state>/.test(b), 5000, 'BLF confirmed across host names');
  call.terminate();
  blf.subscriber.terminate();
});

test('JsSIP calls a SIP.js user, who answers; BYE from SIP.js ends it', async (t) => {
  const caller = await jssip(t, '1005');
  const callee = await sipjs(t, '1008');
  const incoming = callee.nextInvitation();
  const call = jssipCall(caller, '1008');
  const invitation = await incoming;
  assert.equal(invitation.remoteIdentity.uri.user, '1005');
  await invitation.accept();
  await once(call, 'confirmed');
  await sipjsSessionState(invitation, SIP.SessionState.Established);
  const ended = once(call, 'ended');
  await invitation.bye();
  await ended;
});

test("a SIP.js Publisher's PIDF reaches a SIP.js Subscriber", async (t) => {
  const alice = await sipjs(t, '1001', { register: false });
  const watcherPeer = await sipjs(t, '1004', { register: false });

  const watch = sipjsSubscribe(watcherPeer, '1001', 'presence');
  await watch.active();
  await sipjsPublish(alice, pidf('1001', { open: true, note: 'In a meeting (ringside)' }));
  const body = await watch.next((b) => b.includes('In a meeting (ringside)'), 5000, 'the published PIDF');
  assert.match(body, /<basic>open<\/basic>/);
  await watch.subscriber.unsubscribe();
});

test('injected MWI reaches a message-summary subscriber', async (t) => {
  const ua = await jssip(t, '1002', { register: false });
  const mwi = jssipSubscribe(ua, '1002', 'message-summary', 'application/simple-message-summary');
  await mwi.active();
  await pbx.injectMwi('1002', 2, 1);
  const body = await mwi.next((b) => /Voice-Message:\s*2\/1/.test(b), 5000, 'MWI 2/1');
  assert.match(body, /Messages-Waiting:\s*yes/);
  await pbx.injectMwi('1002', 0, 3);
  await mwi.next((b) => /Voice-Message:\s*0\/3/.test(b), 5000, 'MWI 0/3 replacing 2/1');
  mwi.subscriber.terminate();
});

test('unsolicited MWI NOTIFY reaches a registered SIP.js contact over ws', async (t) => {
  const peer = await sipjs(t, '1006');
  assert.equal(await pbx.injectMwiUnsolicited('1006', 1, 4), 200);
  await until(() => peer.unsolicited.find((b) => /Voice-Message:\s*1\/4/.test(b)), 3000, 'the NOTIFY body');
  assert.equal(await pbx.injectMwiUnsolicited('1005', 1, 0), 404, 'nobody registered as 1005');
});

test('restart keeps the ports and JsSIP can register again', async (t) => {
  const before = { ws: pbx.ws_url, sip: pbx.sip_port, pid: pbx.pid };
  await pbx.restart();
  assert.equal(pbx.ws_url, before.ws);
  assert.equal(pbx.sip_port, before.sip);
  assert.notEqual(pbx.pid, before.pid);
  await jssip(t, '1003');
  await until(async () => (await pbx.contacts('1003')).length === 1, 3000, 'a contact for 1003');
});

test('OPTIONS to the server itself over ws is answered 200 (the worker keepalive)', async (t) => {
  const ua = await jssip(t, '1004', { register: false });
  const [, response] = await new Promise((resolve, reject) => {
    // a URI object: JsSIP would read a bare 'sip:127.0.0.1' string as a user name
    ua.sendOptions(new JsSIP.URI('sip', null, '127.0.0.1'), null, {
      eventHandlers: {
        succeeded: (e) => resolve([null, e.response]),
        failed: (e) => reject(new Error(`OPTIONS failed: ${e.cause}`)),
      },
    });
  });
  assert.equal(response.status_code, 200);
});
