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

const fieldNames = [
  ['name', '姓名 Name'], ['nameEnglish', '英文名 English name'], ['sex', '性别 Sex'], ['ethnicity', '民族 Ethnicity'],
  ['birthDate', '出生 Born'], ['idNumber', '号码 Number'], ['passNumber', '通行证 Pass'], ['nationality', '国籍 Nationality'],
  ['address', '住址 Address'], ['additionalAddress', '新住址 New address'], ['issuingAuthority', '签发机关 Authority'],
  ['validFrom', '有效期起 Valid from'], ['validUntil', '有效期止 Valid until'],
];
const cardNames = { resident: '居民身份证', hkMacaoTaiwan: '港澳台居民居住证', foreigner2017: '外国人永久居留身份证 (2017)', foreigner2023: '外国人永久居留身份证 (2023)' };

function showRecord(read) {
  const record = read.record;
  const list = document.querySelector('#idcard-record');
  const rows = [['cardType', '证件 Card', cardNames[record.cardType] ?? record.cardType], ...fieldNames
    .filter(([key]) => record[key] !== undefined).map(([key, label]) => [key, label, record[key]])];
  list.replaceChildren(...rows.flatMap(([, label, value]) => {
    const term = document.createElement('dt'); term.textContent = label;
    const detail = document.createElement('dd'); detail.textContent = value;
    return [term, detail];
  }));
  for (const warning of record.warnings) {
    const detail = document.createElement('dd'); detail.className = 'warning'; detail.textContent = warning;
    list.append(document.createElement('dt'), detail);
  }
  document.querySelector('#idcard-status').textContent = `已读取 Read from ${read.device}（已遮蔽 masked）`;
}

function showIDCardEvent(event) {
  const status = document.querySelector('#idcard-status');
  if (event.type === 'idcard.read') showRecord(event.data);
  if (event.type === 'idcard.present') status.textContent = '正在读卡… Reading…';
  if (event.type === 'idcard.removed') status.textContent = '证件已取走 Card removed';
  if (event.type === 'idcard.error') status.textContent = `${event.data.message} — ${event.data.remedy}`;
}

async function simulatedCard(action) {
  const body = { action, card: document.querySelector('#sim-card').value };
  const response = await fetch('/v1/sim/idcard', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok) {
    const problem = await response.json();
    document.querySelector('#idcard-status').textContent = `${problem.title}: ${problem.detail} — ${problem.remedy ?? ''}`;
  }
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
    if (event.type.startsWith('idcard.')) showIDCardEvent(event);
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

document.querySelector('#sim-place').addEventListener('click', () => simulatedCard('place'));
document.querySelector('#sim-lift').addEventListener('click', () => simulatedCard('lift'));

loadDevices().then(() => {
  document.querySelector('#idcard-sim').hidden = !devices.has('sim:idcard');
  connect();
});
