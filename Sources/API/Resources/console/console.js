// Tongban console: a complete counter workstation on one page, built on the SDK a case system uses.
// Plain ES module, no build step. Chinese first; Alt+L switches to English.
import { Tongban, TongbanError } from '/sdk/tongban.js';
import { showRemoteFeed } from '/console/assist.js';

const $ = (selector) => document.querySelector(selector);

/** Creates an element: `make('td', {className: 'x', textContent: 'y'}, child…)`. */
function make(tag, properties = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(properties)) {
    if (name === 'dataset') Object.assign(element.dataset, value);
    else if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else element[name] = value;
  }
  element.append(...children.filter((child) => child !== null && child !== undefined));
  return element;
}

// ---- language ------------------------------------------------------------------------------------------------

const texts = {
  caseNumber: ['办件编号', 'Case number'], operator: ['经办人', 'Clerk'], online: ['已连接', 'online'],
  offline: ['未连接', 'offline'], reconnecting: ['连接中断，正在重连', 'offline, reconnecting'],
  devices: ['设备', 'Devices'], class: ['类别', 'Class'], model: ['型号', 'Model'], state: ['状态', 'State'],
  message: ['说明', 'Message'], idCard: ['身份证', 'ID card'], placeCard: ['请将证件放在阅读器上', 'Place the card on the reader'],
  reading: ['正在读卡…', 'Reading…'], cardRemoved: ['证件已取走', 'Card removed'],
  readFrom: ['已读取（已遮蔽）', 'Read (masked)'], revealed: ['已显示完整信息（已记入审计日志）', 'Shown in full (written to the audit log)'],
  revealReason: ['查看完整信息的理由（记入审计日志）', 'Why you need the full record (audited)'],
  reveal: ['显示完整信息', 'Show in full'], mask: ['遮蔽', 'Mask'], demo: ['演示', 'Demo'],
  placeSimCard: ['放卡', 'Place card'], liftSimCard: ['取卡', 'Lift card'],
  scanning: ['扫描', 'Scanning'], material: ['材料名称', 'Material'], scanner: ['扫描仪', 'Scanner'],
  resolution: ['分辨率', 'Resolution'], colour: ['色彩', 'Colour'], colourColour: ['彩色', 'colour'],
  colourGrey: ['灰度', 'grey'], colourBW: ['黑白', 'black and white'], pages: ['页数上限', 'Pages at most'],
  duplex: ['双面', 'Both sides'], startScan: ['开始扫描', 'Scan'], scanMore: ['继续扫描', 'Scan more'],
  finishScan: ['完成并生成 PDF', 'Finish: make the PDF'], discardScan: ['放弃本批', 'Discard batch'],
  defaultScanMaterial: ['申请材料', 'Application documents'], scanningNow: ['扫描中…', 'Scanning…'],
  pagesReady: ['页已扫描，可调整顺序、旋转、删除或重扫后完成', 'pages scanned; reorder, turn, delete or rescan, then finish'],
  blank: ['空白', 'blank'], moveEarlier: ['前移', 'Move earlier'], moveLater: ['后移', 'Move later'],
  rotate: ['旋转 90°', 'Turn 90°'], rescan: ['重扫此页', 'Rescan this page'], deletePage: ['删除', 'Delete'],
  scanAttached: ['已生成 PDF 附件，等待发送：', 'PDF attachment made, queued for delivery: '],
  camera: ['高拍仪', 'Document camera'], startPreview: ['打开预览', 'Start preview'], stopPreview: ['关闭预览', 'Stop preview'],
  previewOff: ['预览未打开', 'Preview is off'], captureMode: ['拍摄', 'Capture'], modeDocument: ['文档（裁切矫正）', 'document (cropped, straightened)'],
  modePhoto: ['照片', 'photo'], modeFront: ['身份证人像面', 'ID card, photo side'], modeBack: ['身份证国徽面', 'ID card, emblem side'],
  autoCapture: ['放稳后自动拍摄', 'Capture when still'], capture: ['拍摄', 'Capture'],
  defaultCaptureMaterial: ['拍摄材料', 'Captured document'], capturing: ['拍摄中…', 'Capturing…'],
  waitingStill: ['请放好材料并保持不动…', 'Lay the document down and hold still…'], captured: ['已拍摄：', 'Captured: '],
  makeCopy: ['生成身份证复印件', 'Make the ID-card copy'], defaultWatermark: ['仅供办理本业务使用，他用无效', 'For this application only; void for any other use'],
  printing: ['打印', 'Printing'], fillFromCard: ['从身份证填入', 'Fill from the card'], preview: ['预览', 'Preview'],
  print: ['打印', 'Print'], addRow: ['添加一行', 'Add a row'], removeRow: ['删除此行', 'Remove row'],
  cancel: ['取消', 'Cancel'], outbox: ['待发送', 'Outbox'], kind: ['类型', 'Kind'], delivery: ['送达', 'Delivery'],
  retry: ['重试', 'Retry'], withdraw: ['撤回', 'Withdraw'], events: ['事件', 'Events'],
  noCase: ['请先填写办件编号', 'Enter the case number first'],
  noCaseRemedy: ['在页面顶部填写办件编号（Alt+K），之后采集的材料都归入该办件。', 'Type the case number at the top (Alt+K); everything captured goes to that case.'],
  noCardRead: ['尚未读取身份证', 'No card read yet'], noCardRemedy: ['请将证件放在阅读器上。', 'Place the card on the reader.'],
  sink: ['送往', 'Delivering to'], waiting: ['待发送', 'waiting'], failedCount: ['失败', 'failed'],
  shortcuts: ['快捷键：Alt+K 办件编号 · Alt+S 扫描 · Alt+F 完成扫描 · Alt+C 拍摄 · Alt+P 打印 · Alt+V 显示证件 · Alt+L 中文/English',
    'Shortcuts: Alt+K case number · Alt+S scan · Alt+F finish scan · Alt+C capture · Alt+P print · Alt+V show card · Alt+L 中文/English'],
  counter: ['柜台', 'Counter'], assist: ['视频协助', 'Video assistance'], office: ['部门', 'Office'],
  callOffice: ['呼叫', 'Call'], answer: ['接听', 'Answer'], decline: ['拒绝', 'Decline'], hangUp: ['挂断', 'Hang up'],
  answerInBrowser: ['在本浏览器接听…', 'Answer in this browser…'], assistOff: ['本窗口未启用视频协助', 'Video assistance is off on this counter'],
  onlineFor: ['在线接听：', 'Answering for: '], callingOffice: ['正在呼叫', 'Calling'], incoming: ['来电', 'Incoming call'],
  inCall: ['通话中', 'In a call with'], callEnded: ['通话结束', 'Call ended'], missedCall: ['未接通（已计入未接次数）', 'Not answered (counted as missed)'],
  declinedCall: ['对方拒绝', 'Declined'], missedThisMonth: ['本月未接：', 'Missed this month: '], noPrinter: ['没有打印机', 'no printer'], copyMade: ['已生成身份证复印件：', 'ID-card copy made: '],
  signedInAs: ['柜员', 'Clerk'], signOut: ['退出', 'Sign out'], signInTitle: ['柜员登录', 'Clerk sign-in'], clerkId: ['柜员', 'Clerk'],
  signIn: ['登录', 'Sign in'], demoSignIn: ['演示模式：柜员 demo，PIN 000000', 'Demo mode: clerk demo, PIN 000000'],
  signInFailed: ['柜员号或 PIN 不正确', 'Clerk or PIN not recognised'], signInLocked: ['登录已暂时锁定', 'Sign-in is locked for now'],
  signInLockedFor: ['请 {seconds} 秒后再试，或请管理员重设 PIN。', 'Try again in {seconds} s, or ask the administrator to reset the PIN.'],
  signInNeeded: ['请先登录', 'Please sign in'],
  signInNeededRemedy: ['登录已过期或已退出，请重新登录后继续办理。', 'Your session has ended or you signed out: sign in again to go on.'],
  signedOut: ['已退出', 'Signed out'],
};
const classNames = { idcard: ['身份证阅读器', 'ID-card reader'], scanner: ['扫描仪', 'Scanner'], camera: ['高拍仪', 'Camera'], printer: ['打印机', 'Printer'] };
const availabilityNames = { available: ['可用', 'available'], busy: ['忙', 'busy'], unavailable: ['未连接', 'unavailable'], error: ['故障', 'error'] };
const deliveryNames = { pending: ['待发送', 'waiting'], uploading: ['发送中', 'sending'], delivered: ['已送达', 'delivered'],
  failed: ['失败', 'failed'], cancelled: ['已撤回', 'withdrawn'], retrying: ['稍后重试', 'will retry'] };
const printStateNames = { submitting: ['提交中', 'submitting'], queued: ['排队', 'queued'], printing: ['打印中', 'printing'],
  blocked: ['受阻', 'blocked'], completed: ['已完成', 'completed'], canceled: ['已取消', 'canceled'], failed: ['失败', 'failed'] };
const kindNames = { scan: ['扫描件', 'scan'], photo: ['照片', 'photo'], idcard: ['证件', 'ID card'], notice: ['通知书', 'notice'],
  recording: ['录像', 'recording'], other: ['其他', 'other'] };
const fieldNames = [
  ['name', '姓名', 'Name'], ['nameEnglish', '英文名', 'English name'], ['sex', '性别', 'Sex'], ['ethnicity', '民族', 'Ethnicity'],
  ['birthDate', '出生', 'Born'], ['idNumber', '号码', 'Number'], ['passNumber', '通行证号', 'Pass number'],
  ['nationality', '国籍', 'Nationality'], ['address', '住址', 'Address'], ['additionalAddress', '新住址', 'New address'],
  ['issuingAuthority', '签发机关', 'Authority'], ['validFrom', '有效期起', 'Valid from'], ['validUntil', '有效期止', 'Valid until'],
];
const cardNames = { resident: ['居民身份证', 'Resident ID card'], hkMacaoTaiwan: ['港澳台居民居住证', 'HK/Macao/Taiwan residence permit'],
  foreigner2017: ['外国人永久居留身份证（2017）', 'Foreigner permanent residence card (2017)'],
  foreigner2023: ['外国人永久居留身份证（2023）', 'Foreigner permanent residence card (2023)'] };

let language = localStorage.getItem('tongban.language') === 'en' ? 'en' : 'zh';
const pick = (pair, fallback = '') => (pair ? pair[language === 'zh' ? 0 : 1] : fallback);
const t = (key) => pick(texts[key], key);

function applyLanguage() {
  document.documentElement.lang = language === 'zh' ? 'zh-CN' : 'en';
  for (const element of document.querySelectorAll('[data-i18n]')) element.textContent = t(element.dataset.i18n);
  for (const element of document.querySelectorAll('[data-i18n-placeholder]')) element.placeholder = t(element.dataset.i18nPlaceholder);
  for (const element of document.querySelectorAll('[data-i18n-value]')) {
    // A default the clerk has not changed follows the language; a typed value stays.
    if (texts[element.dataset.i18nValue].includes(element.value)) element.value = t(element.dataset.i18nValue);
  }
  $('#language').textContent = language === 'zh' ? 'English' : '中文';
  $('#signin-language').textContent = $('#language').textContent;
  renderSignInMessage();
  renderDevices();
  renderRecord();
  renderScan();
  renderOutbox();
  renderJobs();
  showConnection(tongban.connectionState);
}

// ---- messages ------------------------------------------------------------------------------------------------

/** Shows what went wrong and what to do in `target` (a panel's status line, or the page's notice). */
function showProblem(error, target = $('#notice')) {
  const problem = error instanceof TongbanError ? error
    : new TongbanError({ code: 'console-error', status: 0, title: '出错 Error', detail: String(error?.message ?? error), remedy: '' });
  target.hidden = false;
  target.className = `${target.id === 'notice' ? '' : 'hint '}problem`;
  target.replaceChildren(make('strong', { textContent: problem.title }), ` ${problem.detail}`,
    problem.remedy ? make('div', { className: 'remedy', textContent: `→ ${problem.remedy}` }) : null);
  target.dataset.code = problem.code;
}

function showStatus(target, text) {
  target.hidden = false;
  target.className = 'hint';
  delete target.dataset.code;
  target.textContent = text;
}

/** Runs a long action with its button disabled and marked busy; problems go to `statusTarget`. */
async function busy(button, statusTarget, action) {
  button.disabled = true;
  button.classList.add('working');
  try {
    return await action();
  } catch (error) {
    showProblem(error, statusTarget);
    return undefined;
  } finally {
    button.disabled = false;
    button.classList.remove('working');
  }
}

function requireCase() {
  const value = $('#case-number').value.trim();
  if (!value) {
    $('#case-number').focus();
    throw new TongbanError({ code: 'no-case-number', status: 0, title: t('noCase'), detail: '', remedy: t('noCaseRemedy') });
  }
  return value;
}
/** The 经办人 sent with what is captured: what the clerk typed, otherwise the signed-in clerk's name. */
const operator = () => $('#operator').value.trim() || clerk?.name || undefined;

// ---- connection ----------------------------------------------------------------------------------------------

const tongban = new Tongban({ baseUrl: location.origin });

function showConnection(state) {
  const link = $('#link');
  link.textContent = state === 'open' ? t('online') : state === 'reconnecting' ? t('reconnecting') : t('offline');
  link.className = `state ${state === 'open' ? 'available' : 'unavailable'}`;
}

// ---- the clerk's session -------------------------------------------------------------------------------------
// Nothing changes and no personal data shows without a signed-in clerk: the sign-in covers the page until then,
// and again whenever a call is refused for want of a credential (the session ended, or the clerk signed out).
// The clerk's credential is the session key the SDK got from the sign-in: it keeps it in this tab's sessionStorage
// (scoped to this origin and port, unlike a cookie) and sends it with every call, on the event stream and in every
// picture's URL (tongban.url and the SDK's …Url helpers). A reload finds it there: start() asks session() first.

let clerk = null; // {clerk, name, expiresAt} while signed in
let signInNote = null; // what the sign-in says: a TongbanError, 'signedOut' or null
let entered = false; // the panels have been loaded once
let expiryTimer = null;

function showClerk() {
  $('#clerk').hidden = !clerk;
  $('#clerk-name').textContent = clerk?.name ?? '';
  $('#operator').placeholder = clerk?.name ?? '';
}

/** The Chinese or the English half of one of the service's bilingual sentences (`中文。English.`); all of it otherwise. */
function inLanguage(text) {
  const halves = /^(.*。)\s*([A-Za-z].*)$/s.exec(text ?? '');
  return halves ? halves[language === 'zh' ? 1 : 2].trim() : (text ?? '');
}

/** The sign-in's message: the service's answer in words, in the console's language. */
function renderSignInMessage() {
  const target = $('#signin-message');
  const note = signInNote;
  if (!note) {
    showStatus(target, '');
    return;
  }
  if (note === 'signedOut') {
    showStatus(target, t('signedOut'));
    return;
  }
  let headline;
  let remedy;
  if (note.code === 'sign-in-failed') {
    [headline, remedy] = [t('signInFailed'), inLanguage(note.remedy)];
  } else if (note.code === 'sign-in-locked') {
    headline = t('signInLocked');
    remedy = note.retryAfter !== undefined ? t('signInLockedFor').replace('{seconds}', note.retryAfter) : inLanguage(note.remedy);
  } else if (note.needsCredential) {
    [headline, remedy] = [t('signInNeeded'), t('signInNeededRemedy')];
  } else {
    showProblem(note, target); // not about the clerk: the service is unreachable, …
    return;
  }
  target.hidden = false;
  target.className = 'hint problem';
  target.replaceChildren(make('strong', { textContent: headline }), remedy ? make('div', { className: 'remedy', textContent: `→ ${remedy}` }) : null);
  target.dataset.code = note.code;
}

/** Shows the sign-in (with `note`); what the last clerk revealed is masked again and the camera preview stops. */
function showSignIn(note = null) {
  clerk = null;
  clearTimeout(expiryTimer);
  showClerk();
  signInNote = note;
  renderSignInMessage();
  if (lastRead?.revealed) {
    lastRead.record = lastRead.masked;
    lastRead.revealed = false;
    renderRecord();
  }
  if (!$('#camera-preview').hidden) togglePreview(false);
  const view = $('#signin');
  if (!view.hidden) return;
  view.hidden = false;
  $('#signin-pin').value = '';
  if (!$('#signin-clerk').value) $('#signin-clerk').value = localStorage.getItem('tongban.clerk') ?? '';
  ($('#signin-clerk').value ? $('#signin-pin') : $('#signin-clerk')).focus();
}

/** The typed 经办人 belongs to the clerk who typed it: another clerk starts from their own name. */
function forgetOperator() {
  $('#operator').value = '';
  sessionStorage.removeItem('tongban.operator');
}

/** Shows the sign-in again when the session runs out, even if the clerk does nothing meanwhile. */
function watchExpiry() {
  clearTimeout(expiryTimer);
  const left = Date.parse(clerk?.expiresAt ?? '') - Date.now();
  if (!Number.isFinite(left)) return;
  expiryTimer = setTimeout(async () => {
    const still = await tongban.session().catch(() => clerk);
    if (still) {
      clerk = still;
      watchExpiry();
    } else {
      showSignIn(new TongbanError({ code: 'not-signed-in', status: 401, title: t('signInNeeded'), detail: '', remedy: '' }));
    }
  }, Math.min(Math.max(left, 0) + 1000, 2 ** 31 - 1));
}

/** Signed in: the sign-in goes, the panels load (the first time) and the event stream opens. */
async function enter() {
  if (sessionStorage.getItem('tongban.signedInClerk') !== clerk.clerk) forgetOperator();
  sessionStorage.setItem('tongban.signedInClerk', clerk.clerk);
  showClerk();
  watchExpiry();
  signInNote = null;
  renderSignInMessage();
  $('#signin').hidden = true;
  try {
    // Back after a sign-out or a refused call: the stream resumes where it stopped, with the new session key, now
    // rather than at its next retry (and the panels reload on its 'connection').
    if (['closed', 'reconnecting'].includes(tongban.connectionState)) await tongban.openEvents();
    if (!entered) {
      await loadDevices();
      await loadPrinting();
      await loadAssist();
      // A batch left unfinished (page reloaded, service restarted) is picked up again.
      const open = await tongban.scans({ state: 'scanning,ready,interrupted' });
      if (open.length) {
        scan = open[0];
        pagesExpected = scan.pages.length;
        pagesThisRun = scan.pages.length;
        renderScan();
      }
      entered = true;
    } else {
      // Pictures shown before carry the previous session key in their URLs: made anew with this one.
      renderScan();
      renderCaptures();
    }
    refreshOutbox();
    document.body.dataset.ready = 'true';
  } catch (error) {
    if (error.needsCredential) showSignIn(error); else showProblem(error);
  }
}

// Any call refused for want of a credential — from any panel — brings the sign-in back.
tongban.on('credential', (event) => showSignIn(event.data.error));

$('#signin-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const button = $('#signin-submit');
  const id = $('#signin-clerk').value.trim();
  button.disabled = true;
  button.classList.add('working');
  try {
    clerk = await tongban.signIn(id, $('#signin-pin').value);
  } catch (error) {
    signInNote = error;
    renderSignInMessage();
    $('#signin-pin').value = '';
    $('#signin-pin').focus();
    return;
  } finally {
    button.disabled = false;
    button.classList.remove('working');
  }
  localStorage.setItem('tongban.clerk', id);
  $('#signin-pin').value = '';
  await enter();
});

$('#signout').addEventListener('click', (event) => busy(event.currentTarget, $('#notice'), async () => {
  // The SDK forgets the session key (here and in sessionStorage) even when the service could not be told: this
  // page is signed out either way, and the sign-in says what went wrong, if anything.
  let failure = null;
  try {
    await tongban.signOut();
  } catch (error) {
    if (!error.needsCredential) failure = error; // needsCredential: already signed out
  }
  tongban.close();
  forgetOperator();
  sessionStorage.removeItem('tongban.signedInClerk');
  showSignIn(failure ?? 'signedOut');
}));

// ---- devices -------------------------------------------------------------------------------------------------

const devices = new Map();

function renderDevices() {
  $('#devices tbody').replaceChildren(...[...devices.values()].map((device) => make('tr', { dataset: { id: device.id } },
    make('td', { textContent: pick(classNames[device.class], device.class) }),
    make('td', { textContent: device.model }),
    make('td', {}, make('span', { className: `state ${device.state.availability}`,
      textContent: pick(availabilityNames[device.state.availability], device.state.availability) })),
    make('td', { textContent: device.state.message ?? '' },
      device.state.remedy ? make('div', { className: 'remedy', textContent: device.state.remedy }) : null))));
  fillSelect($('#scan-device'), [...devices.values()].filter((device) => device.class === 'scanner'));
  fillSelect($('#camera-select'), [...devices.values()].filter((device) => device.class === 'camera'));
  $('#idcard-sim').hidden = !devices.has('sim:idcard');
}

function fillSelect(select, choices) {
  const chosen = select.value;
  select.replaceChildren(...choices.map((device) => make('option', { value: device.id, textContent: `${device.model} (${device.id})` })));
  if (choices.some((device) => device.id === chosen)) select.value = chosen;
}

async function loadDevices() {
  const snapshot = await tongban.devices();
  devices.clear();
  for (const device of snapshot.devices) devices.set(device.id, device);
  $('#discovery-problems').replaceChildren(...snapshot.problems.map((problem) =>
    make('li', { textContent: `${problem.source}: ${problem.message} — ${problem.remedy}` })));
  renderDevices();
}

tongban.on('device.*', (event) => {
  if (event.type === 'device.removed') devices.delete(event.data.id); else devices.set(event.data.id, event.data);
  renderDevices();
});

// ---- ID card -------------------------------------------------------------------------------------------------

let lastRead = null; // {recordId, device, record, revealed}

function renderRecord() {
  if (!lastRead) return;
  const { record } = lastRead;
  const rows = [[t('idCard'), pick(cardNames[record.cardType], record.cardType)],
    ...fieldNames.filter(([key]) => record[key] !== undefined).map(([key, zh, en]) => [language === 'zh' ? zh : en, record[key]])];
  $('#idcard-record').replaceChildren(...rows.flatMap(([label, value]) => [make('dt', { textContent: label }), make('dd', { textContent: value })]),
    ...record.warnings.flatMap((warning) => [make('dt'), make('dd', { className: 'warning', textContent: warning })]));
  const photo = $('#idcard-photo');
  photo.hidden = !(lastRead.revealed && record.photo?.jpeg);
  if (!photo.hidden) photo.src = `data:image/jpeg;base64,${record.photo.jpeg}`; else photo.removeAttribute('src');
  showStatus($('#idcard-status'), `${lastRead.revealed ? t('revealed') : t('readFrom')} · ${lastRead.device}`);
  $('#reveal-form').hidden = false;
  $('#mask').hidden = !lastRead.revealed;
}

tongban.on('idcard.*', (event) => {
  const status = $('#idcard-status');
  if (event.type === 'idcard.present') showStatus(status, t('reading'));
  if (event.type === 'idcard.removed') showStatus(status, t('cardRemoved'));
  if (event.type === 'idcard.error') showProblem(new TongbanError({ code: event.data.code ?? 'idcard-error', status: 0,
    title: pick(classNames.idcard), detail: event.data.message, remedy: event.data.remedy }), status);
  if (event.type === 'idcard.read') {
    lastRead = { recordId: event.data.recordId, device: event.data.device, record: event.data.record, masked: event.data.record, revealed: false };
    renderRecord();
  }
});

/** The card's record in full; `reason` goes to the audit log with the reveal. */
async function revealedRecord(reason) {
  if (!lastRead) throw new TongbanError({ code: 'no-card-read', status: 0, title: t('noCardRead'), detail: '', remedy: t('noCardRemedy') });
  if (!lastRead.revealed) {
    lastRead.record = await tongban.identityRecord(lastRead.recordId, { reveal: true, reason });
    lastRead.revealed = true;
  }
  return lastRead.record;
}

$('#reveal-form').addEventListener('submit', (event) => {
  event.preventDefault();
  busy($('#reveal'), $('#idcard-status'), async () => {
    await revealedRecord($('#reveal-reason').value);
    renderRecord();
  });
});
$('#mask').addEventListener('click', () => {
  lastRead.record = lastRead.masked;
  lastRead.revealed = false;
  renderRecord();
});
for (const action of ['place', 'lift']) {
  $(`#sim-${action}`).addEventListener('click', (event) => busy(event.currentTarget, $('#idcard-status'),
    () => tongban.simulateCard(action, $('#sim-card').value)));
}

// ---- scanning ------------------------------------------------------------------------------------------------

let scan = null; // the batch being worked on
let pagesExpected = 0;
let pagesThisRun = 0;

function renderScan() {
  const list = $('#scan-pages');
  const status = $('#scan-status');
  const progress = $('#scan-progress');
  const working = scan && ['scanning', 'ready', 'interrupted', 'failed'].includes(scan.state);
  for (const id of ['#scan-more', '#scan-finish', '#scan-discard']) $(id).disabled = !working || scan.state === 'scanning';
  $('#scan-discard').disabled = !working;
  if (!scan || !working) {
    list.replaceChildren();
    progress.hidden = true;
    return;
  }
  progress.hidden = scan.state !== 'scanning';
  progress.max = Math.max(pagesExpected, 1);
  progress.value = Math.min(pagesThisRun, progress.max);
  if (scan.state === 'scanning') showStatus(status, `${t('scanningNow')} ${pagesThisRun}/${pagesExpected}`);
  else if (!scan.problem) showStatus(status, `${scan.pages.length} ${t('pagesReady')}`);
  const pages = [...scan.pages].sort((a, b) => a.position - b.position);
  list.replaceChildren(...pages.map((page, index) => make('li', { dataset: { page: page.id }, className: page.blank ? 'blank' : '' },
    make('img', { src: tongban.pageThumbnailUrl(scan.id, page.id), alt: `${page.position}`, style: `transform: rotate(${page.rotation}deg)` }),
    make('span', { className: 'position', textContent: `${page.position}${page.blank ? ` · ${t('blank')}` : ''}` }),
    make('span', { className: 'tools' },
      make('button', { type: 'button', title: t('moveEarlier'), textContent: '◀', disabled: index === 0, onclick: () => movePage(pages, index, -1) }),
      make('button', { type: 'button', title: t('moveLater'), textContent: '▶', disabled: index === pages.length - 1, onclick: () => movePage(pages, index, 1) }),
      make('button', { type: 'button', title: t('rotate'), textContent: '⟳', className: 'rotate', onclick: () => editScan(() => tongban.rotatePage(scan.id, page.id, (page.rotation + 90) % 360)) }),
      make('button', { type: 'button', title: t('rescan'), textContent: '↻', onclick: () => scanPages({ replace: page.id, maxPages: 1 }, 1) }),
      make('button', { type: 'button', title: t('deletePage'), textContent: '✕', className: 'delete', onclick: () => editScan(() => tongban.deletePage(scan.id, page.id)) })))));
}

async function editScan(edit) {
  try {
    scan = await edit();
    renderScan();
  } catch (error) {
    showProblem(error, $('#scan-status'));
  }
}

function movePage(pages, index, step) {
  const order = pages.map((page) => page.id);
  [order[index], order[index + step]] = [order[index + step], order[index]];
  return editScan(() => tongban.reorderPages(scan.id, order));
}

async function scanPages(options, expected) {
  pagesExpected = expected;
  pagesThisRun = 0;
  try {
    scan = await tongban.scanMore(scan.id, options);
  } catch (error) {
    showProblem(error, $('#scan-status'));
  }
  renderScan();
}

$('#scan-form').addEventListener('submit', (event) => {
  event.preventDefault();
  busy($('#scan-start'), $('#scan-status'), async () => {
    const maxPages = Number($('#scan-max').value) || undefined;
    pagesExpected = maxPages ?? 1;
    pagesThisRun = 0;
    scan = await tongban.startScan({
      caseNumber: requireCase(), materialName: $('#scan-material').value.trim(), device: $('#scan-device').value || undefined,
      dpi: Number($('#scan-dpi').value), mode: $('#scan-mode').value, duplex: $('#scan-duplex').checked, maxPages, operator: operator(),
    });
    renderScan();
  });
});
$('#scan-more').addEventListener('click', () => scanPages({ maxPages: Number($('#scan-max').value) || undefined }, Number($('#scan-max').value) || 1));
$('#scan-finish').addEventListener('click', (event) => busy(event.currentTarget, $('#scan-status'), async () => {
  const attachment = await tongban.finishScan(scan.id, { operator: operator() });
  scan = null;
  renderScan();
  showStatus($('#scan-status'), `${t('scanAttached')}${attachment.materialName} · ${attachment.pages ?? ''}p · ${attachment.fileName}`);
  refreshOutbox();
}));
$('#scan-discard').addEventListener('click', (event) => busy(event.currentTarget, $('#scan-status'), async () => {
  await tongban.cancelScan(scan.id);
  if (scan.state !== 'scanning') scan = null;
  renderScan();
}));

tongban.on('scan.*', async (event) => {
  if (!scan || event.data.scanId !== scan.id) return;
  if (event.type === 'scan.page') {
    pagesThisRun += 1;
    scan.pages = scan.pages.filter((page) => page.id !== event.data.page.id).concat(event.data.page);
    renderScan();
  }
  if (event.type === 'scan.finished' || event.type === 'scan.failed' || event.type === 'scan.discarded') {
    try {
      scan = event.type === 'scan.discarded' ? null : await tongban.scan(event.data.scanId);
    } catch (error) {
      showProblem(error, $('#scan-status'));
    }
    renderScan();
    if (event.data.problem) showProblem(new TongbanError(event.data.problem), $('#scan-status'));
  }
});

// ---- camera --------------------------------------------------------------------------------------------------

const captures = []; // newest first: {attachment, mode}

function togglePreview(on = $('#camera-preview').hidden) {
  const image = $('#camera-preview');
  const camera = $('#camera-select').value;
  if (on && camera) {
    image.src = tongban.cameraPreviewUrl(camera, { width: 1280, height: 720, fps: 15 });
    image.hidden = false;
  } else {
    image.removeAttribute('src');
    image.hidden = true;
  }
  $('#camera-idle').hidden = !image.hidden;
  $('#camera-toggle').dataset.i18n = image.hidden ? 'startPreview' : 'stopPreview';
  $('#camera-toggle').textContent = t($('#camera-toggle').dataset.i18n);
}

function renderCaptures() {
  const caseNumber = $('#case-number').value.trim();
  $('#captures').replaceChildren(...captures.map(({ attachment, mode }) => {
    const content = tongban.attachmentContentUrl(attachment.attachmentId);
    const picture = attachment.contentType === 'image/jpeg'
      ? make('img', { src: content, alt: attachment.materialName })
      : make('a', { href: content, target: '_blank', className: 'document', textContent: 'PDF' });
    return make('li', { dataset: { attachment: attachment.attachmentId, mode } }, picture,
      make('span', { className: 'position', textContent: `${attachment.materialName}` }));
  }));
  const sides = (mode) => captures.find((item) => item.mode === mode && item.attachment.caseNumber === caseNumber);
  $('#copy-form').hidden = !(sides('idcard-front') && sides('idcard-back'));
}

$('#camera-toggle').addEventListener('click', () => togglePreview());
$('#camera-select').addEventListener('change', () => { if (!$('#camera-preview').hidden) togglePreview(true); });
$('#camera-preview').addEventListener('error', () => {
  if (!$('#camera-preview').hidden) showProblem(new TongbanError({ code: 'preview-ended', status: 0, title: t('camera'),
    detail: 'the preview stream ended', remedy: 'Check the camera cable, then start the preview again.' }), $('#capture-status'));
});

$('#capture-form').addEventListener('submit', (event) => {
  event.preventDefault();
  busy($('#capture'), $('#capture-status'), async () => {
    const mode = $('#capture-mode').value;
    const autoCapture = $('#capture-auto').checked;
    const request = { mode, caseNumber: requireCase(), materialName: $('#capture-material').value.trim() || undefined,
      autoCapture, operator: operator() };
    showStatus($('#capture-status'), autoCapture ? t('waitingStill') : t('capturing'));
    const result = await tongban.capture($('#camera-select').value, request);
    captures.unshift({ attachment: result.attachment, mode });
    renderCaptures();
    showStatus($('#capture-status'), `${t('captured')}${result.attachment.materialName} (${result.width}×${result.height})`);
    refreshOutbox();
  });
});
$('#copy-form').addEventListener('submit', (event) => {
  event.preventDefault();
  busy($('#copy-make'), $('#capture-status'), async () => {
    const caseNumber = requireCase();
    const side = (mode) => captures.find((item) => item.mode === mode && item.attachment.caseNumber === caseNumber).attachment.attachmentId;
    const attachment = await tongban.makeIDCardCopy({ caseNumber, front: side('idcard-front'), back: side('idcard-back'),
      watermark: $('#copy-watermark').value.trim() });
    captures.unshift({ attachment, mode: 'idcard-copy' });
    renderCaptures();
    showStatus($('#capture-status'), `${t('copyMade')}${attachment.fileName}`);
    refreshOutbox();
  });
});

// ---- printing ------------------------------------------------------------------------------------------------

let templates = [];
const remembered = new Map(); // field name → value typed for an earlier form
const jobs = new Map();

function fieldInput(field, value) {
  if (field.type === 'choice') {
    return make('select', { name: field.name },
      make('option', { value: '', textContent: '' }), ...field.options.map((option) => make('option', { value: option, textContent: option, selected: option === value })));
  }
  if (field.type === 'boolean') return make('input', { type: 'checkbox', name: field.name, checked: value === true });
  const type = field.type === 'integer' || field.type === 'number' ? 'number' : field.type === 'date' ? 'date' : 'text';
  return make('input', { type, name: field.name, value: value ?? '', required: field.required });
}

function listEditor(field) {
  const body = make('tbody');
  const addRow = () => body.append(make('tr', {}, ...field.fields.map((sub) => make('td', {}, fieldInput(sub))),
    make('td', {}, make('button', { type: 'button', textContent: '✕', title: t('removeRow'), onclick: (event) => event.currentTarget.closest('tr').remove() }))));
  addRow();
  return make('fieldset', { dataset: { list: field.name } }, make('legend', { textContent: field.label }),
    make('table', {}, make('thead', {}, make('tr', {}, ...field.fields.map((sub) => make('th', { textContent: sub.label })), make('th'))), body),
    make('button', { type: 'button', textContent: `+ ${t('addRow')}`, onclick: addRow }));
}

function renderForm() {
  const template = templates.find((item) => item.id === $('#notice-template').value);
  $('#notice-image').hidden = true;
  if (!template) return $('#notice-form').replaceChildren();
  $('#notice-form').replaceChildren(...template.fields.map((field) => {
    if (field.type === 'list') return listEditor(field);
    if (field.type === 'object') {
      return make('fieldset', { dataset: { object: field.name } }, make('legend', { textContent: field.label }),
        ...field.fields.map((sub) => make('label', {}, make('span', { textContent: sub.label }), fieldInput(sub))));
    }
    return make('label', { className: field.required ? 'required' : '' }, make('span', { textContent: field.label }),
      fieldInput(field, remembered.get(field.name)));
  }));
}

function valueOf(input) {
  if (input.type === 'checkbox') return input.checked;
  if (input.value.trim() === '') return undefined;
  return input.type === 'number' ? Number(input.value) : input.value.trim();
}

function collect(container) {
  const data = {};
  for (const child of container.children) {
    if (child.dataset.list) {
      data[child.dataset.list] = [...child.querySelectorAll('tbody tr')].map((row) => collect(row)).filter((item) => Object.keys(item).length);
    } else if (child.dataset.object) {
      const value = collect(child);
      if (Object.keys(value).length) data[child.dataset.object] = value;
    } else {
      for (const input of child.querySelectorAll(':scope > input, :scope > select, :scope > td > input, :scope > td > select')) {
        const value = valueOf(input);
        if (value !== undefined && value !== false) data[input.name] = value;
      }
    }
  }
  return data;
}

function noticeData() {
  const data = { ...collect($('#notice-form')), caseNumber: requireCase() };
  for (const [name, value] of Object.entries(data)) if (typeof value !== 'object') remembered.set(name, value);
  return data;
}

async function loadPrinting() {
  templates = await tongban.notices();
  $('#notice-template').replaceChildren(...templates.map((template) => make('option', { value: template.id, textContent: `${template.title}` })));
  // The form of almost every intake first.
  if (templates.some((template) => template.id === 'receipt-notice')) $('#notice-template').value = 'receipt-notice';
  await loadPrinters();
  renderForm();
}

/** The printer list with each printer's problem; the form being filled and the chosen printer are kept. */
async function loadPrinters() {
  const chosen = $('#printer-select').value;
  const printers = await tongban.printers().catch((error) => { showProblem(error, $('#print-status')); return []; });
  const ordered = [...printers].sort((a, b) => Number(b.roles.includes('notices')) - Number(a.roles.includes('notices')));
  $('#printer-select').replaceChildren(...ordered.map((printer) => make('option', { value: printer.name,
    textContent: `${printer.name}${printer.problem ? ` — ${printer.problem.title}` : ''}` })));
  if (!ordered.length) $('#printer-select').append(make('option', { value: '', textContent: t('noPrinter') }));
  if (ordered.some((printer) => printer.name === chosen)) $('#printer-select').value = chosen;
}

function renderJobs() {
  $('#print-jobs').replaceChildren(...[...jobs.values()].reverse().map((job) => {
    const ended = ['completed', 'canceled', 'failed'].includes(job.state);
    return make('li', { dataset: { job: job.id, state: job.state } },
      make('span', { className: `state ${job.state === 'completed' ? 'available' : job.problem ? 'error' : 'busy'}`,
        textContent: pick(printStateNames[job.state], job.state) }),
      ` ${job.document} · ${job.printer}${job.pages ? ` · ${job.pages}p` : ''} `,
      ended ? null : make('button', { type: 'button', textContent: t('cancel'), onclick: () => tongban.cancelPrint(job.id).catch((error) => showProblem(error, $('#print-status'))) }),
      job.problem ? make('div', { className: 'remedy', textContent: `${job.problem.title}: ${job.problem.detail} → ${job.problem.remedy ?? ''}` }) : null);
  }));
}

$('#notice-template').addEventListener('change', renderForm);
$('#notice-fill').addEventListener('click', (event) => busy(event.currentTarget, $('#print-status'), async () => {
  const template = templates.find((item) => item.id === $('#notice-template').value);
  const record = await revealedRecord(`填写${template?.title ?? '通知书'} filling in a form`);
  renderRecord();
  const fromCard = { applicantName: record.name ?? record.nameEnglish, name: record.name, address: record.address, idNumber: record.idNumber };
  for (const [name, value] of Object.entries(fromCard)) {
    const input = $(`#notice-form input[name="${name}"]`);
    if (input && value) input.value = value;
  }
}));
$('#notice-preview').addEventListener('click', (event) => busy(event.currentTarget, $('#print-status'), async () => {
  const { blob } = await tongban.previewNotice($('#notice-template').value, noticeData(), { format: 'png', dpi: 60 });
  const image = $('#notice-image');
  if (image.src) URL.revokeObjectURL(image.src);
  image.src = URL.createObjectURL(blob);
  image.hidden = false;
}));
$('#notice-print').addEventListener('click', (event) => busy(event.currentTarget, $('#print-status'), async () => {
  const job = await tongban.print({ template: $('#notice-template').value, data: noticeData(),
    printer: $('#printer-select').value || undefined, operator: operator() });
  jobs.set(job.id, job);
  renderJobs();
  refreshOutbox();
}));
tongban.on('print.*', (event) => {
  jobs.set(event.data.id, event.data);
  renderJobs();
});
tongban.on('printer.state', () => loadPrinters());

// ---- video assistance -----------------------------------------------------------------------------------------

let assistInfo = null;
let activeCall = null;
let remoteView = null;

async function loadAssist() {
  try {
    assistInfo = await tongban.assists();
  } catch (error) {
    assistInfo = null;
    $('#assist-form').hidden = true;
    showStatus($('#assist-status'), error.code === 'assist-off' ? t('assistOff') : error.message);
    return;
  }
  const missed = Object.entries(assistInfo.missedThisMonth).map(([office, count]) => `${office} ${count}`).join(', ');
  showStatus($('#assist-status'), [assistInfo.online.length ? `${t('onlineFor')}${assistInfo.online.join(', ')}` : '',
    missed ? `${t('missedThisMonth')}${missed}${assistInfo.escalate.length ? ' ⚠' : ''}` : ''].filter(Boolean).join(' · '));
}

async function showCall(call) {
  activeCall = call.state === 'ringing' || call.state === 'connected' ? call : null;
  $('#assist-ring').hidden = !(call.state === 'ringing' && call.role === 'answerer');
  $('#assist-hangup').hidden = !activeCall;
  $('#assist-ring-text').textContent = `${t('incoming')}: ${call.caseNumber} · ${call.callerCounter}${call.material ? ` · ${call.material}` : ''}`;
  const status = $('#assist-status');
  if (call.state === 'ringing' && call.role === 'caller') showStatus(status, `${t('callingOffice')} ${call.office}…`);
  if (call.state === 'connected') showStatus(status, `${t('inCall')} ${call.role === 'caller' ? call.answerCounter ?? call.office : call.callerCounter}`);
  if (call.state === 'connected' && call.remoteFeed && !remoteView && assistInfo) {
    $('#assist-remote').hidden = false;
    remoteView = await showRemoteFeed(assistInfo.janusUrl, call.room, call.remoteFeed, $('#assist-remote')).catch((error) => {
      showProblem(error, status);
      return null;
    });
  }
  if (!activeCall) {
    remoteView?.stop();
    remoteView = null;
    $('#assist-remote').hidden = true;
    if (call.problem) showProblem(new TongbanError(call.problem), status);
    else showStatus(status, call.state === 'missed' ? t('missedCall') : call.state === 'declined' ? t('declinedCall') : t('callEnded'));
    loadAssist();
  }
}

tongban.on('assist.*', (event) => showCall(event.data));
$('#assist-form').addEventListener('submit', (event) => {
  event.preventDefault();
  busy($('#assist-call'), $('#assist-status'), async () => showCall(await tongban.callOffice({
    office: $('#assist-office').value.trim(), caseNumber: requireCase(), material: $('#assist-material').value.trim() || undefined })));
});
$('#assist-accept').addEventListener('click', (event) => busy(event.currentTarget, $('#assist-status'), async () => showCall(await tongban.acceptCall(activeCall.id))));
$('#assist-decline').addEventListener('click', (event) => busy(event.currentTarget, $('#assist-status'), async () => showCall(await tongban.declineCall(activeCall.id))));
$('#assist-hangup').addEventListener('click', (event) => busy(event.currentTarget, $('#assist-status'), async () => showCall(await tongban.hangUp(activeCall.id))));

// ---- outbox --------------------------------------------------------------------------------------------------

const deliveries = new Map(); // attachmentId → {attachment?, entry}
let outboxSummary = null;

function renderOutbox() {
  if (outboxSummary) {
    $('#outbox-summary').textContent = `${t('sink')} ${outboxSummary.sink} · ${t('waiting')} ${outboxSummary.undelivered} · ${t('failedCount')} ${outboxSummary.failed}`;
  }
  const rows = [...deliveries.values()].sort((a, b) => String(b.entry.createdAt ?? '').localeCompare(String(a.entry.createdAt ?? '')));
  $('#outbox-table tbody').replaceChildren(...rows.slice(0, 50).map(({ attachment, entry, progress }) => {
    const state = entry.state;
    const actions = make('td');
    if (state === 'failed' || state === 'pending') {
      actions.append(make('button', { type: 'button', textContent: t('retry'), onclick: () => tongban.retryDelivery(entry.attachmentId).catch((error) => showProblem(error)) }),
        make('button', { type: 'button', textContent: t('withdraw'), onclick: () => tongban.withdrawDelivery(entry.attachmentId).then(refreshOutbox).catch((error) => showProblem(error)) }));
    }
    const stateCell = make('td', {}, make('span', { className: `delivery ${state}`, textContent: pick(deliveryNames[state], state) }));
    if (progress !== undefined && state !== 'delivered') stateCell.append(make('progress', { value: progress, max: 1 }));
    if (entry.lastError && state !== 'delivered') stateCell.append(make('div', { className: 'remedy', textContent: entry.lastError }));
    return make('tr', { dataset: { attachment: entry.attachmentId, state } },
      make('td', { textContent: entry.caseNumber }), make('td', { textContent: attachment?.materialName ?? '' }),
      make('td', { textContent: pick(kindNames[attachment?.kind], attachment?.kind ?? '') }), stateCell, actions);
  }));
}

let outboxTimer = null;
/** Reloads the outbox and the current case's attachments (coalesced: events come in bursts). */
function refreshOutbox() {
  clearTimeout(outboxTimer);
  outboxTimer = setTimeout(async () => {
    try {
      outboxSummary = await tongban.outbox();
      const caseNumber = $('#case-number').value.trim();
      const listed = caseNumber ? await tongban.attachments({ caseNumber }) : [];
      for (const entry of outboxSummary.entries) deliveries.set(entry.attachmentId, { ...deliveries.get(entry.attachmentId), entry });
      for (const { attachment, delivery } of listed) {
        if (delivery) deliveries.set(attachment.attachmentId, { ...deliveries.get(attachment.attachmentId), attachment, entry: delivery });
      }
      renderOutbox();
    } catch (error) {
      showProblem(error, $('#outbox-summary'));
    }
  }, 150);
}

tongban.on('delivery.*', (event) => {
  const known = deliveries.get(event.data.attachmentId);
  const state = { 'delivery.started': 'uploading', 'delivery.progress': 'uploading', 'delivery.delivered': 'delivered',
    'delivery.retrying': 'retrying', 'delivery.failed': 'failed', 'delivery.cancelled': 'cancelled' }[event.type] ?? event.data.state;
  const entry = { ...(known?.entry ?? { attachmentId: event.data.attachmentId, caseNumber: event.data.caseNumber }), state,
    lastError: event.data.error ?? known?.entry?.lastError };
  const progress = event.data.size ? (event.data.offset ?? 0) / event.data.size : known?.progress;
  deliveries.set(event.data.attachmentId, { ...known, entry, progress });
  renderOutbox();
  if (event.type !== 'delivery.progress') refreshOutbox();
});
tongban.on('attachment.stored', refreshOutbox);
tongban.on('camera.captured', refreshOutbox);

// ---- events log, keyboard, start -----------------------------------------------------------------------------

tongban.on('*', (event) => {
  const list = $('#events');
  list.prepend(make('li', { textContent: `${event.time ?? ''} ${event.type}` }));
  while (list.children.length > 200) list.lastChild.remove();
});
tongban.on('connection', (event) => {
  showConnection(event.data.state);
  // Back after a drop or a restart of the service: what the page shows is read again.
  if (event.data.state === 'open' && (event.data.restarted || event.data.resumed)) reload();
});

async function reload() {
  try {
    await loadDevices();
    if (scan) {
      scan = await tongban.scan(scan.id).catch(() => null);
      renderScan();
    }
    refreshOutbox();
  } catch (error) {
    showProblem(error);
  }
}

const shortcuts = {
  k: () => $('#case-number').focus(),
  s: () => $('#scan-form').requestSubmit(),
  f: () => !$('#scan-finish').disabled && $('#scan-finish').click(),
  c: () => $('#capture-form').requestSubmit(),
  p: () => $('#notice-print').click(),
  v: () => (lastRead ? $('#reveal-reason').focus() : null),
  l: () => {
    language = language === 'zh' ? 'en' : 'zh';
    localStorage.setItem('tongban.language', language);
    applyLanguage();
  },
};
document.addEventListener('keydown', (event) => {
  const action = event.altKey && !event.ctrlKey && !event.metaKey ? shortcuts[event.key.toLowerCase()] : null;
  if (!action) return;
  // Signed out, only the language switches: the panels behind the sign-in do nothing.
  if (!$('#signin').hidden && action !== shortcuts.l) return;
  event.preventDefault();
  action();
});
$('#language').addEventListener('click', shortcuts.l);
$('#signin-language').addEventListener('click', shortcuts.l);

// The case number and clerk are typed once per case and survive a reload of the page.
for (const id of ['case-number', 'operator']) {
  const input = $(`#${id}`);
  input.value = sessionStorage.getItem(`tongban.${id}`) ?? '';
  input.addEventListener('change', () => {
    sessionStorage.setItem(`tongban.${id}`, input.value.trim());
    renderCaptures();
    refreshOutbox();
  });
}

async function start() {
  applyLanguage();
  try {
    const health = await tongban.getHealth();
    $('#counter').textContent = `${t('counter')} ${health.counterId}`;
    $('#signin-demo').hidden = health.demo !== true;
    clerk = await tongban.session();
  } catch (error) {
    showProblem(error);
    return;
  }
  if (clerk) await enter(); else showSignIn();
}

start();
