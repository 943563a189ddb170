// Tongban console: devices panel and the live event stream. Plain ES module, no build step.
const devices = new Map();
const classNames = { idcard: '身份证阅读器 ID reader', scanner: '扫描仪 Scanner', camera: '高拍仪 Camera', printer: '打印机 Printer' };
const stateNames = { available: '可用 available', busy: '忙 busy', unavailable: '未连接 unavailable', error: '故障 error' };

function cell(text, className) {
  const td = document.createElement('td');
  if (className) {
    const span = document.createElement('span');
    span.className = className;
    span.textContent = text;
    td.append(span);
  } else {
    td.textContent = text;
  }
  return td;
}

function render() {
  const body = document.querySelector('#devices tbody');
  body.replaceChildren(...[...devices.values()].map((device) => {
    const row = document.createElement('tr');
    row.dataset.id = device.id;
    const message = cell(device.state.message ?? '');
    if (device.state.remedy) {
      const remedy = document.createElement('div');
      remedy.className = 'remedy';
      remedy.textContent = device.state.remedy;
      message.append(remedy);
    }
    row.append(cell(classNames[device.class] ?? device.class), cell(device.model),
      cell(stateNames[device.state.availability], `state ${device.state.availability}`), message);
    return row;
  }));
}

async function loadDevices() {
  const response = await fetch('/v1/devices');
  const snapshot = await response.json();
  devices.clear();
  for (const device of snapshot.devices) devices.set(device.id, device);
  document.querySelector('#problems').replaceChildren(...snapshot.problems.map((problem) => {
    const item = document.createElement('li');
    item.textContent = `${problem.source}: ${problem.message} — ${problem.remedy}`;
    return item;
  }));
  render();
}

function logEvent(event) {
  const item = document.createElement('li');
  item.textContent = `${event.time ?? ''} ${event.type}`;
  const list = document.querySelector('#events');
  list.prepend(item);
  while (list.children.length > 200) list.lastChild.remove();
}

let lastSequence = null;
function connect() {
  const link = document.querySelector('#link');
  const query = lastSequence === null ? '' : `?since=${lastSequence}`;
  const socket = new WebSocket(`ws://${location.host}/v1/events${query}`);
  socket.onopen = () => { link.textContent = '已连接 online'; link.className = 'state available'; };
  socket.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (event.type === 'hello') {
      document.querySelector('#counter').textContent = `柜台 Counter ${event.counterId}`;
      if (lastSequence === null) lastSequence = event.sequence;
      return;
    }
    lastSequence = event.sequence;
    logEvent(event);
    if (event.type.startsWith('device.')) {
      if (event.type === 'device.removed') devices.delete(event.data.id); else devices.set(event.data.id, event.data);
      render();
    }
  };
  socket.onclose = () => {
    link.textContent = '未连接，重连中 offline, reconnecting'; link.className = 'state unavailable';
    setTimeout(connect, 1000);
  };
}

loadDevices().then(connect);
