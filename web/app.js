// The live page: one EventSource on /api/events (a snapshot, then changes as the gateway makes them), commands by
// POST /api/command. No framework and no build: the gateway serves this file as it is.
const $ = (selector, root = document) => root.querySelector(selector);
const HISTORY_CAP = 400; // a little above the server's 360 points per hour, so the client stays bounded too

let page = { devices: new Map(), history: new Map(), historyMs: 3_600_000, visitor: { mayCommand: false } };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) if (child !== undefined && child !== null) node.append(child);
  return node;
}

const svg = (tag, attrs = {}) => {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  return node;
};

function ago(iso) {
  if (!iso) return 'never';
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  return new Date(iso).toLocaleString();
}

function formatNumber(value) {
  if (typeof value !== 'number') return '–';
  return Math.abs(value) >= 1000 ? value.toFixed(0) : String(Math.round(value * 100) / 100);
}

function formatBytes(bytes) {
  if (bytes === null || bytes === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (bytes >= 1024 && i < units.length - 1) {
    bytes /= 1024;
    i++;
  }
  return `${i ? bytes.toFixed(1) : bytes} ${units[i]}`;
}

function addPoint(key, point) {
  let points = page.history.get(key);
  if (!points) page.history.set(key, (points = []));
  const last = points[points.length - 1];
  // The server keeps one point per bucket; a replaced point comes again with a later time in the same bucket.
  if (last && Math.floor(last[0] / 10_000) === Math.floor(point[0] / 10_000)) points[points.length - 1] = point;
  else points.push(point);
  const since = Date.now() - page.historyMs;
  while (points.length > HISTORY_CAP || (points.length && points[0][0] < since)) points.shift();
}

/** A sparkline of the last hour: x is time, y spans the points' own range. */
function plot(key, label) {
  const points = page.history.get(key) ?? [];
  const width = 300, height = 48, now = Date.now();
  // An hour wide once there is an hour of data; until then from the first point, so a young series is not a sliver.
  const start = Math.max(now - page.historyMs, (points[0]?.[0] ?? now) - 1);
  const chart = svg('svg', { class: 'plot', viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': `${label}, last hour`, 'data-plot': key });
  if (points.length < 2) return chart;
  let min = Infinity, max = -Infinity;
  for (const [, v] of points) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const span = max - min || 1;
  const coords = points.map(([t, v]) => `${(((t - start) / (now - start)) * width).toFixed(1)},${(height - 4 - ((v - min) / span) * (height - 14)).toFixed(1)}`);
  chart.append(svg('polyline', { points: coords.join(' ') }));
  const top = svg('text', { x: 2, y: 9 });
  top.textContent = `${formatNumber(max)}`;
  const bottom = svg('text', { x: 2, y: height - 1 });
  bottom.textContent = `${formatNumber(min)}`;
  chart.append(top, bottom);
  return chart;
}

function sensorCard(device) {
  const values = device.values ?? {};
  const channels = Object.keys(values);
  return el(
    'article',
    { class: `card sensor ${device.availability}`, 'data-device': device.name, 'data-availability': device.availability },
    el('h3', {}, device.label, el('span', { class: `pill ${device.availability}`, 'data-role': 'availability' }, device.availability)),
    el('div', { class: 'sub' }, `last good read ${ago(device.lastGoodRead ?? device.time)}`),
    device.availability === 'offline' && device.lastError ? el('div', { class: 'sub' }, device.lastError) : null,
    channels.length === 0 ? el('p', { class: 'empty' }, 'No reading yet.') : null,
    channels.map((key) =>
      el(
        'div',
        { class: 'channel' },
        el('span', { class: 'key' }, key),
        el('span', {}, el('span', { class: 'value', 'data-channel': key }, formatNumber(values[key])), el('span', { class: 'unit' }, device.units?.[key] ?? '')),
        plot(`sensor/${device.name}/${key}`, `${device.label} ${key}`),
      ),
    ),
  );
}

async function command(output, state, duration, answer) {
  answer.textContent = '…';
  answer.className = 'answer';
  try {
    const response = await fetch('/api/command', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ output, state, ...(duration ? { duration } : {}) }),
    });
    const body = await response.json();
    // The new state arrives on the event stream, as any MQTT subscriber would see it; this is only the answer.
    answer.textContent = body.ok ? 'done' : `refused: ${body.error?.message ?? response.status}`;
    if (!body.ok) answer.className = 'answer error';
  } catch (error) {
    answer.textContent = `failed: ${error.message}`;
    answer.className = 'answer error';
  }
}

function ioCard(device) {
  const on = device.state === 'ON';
  const card = el(
    'article',
    { class: `card ${device.kind} ${device.availability}`, 'data-device': device.name, 'data-state': device.state ?? 'unknown' },
    el('h3', {}, device.label, el('span', { class: `pill ${device.availability}`, 'data-role': 'availability' }, device.availability)),
    el('div', { class: 'sub' }, `${device.kind}, changed ${ago(device.time)}`),
    el('div', { class: 'state' }, el('span', { class: `pill ${on ? 'on' : 'off'}`, 'data-role': 'state' }, device.state ?? '–')),
  );
  if (device.kind === 'output') {
    const answer = el('div', { class: 'answer', 'data-role': 'answer' });
    const seconds = el('input', { type: 'number', min: '1', step: '1', value: '5', 'aria-label': 'seconds' });
    const disabled = !page.visitor.mayCommand || device.availability === 'offline';
    card.append(
      el(
        'div',
        { class: 'controls' },
        el('button', { 'data-action': 'toggle', disabled, onclick: () => command(device.name, 'TOGGLE', undefined, answer) }, on ? 'Turn off' : 'Turn on'),
        el('button', { class: 'secondary', 'data-action': 'timed', disabled, onclick: () => command(device.name, 'ON', Number(seconds.value), answer) }, 'On for'),
        seconds,
        el('span', {}, 's'),
      ),
      answer,
    );
    if (!page.visitor.mayCommand) answer.textContent = 'read-only';
  }
  return card;
}

function renderDevice(device) {
  const old = document.querySelector(`[data-device="${CSS.escape(device.name)}"]`);
  const card = device.kind === 'sensor' ? sensorCard(device) : ioCard(device);
  // Keep what the person typed and the last answer across a redraw.
  if (old) {
    const [typed, answer] = [$('input', old), $('[data-role=answer]', old)];
    if (typed && $('input', card)) $('input', card).value = typed.value;
    if (answer && $('[data-role=answer]', card) && answer.textContent !== 'read-only') $('[data-role=answer]', card).replaceWith(answer);
    old.replaceWith(card);
  } else $(device.kind === 'sensor' ? '#sensors' : '#io').append(card);
}

function renderStats(stats) {
  const b = stats.broker;
  const figures = [
    ['clients', b.clients],
    ['messages in /s', b.receivedPerSecond],
    ['messages out /s', b.sentPerSecond],
    ['retained', b.retained],
    ['subscriptions', b.subscriptions],
    ['uptime', `${Math.floor(b.uptimeSeconds / 3600)} h ${Math.floor((b.uptimeSeconds % 3600) / 60)} min`],
  ];
  $('#broker').replaceChildren(...figures.map(([name, value]) => el('div', { 'data-figure': name }, el('dt', {}, name), el('dd', {}, String(value)))));
  const bridges = $('#bridges');
  if (stats.bridges.length === 0) return;
  bridges.replaceChildren(
    ...stats.bridges.map((bridge) =>
      el(
        'article',
        { class: 'card bridge', 'data-bridge': bridge.connection, 'data-connected': String(bridge.connected), 'data-depth': String(bridge.depth ?? '') },
        el('h3', {}, bridge.connection, el('span', { class: `pill ${bridge.connected ? 'up' : 'down'}`, 'data-role': 'link' }, bridge.connected ? 'up' : 'down')),
        el(
          'dl',
          {},
          [
            ['queued', bridge.depth ?? '–'],
            ['bytes', formatBytes(bridge.bytes)],
            ['oldest', bridge.oldestAgeSeconds === null ? '–' : `${bridge.oldestAgeSeconds} s`],
            ['sent /s', bridge.sentPerSecond],
            ['reconnects', bridge.reconnects],
            ['lost', bridge.lost],
          ].map(([name, value]) => el('div', { 'data-figure': name }, el('dt', {}, name), el('dd', {}, String(value)))),
        ),
        el('div', { class: 'sub' }, 'queue depth, last hour'),
        plot(`bridge/${bridge.connection}/depth`, `${bridge.connection} queue depth`),
      ),
    ),
  );
}

function renderWarning(entry, prepend = true) {
  const list = $('#warnings');
  $('.empty', list)?.remove();
  const item = el(
    'li',
    { class: `lvl-${entry.level}` },
    el('time', { datetime: new Date(entry.time).toISOString() }, new Date(entry.time).toLocaleTimeString()),
    `${entry.level}${entry.module ? ` [${entry.module}]` : ''}: ${entry.msg}${entry.detail ? ` (${entry.detail})` : ''}`,
  );
  if (prepend) list.prepend(item);
  else list.append(item);
  while (list.children.length > 50) list.lastElementChild.remove();
}

function renderGateway(gateway) {
  $('#title').textContent = gateway.name;
  document.title = `${gateway.name} · pi-edge-gateway`;
  const status = $('#gateway-status');
  status.textContent = gateway.mode === 'broker' ? 'broker' : gateway.status;
  status.className = `pill ${gateway.mode === 'broker' ? 'online' : gateway.status}`;
}

function onSnapshot(snapshot) {
  page = { devices: new Map(), history: new Map(Object.entries(snapshot.history)), historyMs: snapshot.historyMs, visitor: snapshot.visitor };
  $('#visitor').textContent = snapshot.visitor.username ? `signed in as ${snapshot.visitor.username}` : snapshot.visitor.mayCommand ? '' : 'read-only';
  renderGateway(snapshot.gateway);
  $('#sensors').replaceChildren();
  $('#io').replaceChildren();
  for (const device of snapshot.devices) {
    page.devices.set(device.name, device);
    renderDevice(device);
  }
  $('#sensors-section').hidden = !snapshot.devices.some((d) => d.kind === 'sensor');
  $('#io-section').hidden = !snapshot.devices.some((d) => d.kind !== 'sensor');
  renderStats(snapshot.stats);
  $('#warnings').replaceChildren(el('li', { class: 'empty' }, 'None.'));
  for (const entry of snapshot.warnings) renderWarning(entry);
}

function connect() {
  const link = $('#link');
  const events = new EventSource('/api/events');
  const on = (type, handler) => events.addEventListener(type, (message) => handler(JSON.parse(message.data)));
  on('snapshot', (snapshot) => {
    link.textContent = 'live';
    link.className = 'pill online';
    onSnapshot(snapshot);
  });
  on('device', ({ device, points }) => {
    for (const [key, point] of Object.entries(points ?? {})) addPoint(key, point);
    page.devices.set(device.name, device);
    renderDevice(device);
  });
  on('stats', ({ stats, points }) => {
    for (const [key, point] of Object.entries(points)) addPoint(key, point);
    renderStats(stats);
  });
  on('warning', ({ entry }) => renderWarning(entry));
  on('gateway', ({ gateway }) => renderGateway(gateway));
  events.addEventListener('error', () => {
    // EventSource reconnects by itself (the server's retry: 3 s) and gets a fresh snapshot.
    link.textContent = 'reconnecting';
    link.className = 'pill offline';
  });
}

connect();
