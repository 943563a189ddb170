// Tongban console: a counter workstation on one page, built only on the SDK a case system uses.
// Plain ES module, no build step. Chinese first; Alt+L switches to English.
//
// A case runs as four steps side by side — 核验身份 → 收取材料 → 打印通知/回执 → 送达 — and everything captured goes
// to the case number in the header. 新办件 (Alt+N) clears every trace of the previous applicant. Devices show as a
// status strip; the devices table, the raw events and video assistance sit in a drawer.
// Every problem reaches the clerk as a sentence from the catalogue below (by the problem's code) with a remedy the
// clerk can carry out; the service's own title/detail/remedy stay behind 详情.
import { Tongban, TongbanError } from '/sdk/tongban.js';
import { showRemoteFeed } from '/console/assist.js';

const $ = (selector) => document.querySelector(selector);

/** Creates an element: `make('td', {className: 'x', textContent: 'y'}, child…)`. */
function make(tag, properties = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(properties)) {
    if (value === undefined) continue;
    if (name === 'dataset') Object.assign(element.dataset, value);
    else if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (name === 'aria') for (const [key, text] of Object.entries(value)) element.setAttribute(`aria-${key}`, text);
    else element[name] = value;
  }
  element.append(...children.filter((child) => child !== null && child !== undefined && child !== false));
  return element;
}

/** `{name}` placeholders filled from `values`. */
const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ''));

// ---- language ------------------------------------------------------------------------------------------------

const texts = {
  newCase: ['新办件', 'New case'], caseNumber: ['办件编号', 'Case number'], caseShort: ['办件', 'case'], operator: ['经办人', 'Clerk'],
  online: ['已连接', 'online'], offline: ['未连接', 'offline'], reconnecting: ['连接中断，正在重连', 'offline, reconnecting'],
  drawer: ['设备与事件', 'Devices & events'], close: ['关闭', 'Close'],
  devices: ['设备', 'Devices'], class: ['类别', 'Class'], model: ['型号', 'Model'], state: ['状态', 'State'], message: ['说明', 'Message'],
  simulated: ['模拟', 'simulated'], noDevice: ['未连接', 'not connected'],
  stepIdentity: ['核验身份', 'Identify'], stepMaterials: ['收取材料', 'Take the materials'], stepPrint: ['打印通知/回执', 'Print the notice'],
  stepDeliver: ['送达', 'Deliver'],
  idCard: ['证件', 'Card'], placeCard: ['请将证件放在阅读器上', 'Place the card on the reader'],
  reading: ['正在读卡…', 'Reading…'], cardRemoved: ['证件已取走，信息已遮蔽', 'Card removed; the record is masked'],
  cardRemovedPlain: ['证件已取走', 'Card removed'],
  readFrom: ['已读取（已遮蔽）', 'Read (masked)'], revealed: ['已显示完整信息（已记入审计日志）', 'Shown in full (written to the audit log)'],
  revealReason: ['查看完整信息的理由（记入审计日志）', 'Why you need the full record (audited)'],
  reveal: ['显示完整信息', 'Show in full'], mask: ['遮蔽', 'Mask'], demo: ['演示', 'Demo'],
  placeSimCard: ['放卡', 'Place card'], liftSimCard: ['取卡', 'Lift card'],
  reasonTitle: ['从身份证填入需要显示完整信息。请说明理由（记入审计日志）：', 'Filling in from the card shows the full record. Say why (written to the audit log):'],
  reasonPlaceholder: ['输入或选择理由', 'Type or pick a reason'], revealAndFill: ['显示并填入', 'Show and fill in'],
  scanning: ['扫描', 'Scanning'], material: ['材料名称', 'Material'], scanner: ['扫描仪', 'Scanner'],
  resolution: ['分辨率', 'Resolution'], colour: ['色彩', 'Colour'], colourColour: ['彩色', 'colour'],
  colourGrey: ['灰度', 'grey'], colourBW: ['黑白', 'black and white'], pages: ['页数上限', 'Pages at most'],
  duplex: ['双面', 'Both sides'], startScan: ['开始扫描', 'Scan'], scanMore: ['继续扫描', 'Scan more'],
  finishScan: ['完成并生成 PDF', 'Finish: make the PDF'], discardScan: ['放弃本批', 'Discard batch'],
  defaultScanMaterial: ['申请材料', 'Application documents'], scanningNow: ['扫描中…', 'Scanning…'],
  batch: ['扫描批次', 'Scan batch'], pagesUnit: ['页', 'p.'], otherCase: ['（不是当前办件）', '(not the current case)'],
  pagesReady: ['可调整顺序、旋转、删除或重扫，然后完成', 'reorder, turn, delete or rescan, then finish'],
  blank: ['空白', 'blank'], moveEarlier: ['◀ 前移', '◀ Earlier'], moveLater: ['后移 ▶', 'Later ▶'],
  rotate: ['↷ 旋转', '↷ Turn'], rescan: ['▤ 重扫', '▤ Rescan'], deletePage: ['✕ 删除', '✕ Delete'],
  scanAttached: ['已生成 {format} 附件：', '{format} attachment made: '],
  scanAttachedMany: ['分隔页把本批分成 {count} 份 {format} 材料：', 'Separator sheets split the batch into {count} {format} materials: '],
  separatorPage: ['分隔页 → 下一份：{name}', 'Separator → next: {name}'], unnamedMaterial: ['（未写名称）', '(no name)'],
  otherCasePage: ['⚠ 另一办件 {case}', '⚠ Another case {case}'],
  deletePageText: ['删除本批第 {position} 页？删除后不能恢复，可重扫。', 'Delete page {position} of this batch? It cannot be brought back; you can scan it again.'],
  deletePageYes: ['删除此页', 'Delete the page'], scanDiscarded: ['已放弃本批扫描', 'The batch was discarded'],
  otherBatches: ['另有 {count} 批未完成的扫描属于其他办件', '{count} unfinished scan batch(es) belong to other cases'], showBatch: ['显示', 'Show'],
  batchOpenText: ['还有一批扫描未完成（办件 {case}，{pages} 页，{material}）。开始新的扫描前怎样处理它？',
    'A scan batch is still open (case {case}, {pages} pages, {material}). What to do with it before scanning again?'],
  finishThenScan: ['完成并生成 PDF，再扫描', 'Finish it, then scan'], discardThenScan: ['放弃它，再扫描', 'Discard it, then scan'],
  finishOtherCase: ['这批扫描属于办件 {batch}，而页面顶部的办件编号是 {header}。仍然把它归入办件 {batch}？',
    'This batch belongs to case {batch}, but the header shows {header}. File it under case {batch} all the same?'],
  finishAnyway: ['归入办件 {batch}', 'File under {batch}'], noneTyped: ['（未填写）', '(none)'],
  discardText: ['放弃本批扫描（办件 {case}，{pages} 页）？已扫描的页面将被删除。', 'Discard this batch (case {case}, {pages} pages)? The scanned pages are deleted.'],
  discardYes: ['放弃本批', 'Discard'],
  newCaseText: ['上一办件还有一批扫描未完成（办件 {case}，{pages} 页，{material}）。开始新办件前怎样处理？',
    'The last case has an unfinished scan batch (case {case}, {pages} pages, {material}). What to do with it?'],
  finishIt: ['完成并生成 PDF', 'Finish: make the PDF'], discardIt: ['放弃本批', 'Discard it'], keepLater: ['留待以后', 'Keep for later'],
  camera: ['高拍仪', 'Document camera'], startPreview: ['打开预览', 'Start preview'], stopPreview: ['关闭预览', 'Stop preview'],
  previewOff: ['预览未打开', 'Preview is off'], scene: ['场景', 'Scene'], captureMode: ['拍摄', 'Capture'],
  modeDocument: ['文档（裁切矫正）', 'document (cropped, straightened)'], modePhoto: ['照片', 'photo'],
  modeFront: ['身份证人像面', 'ID card, photo side'], modeBack: ['身份证国徽面', 'ID card, emblem side'],
  autoCapture: ['放稳后自动拍摄', 'Capture when still'], capture: ['拍摄', 'Capture'],
  defaultCaptureMaterial: ['拍摄材料', 'Captured document'], capturing: ['拍摄中…', 'Capturing…'],
  keepAnyway: ['仍然保存', 'Keep anyway'], retake: ['重拍', 'Retake'], deliveredShort: ['已送达', 'delivered'],
  waitingStill: ['请放好材料并保持不动…', 'Lay the document down and hold still…'], captured: ['已拍摄：', 'Captured: '],
  makeCopy: ['生成身份证复印件', 'Make the ID-card copy'], defaultWatermark: ['仅供办理本业务使用，他用无效', 'For this application only; void for any other use'],
  copyMade: ['已生成身份证复印件：', 'ID-card copy made: '],
  caseMaterials: ['本案材料', 'This case\'s materials'], noMaterials: ['本案还没有材料', 'No materials for this case yet'],
  noCaseYet: ['填写办件编号后显示本案材料', 'Type the case number to see its materials'],
  view: ['查看', 'View'], delete: ['删除', 'Delete'], deleted: ['已删除「{name}」', 'Deleted “{name}”'], undo: ['撤销', 'Undo'],
  restored: ['已恢复「{name}」', 'Restored “{name}”'],
  deleteReasonTitle: ['删除「{name}」。请说明理由（记入审计日志）：', 'Deleting “{name}”. Say why (written to the audit log):'],
  deleteYes: ['删除', 'Delete'],
  printing: ['打印', 'Printing'], fillFromCard: ['从身份证填入', 'Fill from the card'], fillFromMaterials: ['从本案材料填入', 'Fill from this case\'s materials'],
  preview: ['预览', 'Preview'], print: ['打印', 'Print'], addRow: ['添加一行', 'Add a row'], removeRow: ['删除此行', 'Remove row'],
  cancel: ['取消', 'Cancel'], paper: ['纸张 A4', 'Paper A4'], printSubmitted: ['已提交打印：', 'Sent to the printer: '],
  filledFromCard: ['已从身份证填入申请人信息', 'Applicant filled in from the card'],
  filledMaterials: ['已填入本案 {count} 份材料', '{count} materials of this case filled in'],
  noPrinter: ['没有打印机', 'no printer'], fieldRequired: ['必填', 'required'], fieldUnknown: ['不是该表的字段', 'not a field of this form'],
  fieldInvalid: ['填写有误', 'not valid'], previewShown: ['预览已更新，点击图片放大', 'Preview updated; click it to enlarge'],
  kind: ['类型', 'Kind'], delivery: ['送达', 'Delivery'], retry: ['重试', 'Retry'], withdraw: ['撤回', 'Withdraw'],
  waiting: ['待发送', 'waiting'], failedCount: ['失败', 'failed'], sinkCore: ['送往办件系统', 'to the case system'],
  sinkArchive: ['存入本机归档', 'to the local archive'], oldest: ['最早一份', 'oldest'], deliveryFailedNote: ['发送未成功，系统会自动重试；可点「重试」立即再发。', 'Not delivered yet; it is retried by itself, or press Retry.'],
  events: ['事件', 'Events'],
  shortcuts: ['快捷键：Alt+N 新办件 · Alt+K 办件编号 · Alt+S 扫描 · Alt+F 完成扫描 · Alt+C 拍摄 · Alt+P 打印 · Alt+V 显示证件 · Alt+L 中文/English',
    'Shortcuts: Alt+N new case · Alt+K case number · Alt+S scan · Alt+F finish scan · Alt+C capture · Alt+P print · Alt+V show card · Alt+L 中文/English'],
  counter: ['柜台', 'Counter'], assist: ['视频协助', 'Video assistance'], office: ['部门', 'Office'],
  callOffice: ['呼叫', 'Call'], answer: ['接听', 'Answer'], decline: ['拒绝', 'Decline'], hangUp: ['挂断', 'Hang up'],
  answerInBrowser: ['在本浏览器接听…', 'Answer in this browser…'], assistOff: ['本窗口未启用视频协助', 'Video assistance is off on this counter'],
  onlineFor: ['在线接听：', 'Answering for: '], callingOffice: ['正在呼叫', 'Calling'], incoming: ['来电', 'Incoming call'],
  inCall: ['通话中', 'In a call with'], callEnded: ['通话结束', 'Call ended'], missedCall: ['未接通（已计入未接次数）', 'Not answered (counted as missed)'],
  declinedCall: ['对方拒绝', 'Declined'], missedThisMonth: ['本月未接：', 'Missed this month: '],
  signedInAs: ['柜员', 'Clerk'], signOut: ['退出', 'Sign out'], signInTitle: ['柜员登录', 'Clerk sign-in'], clerkId: ['柜员', 'Clerk'],
  signIn: ['登录', 'Sign in'], demoSignIn: ['演示模式：柜员 demo，PIN 000000', 'Demo mode: clerk demo, PIN 000000'],
  signInFailed: ['柜员号或 PIN 不正确', 'Clerk or PIN not recognised'], signInLocked: ['登录已暂时锁定', 'Sign-in is locked for now'],
  signInLockedFor: ['请 {seconds} 秒后再试，或请管理员重设 PIN。', 'Try again in {seconds} s, or ask the administrator to reset the PIN.'],
  signInNeeded: ['请先登录', 'Please sign in'],
  signInNeededRemedy: ['登录已过期或已退出，请重新登录后继续办理。', 'Your session has ended or you signed out: sign in again to go on.'],
  signedOut: ['已退出', 'Signed out'], details: ['详情', 'Details'], problemCode: ['代码', 'Code'],
};
const deleteReasonChoices = [['拍错了，重拍', 'Captured wrongly, taken again'], ['重复采集', 'Captured twice'],
  ['不属于本办件', 'Not this case\'s material'], ['申请人撤回该材料', 'The applicant withdrew it']];
const reasonChoices = [['填写通知书', 'Filling in the notice'], ['核对身份', 'Checking the identity'], ['核对申请表', 'Checking the application form'],
  ['申请人要求核对信息', 'The applicant asked to check the record']];
const classNames = { idcard: ['身份证阅读器', 'ID-card reader'], scanner: ['扫描仪', 'Scanner'], camera: ['高拍仪', 'Camera'], printer: ['打印机', 'Printer'] };
const availabilityNames = { available: ['可用', 'available'], busy: ['忙', 'busy'], unavailable: ['未连接', 'unavailable'], error: ['故障', 'error'],
  missing: ['未连接', 'not connected'] };
const deliveryNames = { pending: ['待发送', 'waiting'], uploading: ['发送中', 'sending'], delivered: ['已送达', 'delivered'],
  failed: ['发送失败', 'failed'], cancelled: ['已撤回', 'withdrawn'], retrying: ['稍后重试', 'will retry'] };
const printStateNames = { submitting: ['提交中', 'submitting'], queued: ['排队中', 'queued'], printing: ['打印中', 'printing'],
  blocked: ['受阻', 'held up'], completed: ['已打印', 'printed'], canceled: ['已取消', 'cancelled'], failed: ['失败', 'failed'] };
const kindNames = { scan: ['扫描件', 'scan'], photo: ['照片', 'photo'], idcard: ['证件', 'ID card'], notice: ['通知书', 'notice'],
  recording: ['录像', 'recording'], other: ['其他', 'other'] };
const fieldNames = [
  ['name', '姓名', 'Name'], ['nameEnglish', '英文名', 'English name'], ['sex', '性别', 'Sex'], ['ethnicity', '民族', 'Ethnicity'],
  ['birthDate', '出生', 'Born'], ['idNumber', '号码', 'Number'], ['passNumber', '通行证号', 'Pass number'],
  ['nationality', '国籍', 'Nationality'], ['address', '住址', 'Address'], ['additionalAddress', '新住址', 'New address'],
  ['issuingAuthority', '签发机关', 'Authority'], ['validFrom', '有效期起', 'Valid from'], ['validUntil', '有效期止', 'Valid until'],
];
const sexNames = { male: ['男', 'male'], female: ['女', 'female'], unknown: ['未知', 'unknown'], unstated: ['未说明', 'not stated'] };
const cardNames = { resident: ['居民身份证', 'Resident ID card'], hkMacaoTaiwan: ['港澳台居民居住证', 'HK/Macao/Taiwan residence permit'],
  foreigner2017: ['外国人永久居留身份证（2017）', 'Foreigner permanent residence card (2017)'],
  foreigner2023: ['外国人永久居留身份证（2023）', 'Foreigner permanent residence card (2023)'] };

let language = localStorage.getItem('tongban.language') === 'en' ? 'en' : 'zh';
const pick = (pair, fallback = '') => (pair ? pair[language === 'zh' ? 0 : 1] : fallback);
const t = (key) => pick(texts[key], key);

/**
 * The Chinese or the English half of one of the service's bilingual texts — `中文。English.`, `中文 English`,
 * `通知书数据有误 Notice data is not valid` — split after the last Chinese character; all of it when it has one
 * language only.
 */
function inLanguage(text) {
  const value = String(text ?? '').trim();
  const halves = /^(.*[\u3000-\u303f\u3400-\u9fff\uff00-\uffef])\s*([A-Za-z0-9(“"'].*)$/s.exec(value);
  if (!halves || !/[A-Za-z]{2}/.test(halves[2])) return value;
  return (language === 'zh' ? halves[1] : halves[2]).trim();
}

/** A time in China time (Asia/Shanghai) whatever the PC's zone: `14:05` today, `12-05 14:05` another day. */
function chinaTime(iso, { seconds = false } = {}) {
  const date = new Date(iso);
  if (!iso || Number.isNaN(date.getTime())) return '';
  const zone = { timeZone: 'Asia/Shanghai' };
  const day = (value) => new Intl.DateTimeFormat('en-CA', { ...zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(value);
  const time = new Intl.DateTimeFormat('zh-CN', { ...zone, hour: '2-digit', minute: '2-digit', second: seconds ? '2-digit' : undefined, hour12: false }).format(date);
  return day(date) === day(new Date()) ? time : `${day(date).slice(5)} ${time}`;
}

// ---- problems in a clerk's words ------------------------------------------------------------------------------
// Keyed by the problem's `code`: [Chinese sentence, English sentence, Chinese remedy, English remedy]. The remedy is
// something the clerk can do; what only an administrator can do is 请联系技术支持.

const SUPPORT = ['仍不行请联系技术支持。', 'If that does not help, call technical support.'];
const catalogue = {
  'console-error': ['操作未能完成', 'That did not work', '请重试；', 'Try again. '],
  'internal-error': ['通办服务出错，操作未能完成', 'Tongban had a problem and did not finish', '请重试；', 'Try again. '],
  'service-unreachable': ['连接不上本机的通办服务', 'Tongban on this PC does not answer', '请稍等片刻再试；', 'Wait a moment and try again. '],
  'event-timeout': ['设备没有及时回应', 'The device did not answer in time', '请重试；', 'Try again. '],
  'not-signed-in': ['请重新登录', 'Please sign in again', '登录已过期或已退出，请重新登录后继续办理。', 'Your session ended: sign in again to go on.'],
  'sign-in-elsewhere': ['该柜员已在别处登录', 'This clerk signed in elsewhere', '请重新登录。', 'Sign in again.'],
  'idempotency-key-in-use': ['上一次操作还在进行', 'The last action is still running', '请稍等几秒再看结果。', 'Wait a few seconds for its result.'],
  'idempotency-outcome-unknown': ['不确定上一次操作是否已完成', 'It is not known whether the last action finished',
    '请先查看本案材料和打印记录，确认没有完成再重做。', 'Check this case\'s materials and print jobs before doing it again.'],
  // the console's own
  'no-case-number': ['请先填写办件编号', 'Enter the case number first', '在页面顶部填写办件编号（Alt+K），之后采集的材料都归入该办件。',
    'Type the case number at the top (Alt+K); everything captured goes to that case.'],
  'no-card-read': ['尚未读取身份证', 'No card has been read', '请将证件放在阅读器上。', 'Place the card on the reader.'],
  'material-required': ['请填写材料名称', 'Give the material a name', '在「材料名称」中写明是什么材料，例如 营业执照。',
    'Type what the document is in Material, e.g. business licence.'],
  'scan-batch-scanning': ['扫描仪正在扫描本批', 'The scanner is still scanning this batch', '请等本批扫描结束后再操作。', 'Wait until the batch has been scanned.'],
  'no-scan-batch': ['没有正在处理的扫描批次', 'There is no scan batch open', '请先点「开始扫描」。', 'Press Scan first.'],
  'no-materials': ['本案还没有可填入的材料', 'This case has no materials to fill in', '先扫描或拍摄材料，或直接在表中填写。',
    'Scan or capture the materials first, or type them into the list.'],
  'no-template': ['请先选择要打印的通知书', 'Choose the form to print first', '在上方的列表中选择通知书。', 'Pick the form in the list above.'],
  'document-not-found': ['画面中找不到材料', 'No document in view', '把材料整个放在高拍仪下的深色台面上，再拍一次。',
    'Lay the document wholly in view on the dark mat and capture again.'],
  'idcard-not-found': ['画面中找不到证件', 'No ID card in view', '只放一张证件，整个放在高拍仪下的深色台面上，再拍一次。',
    'Lay only the card, wholly in view on the dark mat, and capture again.'],
  'idcard-not-a-card': ['这不是证件，是一张纸', 'This is a page, not an ID card', '拍纸质材料请选「文档」；拍证件时台面上只放证件。',
    'Capture a page as a document; for a card side lay only the card.'],
  'document-out-of-frame': ['材料有一部分在画面外', 'Part of it is out of view', '把材料整个移入画面后重拍；确需保存请点「仍然保存」。',
    'Move it wholly into view and capture again, or press Keep anyway.'],
  'capture-needs-retake': ['这张拍得不够清楚', 'This capture is not clear enough', '请重拍；确需保存请点「仍然保存」。',
    'Capture it again, or press Keep anyway.'],
  'reason-required': ['请写明理由', 'Give a reason', '用一句话写明理由，例如 拍错了。', 'Say why in one sentence, e.g. wrong page.'],
  'preview-ended': ['高拍仪预览中断了', 'The camera preview stopped', '请检查高拍仪的连线，然后重新打开预览；', 'Check the camera\'s cable, then start the preview again. '],
  'no-camera': ['没有可用的高拍仪', 'No document camera is available', '请检查高拍仪的电源和连线；', 'Check the camera\'s power and cable. '],
  // identity
  'no-card': ['阅读器上没有证件', 'No card on the reader', '请将证件平放在阅读器上。', 'Lay the card flat on the reader.'],
  'no-reader': ['身份证阅读器未连接', 'The ID-card reader is not connected', '请检查阅读器的连线；', 'Check the reader\'s cable. '],
  'reader-unavailable': ['身份证阅读器暂时不能使用', 'The ID-card reader cannot be used now', '请检查阅读器的连线；', 'Check the reader\'s cable. '],
  'reader-sam-failed': ['身份证阅读器的安全模块故障', 'The reader\'s security module failed', '请拔插阅读器后重试；', 'Unplug and replug the reader, then try again. '],
  'card-unrecognised': ['无法识别这张证件', 'This card is not recognised', '请将证件重新放好；仍无法识别，请核对证件是否有效。',
    'Lay the card down again; if it is still not recognised, check that it is a valid card.'],
  'read-incomplete': ['读卡没有完成', 'Reading the card did not finish', '请将证件放稳，不要移动，重新读取。', 'Hold the card still on the reader and read it again.'],
  'read-not-stored': ['读卡结果未能保存', 'The card\'s record could not be kept', '请重新读卡；', 'Read the card again. '],
  'record-not-found': ['这次读卡的记录已失效', 'That card record is no longer available', '请重新读取证件。', 'Read the card again.'],
  'delete-reason-required': ['请填写删除的理由', 'Give a reason for deleting', '输入或选择一个理由，例如 拍错了，重拍。',
    'Type or pick a reason, e.g. captured wrongly.'],
  'reveal-reason-required': ['请填写查看完整信息的理由', 'Give a reason for showing the full record', '输入或选择一个理由，例如 填写通知书。',
    'Type or pick a reason, e.g. Filling in the notice.'],
  'reveal-reason-invalid': ['查看完整信息的理由不合要求', 'That reason is not accepted', '请写明具体理由，例如 填写通知书、核对身份。',
    'Write a real reason, e.g. Filling in the notice, Checking the identity.'],
  // scanning
  'scanner-busy': ['扫描仪正忙', 'The scanner is busy', '请等当前扫描结束后再试。', 'Wait for the current scan to end, then try again.'],
  'scanner-jammed': ['扫描仪卡纸了', 'Paper jammed in the scanner', '打开进纸器取出卡住的纸张（已扫描的页面都保留着），再点「继续扫描」。',
    'Open the feeder and take out the jammed sheet (pages already scanned are kept), then press Scan more.'],
  'scanner-feeder-empty': ['进纸器里没有材料', 'The feeder is empty', '把材料放入进纸器后重试。', 'Put the documents in the feeder and try again.'],
  'scanner-cover-open': ['扫描仪盖板没有合上', 'The scanner cover is open', '合上扫描仪盖板后重试。', 'Close the scanner cover and try again.'],
  'scanner-stalled': ['扫描仪停止了响应', 'The scanner stopped responding', '请检查扫描仪的电源和连线，再点「继续扫描」；', 'Check the scanner\'s power and cable, then press Scan more. '],
  'scanner-option-invalid': ['扫描仪不支持所选的设置', 'The scanner does not support that setting', '请换一个分辨率或色彩后重试。', 'Choose another resolution or colour and try again.'],
  'invalid-scan-request': ['扫描设置有误', 'The scan settings are not valid', '请检查材料名称、页数上限后重试。', 'Check the material name and page limit, then try again.'],
  'scanner-error': ['扫描仪出错了', 'The scanner failed', '请检查扫描仪的电源和连线后重试；', 'Check the scanner\'s power and cable, then try again. '],
  'no-scanner': ['没有可用的扫描仪', 'No scanner is available', '请检查扫描仪的电源和连线；', 'Check the scanner\'s power and cable. '],
  'scan-cancelled': ['扫描已取消', 'The scan was cancelled', '需要时再点「继续扫描」。', 'Press Scan more if you need more pages.'],
  'scan-has-no-pages': ['本批还没有页面', 'The batch has no pages', '请先扫描页面，或放弃本批。', 'Scan the pages first, or discard the batch.'],
  'scan-not-found': ['这批扫描已不存在', 'This scan batch no longer exists', '请重新开始扫描。', 'Start the scan again.'],
  'scan-state': ['这批扫描现在不能这样处理', 'The batch cannot do that now', '请等扫描结束后再操作。', 'Wait for the scan to end, then try again.'],
  'scan-page-failed': ['有一页没有处理好', 'A page could not be processed', '请重扫该页。', 'Rescan that page.'],
  'page-not-found': ['该页已不存在', 'That page no longer exists', '请看批次中现有的页面。', 'Look at the pages the batch has now.'],
  'invalid-page-order': ['页面顺序没有调整成功', 'The pages could not be reordered', '请再试一次。', 'Try again.'],
  'invalid-rotation': ['页面没有旋转成功', 'The page could not be turned', '请再试一次。', 'Try again.'],
  // camera
  'camera-not-found': ['高拍仪未连接', 'The document camera is not connected', '请检查高拍仪的连线；', 'Check the camera\'s cable. '],
  'camera-failed': ['高拍仪拍摄失败', 'The camera could not take the picture', '请检查高拍仪的连线后重拍；', 'Check the camera\'s cable and capture again. '],
  'camera-scene-not-still': ['材料没有放稳', 'The document did not hold still', '请把材料放平，手离开后重拍。', 'Lay the document flat, take your hands away, and capture again.'],
  'invalid-camera-request': ['拍摄设置有误', 'The capture settings are not valid', '请检查拍摄方式和材料名称后重试。', 'Check the capture mode and material name, then try again.'],
  'idcard-side-not-found': ['画面中没有找到证件', 'No card was found in the picture', '请把证件放在高拍仪下方中央后重拍。', 'Put the card in the middle under the camera and capture again.'],
  'idcard-copy-failed': ['身份证复印件没有生成', 'The ID-card copy could not be made', '请重新拍摄证件两面后再试。', 'Capture both sides of the card again, then retry.'],
  // printing
  'no-printer': ['没有可用的打印机', 'No printer is available', '请检查打印机的电源和连线；', 'Check the printer\'s power and cable. '],
  'printer-unreachable': ['打印机连接不上', 'The printer cannot be reached', '请检查打印机的电源和连线，恢复后打印会自动继续；', 'Check the printer\'s power and cable; printing goes on once it is back. '],
  'printer-jam': ['打印机卡纸了', 'Paper jammed in the printer', '打开打印机取出卡纸，核对打印件，缺页请重新打印。', 'Open the printer, take out the jammed paper, check the printout and print again if pages are missing.'],
  'printer-tray-empty': ['打印机纸盒没有纸', 'The printer is out of paper', '在纸盒中放入 A4 纸，打印会自动继续。', 'Load A4 paper into the tray; printing goes on by itself.'],
  'printer-door-open': ['打印机盖门没有关好', 'The printer door is open', '关好打印机的盖门，打印会自动继续。', 'Close the printer\'s door; printing goes on by itself.'],
  'printer-toner-empty': ['打印机墨粉用完了', 'The printer is out of toner', '请更换墨粉盒；不会更换请联系技术支持。',
    'Replace the toner cartridge; if you cannot, call technical support.'],
  'printer-queue-stopped': ['打印机已暂停接收任务', 'The printer has been paused', '请联系技术支持恢复打印机。', 'Call technical support to resume the printer.'],
  'print-failed': ['打印没有完成', 'The printout did not finish', '请核对打印件，必要时重新打印；', 'Check the printout and print again if needed. '],
  'print-already-ended': ['这个打印任务已经结束', 'That print job has already ended', '无需再取消。', 'There is nothing to cancel.'],
  'print-options-unsupported': ['打印机不支持所选设置', 'The printer does not support that setting', '请换一台打印机；', 'Choose another printer. '],
  'notice-data-invalid': ['通知书有几项需要补全或更正', 'Some fields of the notice need completing or correcting', '请按标红的各项补全或更正后重试。',
    'Complete or correct the fields marked in red and try again.'],
  'notice-template-unknown': ['没有这种通知书', 'There is no such form', '请在列表中重新选择通知书。', 'Choose the form in the list again.'],
  'notice-render-failed': ['通知书没有生成', 'The notice could not be made', '请重试；', 'Try again. '],
  'receipt-invalid': ['回执内容有误', 'The receipt is not valid', '请检查回执各项后重试。', 'Check the receipt and try again.'],
  'no-receipt-printer': ['没有回执打印机', 'No receipt printer is set up', '请联系技术支持。', 'Call technical support.'],
  // attachments and delivery
  'attachment-delivered': ['这份材料已送达办件系统，不能在这里删除', 'This material has already reached the case system; it cannot be deleted here',
    '如需更正，请在办件系统中处理。', 'Correct it in the case system.'],
  'attachment-not-found': ['这份材料已不存在', 'This material no longer exists', '请看本案现有的材料。', 'Look at the case\'s materials as they are now.'],
  'attachment-too-large': ['文件太大', 'The file is too large', '请分成几份扫描或拍摄。', 'Scan or capture it in several parts.'],
  'outbox-entry-not-found': ['这份材料没有待发送的记录', 'This material is not waiting to be sent', '请看送达栏中现有的状态。', 'Look at the delivery column as it is now.'],
  'upload-interrupted': ['上传中断了', 'The upload was interrupted', '请重试。', 'Try again.'],
  'disk-full': ['本机磁盘已满', 'This PC\'s disk is full', '请立即联系技术支持，已采集的材料不要丢弃。', 'Call technical support now; do not discard what was captured.'],
  'storage-error': ['本机存储出错', 'Storage on this PC failed', '请联系技术支持，已采集的材料不要丢弃。', 'Call technical support; do not discard what was captured.'],
  // video assistance
  'office-offline': ['该部门现在没有人在线接听', 'Nobody of that office is online', '请稍后再呼叫，或电话联系该部门。', 'Call again later, or phone the office.'],
  'assist-unanswered': ['对方没有接听', 'The call was not answered', '请稍后再呼叫。', 'Call again later.'],
  'assist-busy': ['正在通话中', 'A call is already going on', '请先挂断当前通话。', 'Hang up the current call first.'],
  'assist-off': ['本柜台未启用视频协助', 'Video assistance is off on this counter', '需要时请联系技术支持开通。', 'Ask technical support to turn it on.'],
  'assist-failed': ['视频协助没有接通', 'The video call did not connect', '请重新呼叫；', 'Call again. '],
  'janus-unreachable': ['视频服务连接不上', 'The video service does not answer', '请稍后重试；', 'Try again later. '],
};
// What made a capture doubtful (the problem's `warnings`).
const captureDoubts = {
  blur: ['画面模糊（请放稳、等待对焦）', 'it is blurred (hold it still, let the camera focus)'],
  glare: ['有反光（请调整角度或关掉台灯）', 'a reflection burns out part of it (tilt it or dim the lamp)'],
  'low-resolution': ['分辨率不足（请把材料移近镜头）', 'too few pixels (bring it closer to the camera)'],
  'out-of-frame': ['有一部分在画面外', 'part of it is out of view'],
};
// Codes that say the same thing as another.
const sameAs = {
  'credential-required': 'not-signed-in', 'credential-invalid': 'not-signed-in', 'assertion-invalid': 'not-signed-in',
  'scanner-access-denied': 'scanner-error', 'scanner-io-error': 'scanner-error',
  'scanner-out-of-memory': 'scanner-error', 'scanning-unavailable': 'no-scanner', 'camera-encode-failed': 'camera-failed',
  'camera-frame-undecodable': 'camera-failed', 'cameras-unavailable': 'camera-not-found', 'printer-not-found': 'no-printer',
  'printing-unavailable': 'no-printer', 'cups-unreachable': 'printer-unreachable', 'cups-error': 'printer-unreachable',
  'print-aborted': 'print-failed', 'print-interrupted': 'print-failed', 'print-options-invalid': 'print-options-unsupported',
  'print-document-invalid': 'notice-render-failed', 'notice-barcode-failed': 'notice-render-failed', 'receipt-encoding': 'receipt-invalid',
  'receipt-printer-address': 'no-receipt-printer', 'receipt-printer-unreachable': 'printer-unreachable', 'body-too-large': 'attachment-too-large',
  'store-error': 'storage-error', 'store-failed': 'storage-error', 'no-store': 'storage-error', 'data-dir-not-writable': 'storage-error',
  'assist-devices-failed': 'assist-failed', 'assist-interrupted': 'assist-failed', 'assist-not-set-up': 'assist-off',
  'assist-not-found': 'assist-failed', 'assist-not-ringing': 'assist-failed', 'service-failed': 'internal-error',
  'device-not-found': 'console-error', 'scan-page-missing': 'page-not-found',
};
// Codes of one family not listed: the family's general sentence.
const families = [[/^scan(ner)?-/, 'scanner-error'], [/^printer-|^print-/, 'print-failed'], [/^camera-/, 'camera-failed'],
  [/^assist-/, 'assist-failed'], [/^(reader|idcard|card)-/, 'reader-unavailable'], [/^notice-/, 'notice-render-failed']];

/** The SDK's error for anything thrown: a TongbanError as it is, a problem object made one, anything else `console-error`. */
function problemOf(error) {
  if (error instanceof TongbanError) return error;
  if (error && typeof error === 'object' && typeof error.code === 'string') {
    const problem = new TongbanError({ status: 0, title: error.code, detail: '', ...error });
    if (error.invalidParams) problem.invalidParams = error.invalidParams;
    return problem;
  }
  return new TongbanError({ code: 'console-error', status: 0, title: 'console', detail: String(error?.message ?? error ?? ''), remedy: '' });
}

/** The catalogue's [sentence, remedy] for a problem, in the console's language. */
function clerkWords(problem) {
  const code = sameAs[problem.code] ?? problem.code;
  let entry = catalogue[code];
  if (!entry) {
    const family = families.find(([pattern]) => pattern.test(code));
    entry = catalogue[family ? family[1] : problem.status >= 500 ? 'internal-error' : 'console-error'];
  }
  const zh = language === 'zh';
  let remedy = zh ? entry[2] : entry[3];
  // A remedy ending in 「；」 or a space goes on: what the clerk does when that does not help.
  if (/[；]$|\s$/.test(remedy)) remedy = `${remedy}${pick(SUPPORT)}`;
  return [zh ? entry[0] : entry[1], remedy];
}

/** A `<details class="detail">` with the service's own words (in the console's language) and the code. */
function detailsOf(problem) {
  const lines = [inLanguage(problem.title), problem.detail, inLanguage(problem.remedy), problem.device, `${t('problemCode')}: ${problem.code}`]
    .filter((line) => line && line !== problem.code);
  return make('details', { className: 'detail' }, make('summary', { textContent: t('details') }),
    ...[...new Set(lines)].map((line) => make('div', { textContent: line })));
}

// ---- messages: each belongs to one control --------------------------------------------------------------------
// A message element shows either a problem (class problem, data-code) or a status (a success, progress). A success
// of the same control clears its problem; progress never overwrites a problem. Messages are drawn again on a change
// of language from what they hold (`messageOf`).

const messageOf = new Map(); // element → {problem} | {text: () => string, kind}

function drawMessage(target) {
  const held = messageOf.get(target);
  target.classList.add('message');
  target.classList.remove('problem', 'success');
  delete target.dataset.code;
  if (!held) {
    target.replaceChildren();
    if (target.id === 'notice') target.hidden = true;
    return;
  }
  target.hidden = false;
  if (held.problem) {
    paintProblem(target, held.problem);
  } else {
    if (held.kind === 'success') target.classList.add('success');
    target.textContent = held.text();
  }
}

/** Draws `problem` in `target`: the clerk's sentence, the remedy, the service's words behind 详情. */
function paintProblem(target, problem) {
  const [sentence, remedy] = clerkWords(problem);
  target.classList.add('message', 'problem');
  target.dataset.code = problem.code;
  target.replaceChildren(make('strong', { textContent: sentence }), remedy ? make('div', { className: 'remedy', textContent: remedy }) : null,
    detailsOf(problem));
  return target;
}

/** Shows a problem at `target` (the page's #notice when it belongs to no control). */
function say(target, error) {
  const problem = problemOf(error);
  if (problem.code === 'console-error') console.warn('tongban console:', error);
  messageOf.set(target, { problem });
  drawMessage(target);
}
/** A status at `target` that replaces whatever it showed (a success clears the control's problem). */
function sayOk(target, text, kind = 'success') {
  messageOf.set(target, { text: typeof text === 'function' ? text : () => text, kind });
  drawMessage(target);
}
/** Progress at `target`: never over a problem. */
function sayProgress(target, text) {
  if (messageOf.get(target)?.problem) return;
  sayOk(target, text, 'progress');
}
function clearMessage(target) {
  messageOf.delete(target);
  drawMessage(target);
}
const hasProblem = (target) => Boolean(messageOf.get(target)?.problem);

const consoleProblem = (code, extra = {}) => new TongbanError({ code, status: 0, title: code, detail: '', remedy: '', ...extra });

/** Thrown to end an action the clerk called off in a dialog: nothing to report. */
const CALLED_OFF = Symbol('called off');

/**
 * Runs a clerk's action from `button`: not while the button cannot act or already works, with the button busy; any
 * problem goes to `target` in the clerk's words. The controls are set again afterwards.
 */
async function act(button, target, action) {
  if (!button || button.disabled || button.classList.contains('working')) return undefined;
  button.disabled = true;
  button.classList.add('working');
  try {
    return await action();
  } catch (error) {
    if (error !== CALLED_OFF) say(target, error);
    return undefined;
  } finally {
    button.classList.remove('working');
    button.disabled = false;
    refreshControls();
  }
}

// The last guard: nothing the page did not foresee reaches the clerk as a raw JavaScript message.
window.addEventListener('error', (event) => { say($('#notice'), event.error ?? event.message); });
window.addEventListener('unhandledrejection', (event) => {
  event.preventDefault();
  if (event.reason !== CALLED_OFF) say($('#notice'), event.reason);
});

// ---- dialogs ---------------------------------------------------------------------------------------------------

let dialogDone = null; // resolves the open confirm dialog

/**
 * Asks in the page's own dialog; resolves with 'yes', 'other', 'later' or 'no' (Escape, 取消). `other` and `later`
 * are further choices, shown when given.
 */
function confirmDialog({ text, yes, no = t('cancel'), other, later }) {
  dialogDone?.('no');
  const dialog = $('#confirm');
  $('#confirm-text').textContent = text;
  $('#confirm-yes').textContent = yes;
  $('#confirm-no').textContent = no;
  for (const [id, label] of [['#confirm-other', other], ['#confirm-later', later]]) {
    $(id).hidden = !label;
    $(id).textContent = label ?? '';
  }
  const opener = document.activeElement;
  dialog.hidden = false;
  $('#confirm-no').focus();
  return new Promise((resolve) => {
    dialogDone = (answer) => {
      dialogDone = null;
      dialog.hidden = true;
      $('#confirm-text').textContent = '';
      if (opener?.isConnected) opener.focus?.();
      resolve(answer);
    };
  });
}
$('#confirm-yes').addEventListener('click', () => dialogDone?.('yes'));
$('#confirm-other').addEventListener('click', () => dialogDone?.('other'));
$('#confirm-later').addEventListener('click', () => dialogDone?.('later'));
$('#confirm-no').addEventListener('click', () => dialogDone?.('no'));

let reasonDone = null;
/** What the reason dialog asks (the reveal's, or a deletion's): its title, picks, button and empty-answer problem,
 *  as functions of the language, so a language switch while it is open keeps asking the same thing. */
let reasonShown = { title: () => t('reasonTitle'), choices: reasonChoices, ok: () => t('revealAndFill'), missing: 'reveal-reason-required' };

/** Writes the reason dialog's texts in the current language: title, button, picks and the input's suggestions. */
function showReasonTexts() {
  const { title, choices, ok } = reasonShown;
  $('#reason-title').textContent = title();
  $('#reason-ok').textContent = ok();
  $('#reason-picks').replaceChildren(...choices.map((choice) => make('button', { type: 'button', textContent: pick(choice),
    onclick: () => { $('#reason-input').value = pick(choice); markField($('#reason-input'), null); clearMessage($('#reason-message')); $('#reason-input').focus(); } })));
  $('#reason-choices').replaceChildren(...choices.map((choice) => make('option', { value: pick(choice) })));
}

/** Asks the clerk why (the full record is needed, by default; or why a material is deleted): typed or picked,
 *  never prefilled, written to the audit log; resolves null when called off. */
function reasonDialog({ title = () => t('reasonTitle'), choices = reasonChoices, ok = () => t('revealAndFill'), missing = 'reveal-reason-required' } = {}) {
  reasonDone?.(null);
  reasonShown = { title, choices, ok, missing };
  $('#reason-input').value = '';
  markField($('#reason-input'), null);
  clearMessage($('#reason-message'));
  showReasonTexts();
  $('#reason-dialog').hidden = false;
  $('#reason-input').focus();
  return new Promise((resolve) => {
    reasonDone = (reason) => {
      reasonDone = null;
      $('#reason-dialog').hidden = true;
      $('#reason-input').value = '';
      resolve(reason);
    };
  });
}
$('#reason-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const reason = $('#reason-input').value.trim();
  if (!reason) {
    markField($('#reason-input'), t('fieldRequired'));
    say($('#reason-message'), consoleProblem(reasonShown.missing));
    $('#reason-input').focus();
    return;
  }
  reasonDone?.(reason);
});
$('#reason-cancel').addEventListener('click', () => reasonDone?.(null));
$('#reason-input').addEventListener('input', () => { markField($('#reason-input'), null); clearMessage($('#reason-message')); });

/** Marks `input` invalid with `reason` beside it (class invalid, aria-invalid, a .field-error), or clears it (null). */
function markField(input, reason) {
  const next = input.nextElementSibling;
  if (next?.classList.contains('field-error')) next.remove();
  if (reason === null) {
    input.classList.remove('invalid');
    input.removeAttribute('aria-invalid');
    return;
  }
  input.classList.add('invalid');
  input.setAttribute('aria-invalid', 'true');
  input.after(make('span', { className: 'field-error', textContent: reason }));
}

const modalOpen = () => !$('#confirm').hidden || !$('#reason-dialog').hidden || !$('#viewer').hidden;

// ---- the case ---------------------------------------------------------------------------------------------------

let currentCase = ''; // the case number the page works for (the header's, once committed)
const caseNumber = () => $('#case-number').value.trim();

function requireCase() {
  const value = caseNumber();
  if (!value) {
    $('#case-number').focus();
    throw consoleProblem('no-case-number');
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

/** The sign-in's message: the service's answer in words, in the console's language. */
function renderSignInMessage() {
  const target = $('#signin-message');
  const note = signInNote;
  if (!note) return clearMessage(target);
  if (note === 'signedOut') return sayOk(target, () => t('signedOut'), 'progress');
  let headline;
  let remedy;
  if (note.code === 'sign-in-failed') {
    [headline, remedy] = [t('signInFailed'), inLanguage(note.remedy)];
  } else if (note.code === 'sign-in-locked') {
    headline = t('signInLocked');
    remedy = note.retryAfter !== undefined ? fill(t('signInLockedFor'), { seconds: note.retryAfter }) : inLanguage(note.remedy);
  } else if (note.needsCredential) {
    [headline, remedy] = [t('signInNeeded'), t('signInNeededRemedy')];
  } else {
    return say(target, note); // not about the clerk: the service is unreachable, …
  }
  messageOf.delete(target);
  target.classList.add('message', 'problem');
  target.replaceChildren(make('strong', { textContent: headline }), remedy ? make('div', { className: 'remedy', textContent: remedy }) : null);
  target.dataset.code = note.code;
  return undefined;
}

/** Shows the sign-in (with `note`); what the last clerk revealed is masked again, dialogs close, the preview stops. */
function showSignIn(note = null) {
  clerk = null;
  clearTimeout(expiryTimer);
  showClerk();
  signInNote = note;
  renderSignInMessage();
  maskRecord();
  dialogDone?.('no');
  reasonDone?.(null);
  closeViewer();
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
      await loadOpenBatches({ pickUp: true });
      entered = true;
    } else {
      // Pictures shown before carry the previous session key in their URLs: made anew with this one.
      renderScan();
    }
    renderForm();
    refreshCase();
    refreshControls();
    document.body.dataset.ready = 'true';
  } catch (error) {
    if (problemOf(error).needsCredential) showSignIn(error); else say($('#notice'), error);
  }
}

// Any call refused for want of a credential — from any panel — brings the sign-in back.
tongban.on('credential', (event) => showSignIn(event.data.error));

$('#signin-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const button = $('#signin-submit');
  const id = $('#signin-clerk').value.trim();
  if (button.disabled) return;
  button.disabled = true;
  button.classList.add('working');
  try {
    clerk = await tongban.signIn(id, $('#signin-pin').value);
  } catch (error) {
    signInNote = problemOf(error);
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

$('#signout').addEventListener('click', (event) => act(event.currentTarget, $('#notice'), async () => {
  // The SDK forgets the session key (here and in sessionStorage) even when the service could not be told: this
  // page is signed out either way, and the sign-in says what went wrong, if anything.
  let failure = null;
  try {
    await tongban.signOut();
  } catch (error) {
    if (!problemOf(error).needsCredential) failure = problemOf(error); // needsCredential: already signed out
  }
  tongban.close();
  forgetOperator();
  sessionStorage.removeItem('tongban.signedInClerk');
  showSignIn(failure ?? 'signedOut');
}));

// ---- devices: the status strip and the drawer ----------------------------------------------------------------

const devices = new Map();
let printerList = [];
const severity = { error: 4, unavailable: 3, missing: 3, busy: 2, available: 1 };

function isSimulated(device) {
  return device.details?.simulated === 'true' || device.transport === 'simulator' || /^test(:|$)/.test(device.details?.saneName ?? '')
    || printerList.some((printer) => printer.simulated === true && (printer.id === device.id || `cups:${printer.name}` === device.id));
}
const deviceLabel = (device) => `${inLanguage(device.model)}${isSimulated(device) ? ` · ${t('simulated')}` : ''}`;

function renderDevices() {
  const all = [...devices.values()];
  $('#chips').replaceChildren(...['idcard', 'scanner', 'camera', 'printer'].map((kind) => {
    const ofClass = all.filter((device) => device.class === kind);
    const worst = ofClass.reduce((found, device) => (!found || severity[device.state.availability] > severity[found.state.availability] ? device : found), null);
    const state = worst?.state.availability ?? 'missing';
    const simulated = ofClass.some(isSimulated);
    const problem = worst && state !== 'available' ? inLanguage(worst.state.message ?? '') : '';
    return make('span', { className: 'device-chip', dataset: { class: kind, state }, title: ofClass.map(deviceLabel).join('\n') || t('noDevice') },
      `${pick(classNames[kind])} · ${pick(availabilityNames[state], state)}`, simulated ? make('span', { className: 'sim', textContent: t('simulated') }) : null,
      problem ? ` · ${problem}` : null);
  }));
  $('#devices tbody').replaceChildren(...all.map((device) => make('tr', { dataset: { id: device.id } },
    make('td', { textContent: pick(classNames[device.class], device.class) }),
    make('td', { textContent: deviceLabel(device) }),
    make('td', {}, make('span', { className: `state ${device.state.availability}`,
      textContent: pick(availabilityNames[device.state.availability], device.state.availability) })),
    make('td', { textContent: inLanguage(device.state.message ?? '') },
      device.state.remedy ? make('div', { className: 'hint', textContent: inLanguage(device.state.remedy) }) : null))));
  fillSelect($('#scan-device'), all.filter((device) => device.class === 'scanner'));
  const cameraBefore = $('#camera-select').value;
  fillSelect($('#camera-select'), all.filter((device) => device.class === 'camera'));
  if ($('#camera-select').value !== cameraBefore) loadCameraControls();
  $('#idcard-sim').hidden = !all.some((device) => device.class === 'idcard' && isSimulated(device) && device.id.startsWith('sim:'));
  refreshControls();
}

function fillSelect(select, choices) {
  const chosen = select.value;
  select.replaceChildren(...choices.map((device) => make('option', { value: device.id, textContent: deviceLabel(device) })));
  if (choices.some((device) => device.id === chosen)) select.value = chosen;
}

async function loadDevices() {
  const snapshot = await tongban.devices();
  devices.clear();
  for (const device of snapshot.devices) devices.set(device.id, device);
  $('#discovery-problems').replaceChildren(...snapshot.problems.map((problem) =>
    make('li', { textContent: `${inLanguage(problem.message)} — ${inLanguage(problem.remedy)}` })));
  renderDevices();
}

tongban.on('device.*', (event) => {
  if (event.type === 'device.removed') devices.delete(event.data.id); else devices.set(event.data.id, event.data);
  renderDevices();
});

function toggleDrawer(open = $('#drawer').hidden) {
  // Below the header and the status strip: the toggle stays where it was, to close it again.
  $('#drawer').style.top = `${Math.round($('#status-strip').getBoundingClientRect().bottom)}px`;
  $('#drawer').hidden = !open;
  $('#drawer-toggle').setAttribute('aria-expanded', String(open));
}
$('#drawer-toggle').addEventListener('click', () => toggleDrawer());
$('#drawer-close').addEventListener('click', () => toggleDrawer(false));

// ---- ① identity ------------------------------------------------------------------------------------------------

let lastRead = null; // {recordId, device, record, masked, revealed}

function cardValue(key, value) {
  if (key === 'sex') return pick(sexNames[value], value);
  if (key === 'validUntil' && value === 'long-term') return language === 'zh' ? '长期' : 'long-term';
  if (key === 'nationality' && value === 'CHN') return language === 'zh' ? '中国' : 'China';
  return String(value);
}

function renderRecord() {
  const photo = $('#idcard-photo');
  if (!lastRead) {
    $('#idcard-record').replaceChildren();
    photo.hidden = true;
    photo.removeAttribute('src');
    $('#reveal-form').hidden = true;
    $('#mask').hidden = true;
    return;
  }
  const { record } = lastRead;
  const rows = [[t('idCard'), pick(cardNames[record.cardType], record.cardType)],
    ...fieldNames.filter(([key]) => record[key] !== undefined && record[key] !== '').map(([key, zh, en]) => [language === 'zh' ? zh : en, cardValue(key, record[key])])];
  $('#idcard-record').replaceChildren(...rows.flatMap(([label, value]) => [make('dt', { textContent: label }), make('dd', { textContent: value })]),
    ...(record.warnings ?? []).flatMap((warning) => [make('dt'), make('dd', { className: 'warning', textContent: inLanguage(warning) })]));
  photo.hidden = !(lastRead.revealed && record.photo?.jpeg);
  if (!photo.hidden) photo.src = `data:image/jpeg;base64,${record.photo.jpeg}`; else photo.removeAttribute('src');
  $('#reveal-form').hidden = false;
  $('#mask').hidden = !lastRead.revealed;
  $('#reveal').hidden = lastRead.revealed;
  $('#reveal-reason').hidden = lastRead.revealed;
  $('#step-identity').classList.toggle('done', true);
}

function showCardStatus() {
  if (!lastRead) return;
  sayOk($('#idcard-status'), () => (lastRead ? (lastRead.revealed ? t('revealed') : t('readFrom')) : t('placeCard')), 'progress');
}

/** What was shown in full goes back to the masked record (card lifted, new case, signed out). */
function maskRecord() {
  $('#reveal-reason').value = '';
  markField($('#reveal-reason'), null);
  clearMessage($('#reveal-message'));
  if (!lastRead?.revealed) return;
  lastRead.record = lastRead.masked;
  lastRead.revealed = false;
  renderRecord();
  showCardStatus();
  refreshControls();
}

tongban.on('idcard.*', (event) => {
  const status = $('#idcard-status');
  if (event.type === 'idcard.present') sayOk(status, () => t('reading'), 'progress');
  if (event.type === 'idcard.removed') {
    maskRecord();
    sayOk(status, () => (lastRead ? t('cardRemoved') : t('cardRemovedPlain')), 'progress');
  }
  if (event.type === 'idcard.error') {
    say(status, { code: event.data.code ?? 'reader-unavailable', status: 0, title: event.data.message ?? '', detail: event.data.message ?? '',
      remedy: event.data.remedy ?? '', device: event.data.device });
  }
  if (event.type === 'idcard.read') {
    lastRead = { recordId: event.data.recordId, device: event.data.device, record: event.data.record, masked: event.data.record, revealed: false };
    $('#reveal-reason').value = '';
    clearMessage($('#reveal-message'));
    renderRecord();
    showCardStatus();
    refreshControls();
  }
});

/** Shows the record in full; `reason` goes to the audit log with the reveal. */
async function reveal(reason) {
  if (!lastRead) throw consoleProblem('no-card-read');
  if (!reason?.trim()) throw consoleProblem('reveal-reason-required');
  if (lastRead.revealed) return lastRead.record;
  const read = lastRead;
  const record = await tongban.identityRecord(read.recordId, { reveal: true, reason: reason.trim() });
  if (lastRead !== read) throw CALLED_OFF; // a new card or a new case meanwhile: nothing of this one is shown
  read.record = record;
  read.revealed = true;
  renderRecord();
  showCardStatus();
  return record;
}

$('#reveal-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $('#reveal-reason');
  markField(input, null);
  if (!input.value.trim()) {
    input.value = '';
    markField(input, t('fieldRequired'));
    say($('#reveal-message'), consoleProblem('reveal-reason-required'));
    input.focus();
    return;
  }
  act($('#reveal'), $('#reveal-message'), async () => {
    await reveal(input.value);
    input.value = '';
    clearMessage($('#reveal-message'));
  });
});
$('#reveal-reason').addEventListener('input', () => { markField($('#reveal-reason'), null); clearMessage($('#reveal-message')); });
$('#mask').addEventListener('click', () => { maskRecord(); refreshControls(); });
for (const action of ['place', 'lift']) {
  $(`#sim-${action}`).addEventListener('click', (event) => act(event.currentTarget, $('#idcard-status'),
    () => tongban.simulateCard(action, $('#sim-card').value)));
}

// ---- ② scanning ----------------------------------------------------------------------------------------------

let scan = null; // the batch on screen
let otherBatches = []; // open batches of other cases, kept for later
let pagesExpected = 0;
const runPages = new Map(); // pages the current run of the scanner brought (page id → page)
let startingScan = false;
const earlyEvents = []; // scan events that came before startScan answered

const openStates = ['scanning', 'ready', 'interrupted', 'failed'];
const batchOpen = () => Boolean(scan && openStates.includes(scan.state));
const batchPages = () => (scan ? [...scan.pages].sort((a, b) => a.position - b.position) : []);

function renderScan() {
  const box = $('#scan-batch');
  const list = $('#scan-pages');
  const progress = $('#scan-progress');
  if (!batchOpen()) {
    box.hidden = true;
    delete box.dataset.case;
    delete box.dataset.state;
    $('#scan-batch-title').textContent = '';
    $('#scan-progress-text').textContent = '';
    list.replaceChildren();
    progress.hidden = true;
  } else {
    box.hidden = false;
    box.dataset.case = scan.caseNumber;
    box.dataset.state = scan.state;
    const elsewhere = scan.caseNumber !== caseNumber();
    box.classList.toggle('elsewhere', elsewhere);
    $('#scan-batch-title').textContent = `${t('caseShort')} ${scan.caseNumber}${elsewhere ? ` ${t('otherCase')}` : ''} · ${scan.materialName} · ${scan.pages.length} ${t('pagesUnit')}`;
    $('#scan-batch-title').className = elsewhere ? 'warning' : '';
    const scanning = scan.state === 'scanning';
    progress.hidden = !scanning;
    progress.max = Math.max(pagesExpected, 1);
    progress.value = Math.min(runPages.size, progress.max);
    $('#scan-progress-text').textContent = scanning ? `${t('scanningNow')} ${runPages.size}/${pagesExpected}` : t('pagesReady');
    const pages = batchPages();
    list.replaceChildren(...pages.map((page, index) => make('li', { dataset: { page: page.id }, className: page.blank ? 'blank' : '' },
      make('img', { src: tongban.pageThumbnailUrl(scan.id, page.id), alt: `${page.position}`, style: `transform: rotate(${page.rotation}deg)`,
        onclick: () => openViewer(`${scan.materialName} · ${page.position}`, tongban.pageImageUrl(scan.id, page.id), 'image/jpeg') }),
      make('span', { className: 'position', textContent: `${index + 1}${page.blank ? ` · ${t('blank')}` : ''}` }),
      // A separator sheet (left out, it starts the next material) and a page of another case show before finishing.
      page.separatorFor != null
        ? make('span', { className: 'badge separator', textContent: fill(t('separatorPage'), { name: page.separatorFor || t('unnamedMaterial') }) })
        : null,
      page.otherCaseNumber ? make('span', { className: 'badge warning', textContent: fill(t('otherCasePage'), { case: page.otherCaseNumber }) }) : null,
      make('span', { className: 'tools' },
        pageButton('earlier', t('moveEarlier'), index === 0, () => movePage(page.id, -1)),
        pageButton('later', t('moveLater'), index === pages.length - 1, () => movePage(page.id, 1)),
        pageButton('rotate', t('rotate'), false, () => tongban.rotatePage(scan.id, page.id, (page.rotation + 90) % 360)),
        pageButton('rescan', t('rescan'), false, null, () => scanPages({ replace: page.id, maxPages: 1 }, 1)),
        pageButton('delete', t('deletePage'), false, async () => {
          // A deleted page cannot be brought back (its image is gone): asked first, naming the page.
          const choice = await confirmDialog({ text: fill(t('deletePageText'), { position: index + 1 }),
            yes: t('deletePageYes') });
          if (choice !== 'yes') throw CALLED_OFF;
          return tongban.deletePage(scan.id, page.id);
        })))));
  }
  const others = otherBatches.filter((batch) => batch.id !== scan?.id);
  $('#scan-other').hidden = others.length === 0;
  $('#scan-other-text').textContent = fill(t('otherBatches'), { count: others.length });
  $('#scan-other-show').disabled = batchOpen();
  refreshControls();
}

/** A page's tool: a labelled button that edits the batch (`edit` answers the batch) or runs `run`. */
function pageButton(kind, label, disabled, edit, run) {
  const scanning = !batchOpen() || scan.state === 'scanning';
  return make('button', { type: 'button', className: kind, textContent: label, title: label, disabled: disabled || scanning,
    onclick: (event) => act(event.currentTarget, $('#scan-status'), async () => {
      if (!batchOpen()) throw consoleProblem('no-scan-batch');
      if (scan.state === 'scanning') throw consoleProblem('scan-batch-scanning');
      if (run) return run();
      const batch = scan;
      const answer = await edit();
      if (scan?.id === batch.id) scan = answer;
      clearMessage($('#scan-status'));
      renderScan();
      return answer;
    }) });
}

function movePage(pageId, step) {
  const order = batchPages().map((page) => page.id);
  const index = order.indexOf(pageId);
  if (index < 0 || index + step < 0 || index + step >= order.length) return Promise.resolve(scan);
  [order[index], order[index + step]] = [order[index + step], order[index]];
  return tongban.reorderPages(scan.id, order);
}

/** Merges what an answer says of the batch with the pages events already brought (they may come first). */
function takeBatch(answer) {
  if (answer.state === 'scanning') {
    for (const page of runPages.values()) {
      if (!answer.pages.some((known) => known.id === page.id || known.position === page.position)) answer.pages.push(page);
    }
  }
  scan = answer;
}

async function scanPages(options, expected) {
  if (!batchOpen()) throw consoleProblem('no-scan-batch');
  if (scan.state === 'scanning') throw consoleProblem('scan-batch-scanning');
  const batch = scan;
  pagesExpected = expected;
  runPages.clear();
  clearMessage($('#scan-status'));
  batch.state = 'scanning';
  renderScan();
  try {
    const answer = await tongban.scanMore(batch.id, options);
    if (scan?.id === batch.id) takeBatch(answer);
  } catch (error) {
    if (scan?.id === batch.id) scan = await tongban.scan(batch.id).catch(() => ({ ...batch, state: 'ready' }));
    throw error;
  } finally {
    renderScan();
  }
}

async function startScan() {
  const caseNo = requireCase();
  const materialName = $('#scan-material').value.trim();
  if (!materialName) {
    $('#scan-material').focus();
    throw consoleProblem('material-required');
  }
  if (batchOpen()) {
    if (scan.state === 'scanning') throw consoleProblem('scan-batch-scanning');
    // A batch still open is never replaced silently: finish it or discard it first, or leave it be.
    const choice = await confirmDialog({ text: fill(t('batchOpenText'), { case: scan.caseNumber, pages: scan.pages.length, material: scan.materialName }),
      yes: t('finishThenScan'), other: t('discardThenScan') });
    if (choice === 'no') throw CALLED_OFF;
    if (choice === 'yes') await finishBatch({ ask: false });
    else await discardBatch();
  }
  const maxPages = Number($('#scan-max').value) || undefined;
  startingScan = true;
  earlyEvents.length = 0;
  let started;
  try {
    started = await tongban.startScan({
      caseNumber: caseNo, materialName, device: $('#scan-device').value || undefined,
      dpi: Number($('#scan-dpi').value), mode: $('#scan-mode').value, duplex: $('#scan-duplex').checked, maxPages, operator: operator(),
    });
  } finally {
    startingScan = false;
  }
  pagesExpected = maxPages ?? 1;
  runPages.clear();
  scan = started;
  if (hasProblem($('#scan-status'))) clearMessage($('#scan-status'));
  const early = earlyEvents.splice(0).filter((event) => event.data.scanId === started.id);
  renderScan();
  for (const event of early) await onScanEvent(event);
}

/** Makes the batch on screen a PDF attachment of its case; asks first when that is not the header's case. */
async function finishBatch({ ask = true } = {}) {
  if (!batchOpen()) throw consoleProblem('no-scan-batch');
  if (scan.state === 'scanning') throw consoleProblem('scan-batch-scanning');
  if (!scan.pages.length) throw consoleProblem('scan-has-no-pages');
  const batch = scan;
  if (ask && batch.caseNumber !== caseNumber()) {
    const choice = await confirmDialog({ text: fill(t('finishOtherCase'), { batch: batch.caseNumber, header: caseNumber() || t('noneTyped') }),
      yes: fill(t('finishAnyway'), { batch: batch.caseNumber }) });
    if (choice !== 'yes') throw CALLED_OFF;
  }
  const attachment = await tongban.finishScan(batch.id, { operator: operator() });
  if (scan?.id === batch.id) scan = null;
  otherBatches = otherBatches.filter((other) => other.id !== batch.id);
  renderScan();
  const made = attachment.attachments?.length ? attachment.attachments : [attachment];
  const format = attachment.contentType === 'application/ofd' ? 'OFD' : 'PDF';
  sayOk($('#scan-status'), () => (made.length > 1 ? fill(t('scanAttachedMany'), { count: made.length, format }) : fill(t('scanAttached'), { format }))
    + made.map((one) => `${one.materialName} · ${one.pages ?? batch.pages.length} ${t('pagesUnit')}`).join('；')
    + ` · ${t('caseShort')} ${attachment.caseNumber}`);
  refreshCase();
  return attachment;
}

/** Discards the batch on screen; one still scanning is stopped first (which keeps its pages), then discarded. */
async function discardBatch() {
  if (!scan) throw consoleProblem('no-scan-batch');
  const batch = scan;
  if (batch.state === 'scanning') {
    const ended = tongban.waitFor('scan.*', (event) => event.data?.scanId === batch.id
      && ['scan.finished', 'scan.failed', 'scan.discarded'].includes(event.type), { timeoutMs: 120_000 });
    ended.catch(() => {});
    await tongban.cancelScan(batch.id);
    const now = await tongban.scan(batch.id).catch(() => null);
    if (now?.state === 'scanning') await ended;
  }
  const left = await tongban.scan(batch.id).catch(() => null);
  if (left && openStates.includes(left.state)) await tongban.cancelScan(batch.id);
  if (scan?.id === batch.id) scan = null;
  otherBatches = otherBatches.filter((other) => other.id !== batch.id);
  runPages.clear();
  sayOk($('#scan-status'), () => t('scanDiscarded'));
  renderScan();
}

$('#scan-form').addEventListener('submit', (event) => {
  event.preventDefault();
  act($('#scan-start'), $('#scan-status'), startScan);
});
$('#scan-more').addEventListener('click', (event) => act(event.currentTarget, $('#scan-status'),
  () => scanPages({ maxPages: Number($('#scan-max').value) || undefined }, Number($('#scan-max').value) || 1)));
$('#scan-finish').addEventListener('click', (event) => act(event.currentTarget, $('#scan-status'), () => finishBatch()));
$('#scan-discard').addEventListener('click', (event) => act(event.currentTarget, $('#scan-status'), async () => {
  if (!scan) throw consoleProblem('no-scan-batch');
  const choice = await confirmDialog({ text: fill(t('discardText'), { case: scan.caseNumber, pages: scan.pages.length }), yes: t('discardYes') });
  if (choice !== 'yes') throw CALLED_OFF;
  await discardBatch();
}));
$('#scan-other-show').addEventListener('click', () => {
  if (batchOpen()) return;
  const next = otherBatches.find((batch) => batch.id !== scan?.id);
  if (!next) return;
  scan = next;
  pagesExpected = next.pages.length;
  runPages.clear();
  renderScan();
});

/** Open batches on the service: the one of the header's case is shown (also after a reload); others wait for later. */
async function loadOpenBatches({ pickUp = false } = {}) {
  const open = await tongban.scans({ state: 'scanning,ready,interrupted' });
  const header = caseNumber();
  if (pickUp && !batchOpen()) {
    const mine = open.find((batch) => batch.caseNumber === header) ?? (!header ? open[0] : undefined);
    if (mine) {
      scan = mine;
      pagesExpected = mine.pages.length;
      runPages.clear();
    }
  }
  otherBatches = open.filter((batch) => batch.id !== scan?.id && batch.caseNumber !== header);
  renderScan();
}

async function onScanEvent(event) {
  if (!scan || event.data.scanId !== scan.id) {
    if (startingScan && event.data.scanId) earlyEvents.push(event);
    return;
  }
  if (event.type === 'scan.page') {
    const page = event.data.page;
    runPages.set(page.id, page);
    scan.pages = scan.pages.filter((known) => known.id !== page.id && known.position !== page.position).concat(page);
    renderScan();
  }
  if (event.type === 'scan.finished' || event.type === 'scan.failed' || event.type === 'scan.discarded') {
    const id = scan.id;
    try {
      const answer = event.type === 'scan.discarded' ? null : await tongban.scan(id);
      if (scan?.id === id) scan = answer;
    } catch (error) {
      say($('#scan-status'), error);
    }
    renderScan();
    if (event.data.problem) say($('#scan-status'), event.data.problem);
  }
}
tongban.on('scan.*', (event) => { onScanEvent(event); });

// ---- ② camera --------------------------------------------------------------------------------------------------

const captureModes = new Map(); // attachmentId → capture mode (for the ID-card copy)

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

/** The simulated camera's scene picker, from its `Scene` menu control. */
async function loadCameraControls() {
  const id = $('#camera-select').value;
  const label = $('#camera-scene-label');
  const select = $('#camera-scene');
  if (!id) {
    label.hidden = true;
    return;
  }
  let camera;
  try {
    camera = await tongban.camera(id);
  } catch {
    label.hidden = true;
    return;
  }
  const controls = camera.capabilities?.controls ?? camera.controls ?? [];
  const scene = controls.find((control) => /^scene$/i.test(control.name) && (control.menuItems || control.type === 'menu'));
  const device = devices.get(id);
  if (!scene || (device && !isSimulated(device))) {
    label.hidden = true;
    return;
  }
  const minimum = scene.minimum ?? 0;
  const items = scene.menuItems
    ? scene.menuItems.map((item, index) => (typeof item === 'object' ? { value: item.index ?? item.value ?? minimum + index, name: item.name ?? item.label }
      : { value: minimum + index, name: item }))
    : Array.from({ length: (scene.maximum ?? minimum) - minimum + 1 }, (_, index) => ({ value: minimum + index, name: `${t('scene')} ${index + 1}` }));
  select.replaceChildren(...items.map((item) => make('option', { value: String(item.value), textContent: item.name })));
  select.value = String(scene.value ?? scene.defaultValue ?? minimum);
  select.dataset.control = scene.name;
  label.hidden = false;
}
$('#camera-scene').addEventListener('change', async () => {
  const select = $('#camera-scene');
  try {
    await tongban.setCameraControl($('#camera-select').value, select.dataset.control ?? 'Scene', Number(select.value));
  } catch (error) {
    say($('#capture-status'), error);
  }
});

$('#camera-toggle').addEventListener('click', () => { if ($('#camera-select').value) togglePreview(); });
$('#camera-select').addEventListener('change', () => {
  if (!$('#camera-preview').hidden) togglePreview(true);
  loadCameraControls();
});
$('#camera-preview').addEventListener('error', () => {
  if (!$('#camera-preview').hidden) say($('#capture-status'), consoleProblem('preview-ended', { detail: 'the preview stream ended' }));
});

$('#capture-form').addEventListener('submit', (event) => {
  event.preventDefault();
  act($('#capture'), $('#capture-status'), async () => {
    const caseNo = requireCase();
    const camera = $('#camera-select').value;
    if (!camera) throw consoleProblem('no-camera');
    const mode = $('#capture-mode').value;
    const autoCapture = $('#capture-auto').checked;
    const request = { mode, caseNumber: caseNo, materialName: $('#capture-material').value.trim() || undefined, autoCapture, operator: operator() };
    clearMessage($('#capture-status'));
    sayProgress($('#capture-status'), () => (autoCapture ? t('waitingStill') : t('capturing')));
    let result;
    try {
      result = await tongban.capture(camera, request);
    } catch (error) {
      // Doubtful (out of view, blurred, glare, too few pixels): nothing was stored; the clerk retakes it or keeps it.
      if (!['capture-needs-retake', 'document-out-of-frame'].includes(error?.code)) throw error;
      clearMessage($('#capture-status'));
      const [sentence] = clerkWords(error);
      const doubts = (error.warnings ?? []).map((code) => pick(captureDoubts[code], code)).join(pick(['；', '; ']));
      const answer = await confirmDialog({ text: `${sentence}${doubts ? pick(['：', ': ']) + doubts : ''}`, yes: t('keepAnyway'), no: t('retake') });
      if (answer !== 'yes') {
        say($('#capture-status'), error);
        return;
      }
      sayProgress($('#capture-status'), () => t('capturing'));
      result = await tongban.capture(camera, { ...request, autoCapture: false, insist: true });
    }
    captureModes.set(result.attachment.attachmentId, mode);
    sayOk($('#capture-status'), () => `${t('captured')}${result.attachment.materialName} · ${t('caseShort')} ${result.attachment.caseNumber}`);
    refreshCase();
  });
});

/** The front and back captured for this case (not deleted since). */
function cardSides() {
  const side = (mode) => caseItems.find(({ attachment }) => captureModes.get(attachment.attachmentId) === mode)?.attachment;
  return { front: side('idcard-front'), back: side('idcard-back') };
}

$('#copy-form').addEventListener('submit', (event) => {
  event.preventDefault();
  act($('#copy-make'), $('#capture-status'), async () => {
    const caseNo = requireCase();
    const { front, back } = cardSides();
    if (!front || !back) throw consoleProblem('idcard-side-not-found');
    const attachment = await tongban.makeIDCardCopy({ caseNumber: caseNo, front: front.attachmentId, back: back.attachmentId,
      watermark: $('#copy-watermark').value.trim() || t('defaultWatermark') });
    captureModes.set(attachment.attachmentId, 'idcard-copy');
    sayOk($('#capture-status'), () => `${t('copyMade')}${attachment.materialName} · ${t('caseShort')} ${attachment.caseNumber}`);
    refreshCase();
  });
});

// ---- ② the case's materials: thumbnails, large view, delete with undo -------------------------------------------

let caseItems = []; // [{attachment, delivery}] of the current case, oldest first
const progressOf = new Map(); // attachmentId → fraction uploaded
const liveState = new Map(); // attachmentId → {state, lastError} from delivery events
let outboxSummary = null;

const thumbnailUrl = (id) => (typeof tongban.attachmentThumbnailUrl === 'function'
  ? tongban.attachmentThumbnailUrl(id) : tongban.url(`/v1/attachments/${encodeURIComponent(id)}/thumbnail`));
const timeOf = (attachment) => attachment.capturedAt ?? attachment.createdAt;

function kindTile(attachment) {
  const pdf = /pdf/.test(attachment.contentType ?? '') || attachment.kind === 'scan';
  return make('div', { className: 'thumb tile', title: attachment.materialName },
    make('b', { textContent: pdf ? 'PDF' : attachment.kind === 'photo' || attachment.kind === 'idcard' ? '▣' : '▤' }),
    pick(kindNames[attachment.kind], attachment.kind));
}

function renderMaterials() {
  const no = caseNumber();
  $('#materials-case').textContent = no ? `${t('caseShort')} ${no}` : '';
  const list = $('#materials');
  if (!caseItems.length) {
    list.replaceChildren(make('li', { className: 'empty', textContent: no ? t('noMaterials') : t('noCaseYet') }));
  } else {
    list.replaceChildren(...caseItems.map(({ attachment, delivery }) => {
      // What the case system has can only be taken back there: no delete offered once delivered.
      const delivered = delivery?.state === 'delivered';
      const view = () => openViewer(attachment.materialName, tongban.attachmentContentUrl(attachment.attachmentId), attachment.contentType);
      const thumb = make('img', { className: 'thumb', alt: attachment.materialName, loading: 'lazy', src: thumbnailUrl(attachment.attachmentId), onclick: view });
      thumb.addEventListener('error', () => { const tile = kindTile(attachment); tile.addEventListener('click', view); thumb.replaceWith(tile); });
      return make('li', { dataset: { attachment: attachment.attachmentId, case: attachment.caseNumber, kind: attachment.kind } },
        thumb,
        make('span', { className: 'name', textContent: attachment.materialName, title: attachment.materialName }),
        make('span', { className: 'meta', textContent: [pick(kindNames[attachment.kind], attachment.kind),
          attachment.pages ? `${attachment.pages} ${t('pagesUnit')}` : '', chinaTime(timeOf(attachment))].filter(Boolean).join(' · ') }),
        make('span', { className: 'tools' },
          make('button', { type: 'button', className: 'view', textContent: t('view'), onclick: view }),
          delivered ? make('span', { className: 'delivered', textContent: t('deliveredShort') })
            : make('button', { type: 'button', className: 'delete', textContent: t('delete'),
              onclick: (event) => act(event.currentTarget, $('#materials-status'), () => deleteMaterial(attachment)) })));
    }));
  }
  const { front, back } = cardSides();
  $('#copy-form').hidden = !(front && back);
  $('#step-materials').classList.toggle('done', caseItems.some(({ attachment }) => attachment.kind !== 'notice'));
}

async function deleteMaterial(attachment) {
  // Why a material leaves the case is the clerk's to say: it goes to the audit log with the deletion.
  const reason = await reasonDialog({ title: () => fill(t('deleteReasonTitle'), { name: attachment.materialName }), choices: deleteReasonChoices,
    ok: () => t('deleteYes'), missing: 'delete-reason-required' });
  if (reason === null) throw CALLED_OFF;
  if (typeof tongban.deleteAttachment === 'function') await tongban.deleteAttachment(attachment.attachmentId, { reason });
  else await tongban.request('DELETE', `/v1/attachments/${encodeURIComponent(attachment.attachmentId)}`, { query: { reason } });
  caseItems = caseItems.filter(({ attachment: other }) => other.attachmentId !== attachment.attachmentId);
  clearMessage($('#materials-status'));
  renderCase();
  showUndo(attachment);
  refreshCase();
}

let undoTimer = null;
let undoing = null; // the attachment the toast can bring back

function showUndo(attachment) {
  undoing = attachment;
  $('#undo-text').textContent = fill(t('deleted'), { name: attachment.materialName });
  $('#undo').hidden = false;
  clearTimeout(undoTimer);
  undoTimer = setTimeout(hideUndo, 10_000);
}
function hideUndo() {
  clearTimeout(undoTimer);
  undoing = null;
  $('#undo').hidden = true;
  $('#undo-text').textContent = '';
}
$('#undo-button').addEventListener('click', (event) => act(event.currentTarget, $('#materials-status'), async () => {
  const attachment = undoing;
  if (!attachment) return;
  if (typeof tongban.restoreAttachment === 'function') await tongban.restoreAttachment(attachment.attachmentId);
  else await tongban.request('POST', `/v1/attachments/${encodeURIComponent(attachment.attachmentId)}/restore`);
  hideUndo();
  sayOk($('#materials-status'), () => fill(t('restored'), { name: attachment.materialName }));
  refreshCase();
}));

function openViewer(title, url, contentType = '') {
  const body = $('#viewer-body');
  $('#viewer-title').textContent = title;
  body.replaceChildren(/^image\//.test(contentType) || contentType === ''
    ? make('img', { src: url, alt: title })
    : make('iframe', { src: url, title }));
  $('#viewer').hidden = false;
  $('#viewer-close').focus();
}
function closeViewer() {
  $('#viewer').hidden = true;
  $('#viewer-title').textContent = '';
  $('#viewer-body').replaceChildren();
}
$('#viewer-close').addEventListener('click', closeViewer);
$('#viewer').addEventListener('click', (event) => { if (event.target === $('#viewer')) closeViewer(); });

let caseTimer = null;
let caseLoad = 0;
/** Reloads the current case's attachments and the outbox (coalesced: events come in bursts). */
function refreshCase() {
  clearTimeout(caseTimer);
  caseTimer = setTimeout(async () => {
    const load = ++caseLoad;
    const no = caseNumber();
    try {
      const [summary, listed] = await Promise.all([tongban.outbox(), no ? tongban.attachments({ caseNumber: no }) : []]);
      if (load !== caseLoad || no !== caseNumber()) return; // a newer load, or another case meanwhile
      outboxSummary = summary;
      caseItems = listed.filter(({ attachment }) => attachment.caseNumber === no && !attachment.deletedAt)
        .sort((a, b) => String(timeOf(a.attachment)).localeCompare(String(timeOf(b.attachment))));
      // What the service says now wins over what events said before.
      for (const { attachment } of caseItems) liveState.delete(attachment.attachmentId);
      renderCase();
    } catch (error) {
      if (load === caseLoad) say($('#deliver-status'), error);
    }
  }, 150);
}

function renderCase() {
  renderMaterials();
  renderDeliveries();
  autoFillMaterials();
}

// ---- ④ delivery of this case -----------------------------------------------------------------------------------

function renderDeliveries() {
  if (outboxSummary) {
    const sink = /^archive/i.test(outboxSummary.sink ?? '') ? t('sinkArchive') : t('sinkCore');
    $('#outbox-summary').textContent = [sink, `${t('waiting')} ${outboxSummary.undelivered}`, `${t('failedCount')} ${outboxSummary.failed}`,
      outboxSummary.oldestUndeliveredAt ? `${t('oldest')} ${chinaTime(outboxSummary.oldestUndeliveredAt)}` : ''].filter(Boolean).join(' · ');
  } else {
    $('#outbox-summary').textContent = '';
  }
  $('#deliveries tbody').replaceChildren(...caseItems.map(({ attachment, delivery }) => {
    const live = liveState.get(attachment.attachmentId);
    const state = live?.state ?? delivery?.state ?? 'pending';
    const lastError = live?.lastError ?? delivery?.lastError;
    const id = attachment.attachmentId;
    const actions = make('td');
    if (['failed', 'pending', 'retrying'].includes(state)) {
      actions.append(
        make('button', { type: 'button', textContent: t('retry'), onclick: (event) => act(event.currentTarget, $('#deliver-status'), async () => {
          await tongban.retryDelivery(id);
          clearMessage($('#deliver-status'));
          refreshCase();
        }) }),
        make('button', { type: 'button', textContent: t('withdraw'), onclick: (event) => act(event.currentTarget, $('#deliver-status'), async () => {
          await tongban.withdrawDelivery(id);
          clearMessage($('#deliver-status'));
          refreshCase();
        }) }));
    }
    const stateCell = make('td', {}, make('span', { className: `delivery ${state}`, textContent: pick(deliveryNames[state], state) }));
    const progress = progressOf.get(id);
    if (progress !== undefined && state === 'uploading') stateCell.append(make('progress', { value: progress, max: 1 }));
    if (lastError && !['delivered', 'cancelled'].includes(state)) {
      stateCell.append(make('div', { className: 'hint', textContent: t('deliveryFailedNote') }),
        make('details', { className: 'detail' }, make('summary', { textContent: t('details') }), make('div', { textContent: lastError })));
    }
    return make('tr', { dataset: { attachment: id, state, case: attachment.caseNumber } },
      make('td', {}, attachment.materialName, make('div', { className: 'hint', textContent: chinaTime(timeOf(attachment)) })),
      make('td', { textContent: pick(kindNames[attachment.kind], attachment.kind) }), stateCell, actions);
  }));
  $('#step-deliver').classList.toggle('done', caseItems.length > 0 && caseItems.every(({ attachment, delivery }) =>
    (liveState.get(attachment.attachmentId)?.state ?? delivery?.state) === 'delivered'));
}

tongban.on('delivery.*', (event) => {
  const id = event.data.attachmentId;
  const state = { 'delivery.started': 'uploading', 'delivery.progress': 'uploading', 'delivery.delivered': 'delivered',
    'delivery.retrying': 'retrying', 'delivery.failed': 'failed', 'delivery.cancelled': 'cancelled' }[event.type] ?? event.data.state;
  liveState.set(id, { state, lastError: event.data.error ?? liveState.get(id)?.lastError });
  if (event.data.size) progressOf.set(id, (event.data.offset ?? 0) / event.data.size);
  if (caseItems.some(({ attachment }) => attachment.attachmentId === id)) renderDeliveries();
  if (event.type !== 'delivery.progress') refreshCase();
});
for (const type of ['attachment.stored', 'attachment.deleted', 'attachment.restored', 'camera.captured', 'scan.attached']) {
  tongban.on(type, (event) => { if (!event.data?.caseNumber || event.data.caseNumber === caseNumber()) refreshCase(); });
}

// ---- ③ printing ----------------------------------------------------------------------------------------------

let templates = [];
const remembered = new Map(); // top-level field name → value typed in this case (kept across forms)
const jobs = new Map(); // print jobs of this case

const currentTemplate = () => templates.find((item) => item.id === $('#notice-template').value);
const templateTitle = (id) => {
  const template = templates.find((item) => item.id === id);
  if (!template) return inLanguage(id);
  return language === 'en' && template.englishTitle ? template.englishTitle : template.title;
};
const defaultOf = (field) => field.default ?? field.defaultValue;
/** 收件人/经办人/受理人: filled with the header's 经办人 (or the signed-in clerk's name). */
const isOperatorField = (field) => /收件人|经办人|受理人/.test(field.label ?? '') || ['operator', 'receiver', 'handler'].includes(field.name);

function fieldInput(field, value) {
  const attributes = { name: field.name, aria: field.required ? { required: 'true' } : undefined };
  if (field.type === 'choice') {
    return make('select', attributes, make('option', { value: '', textContent: '' }),
      ...(field.options ?? []).map((option) => make('option', { value: option, textContent: option, selected: option === value })));
  }
  if (field.type === 'boolean') return make('input', { type: 'checkbox', ...attributes, checked: value === true || value === 'true' });
  const type = field.type === 'integer' || field.type === 'number' ? 'number' : field.type === 'date' ? 'date' : 'text';
  const input = make('input', { type, ...attributes, value: value ?? '' });
  if (type === 'number') input.step = field.type === 'integer' ? '1' : 'any';
  return input;
}

function listRow(field, values = {}) {
  return make('tr', {}, ...field.fields.map((sub) => make('td', {}, fieldInput(sub, values[sub.name] ?? defaultOf(sub)))),
    make('td', {}, make('button', { type: 'button', textContent: '✕', title: t('removeRow'), aria: { label: t('removeRow') },
      onclick: (event) => { const set = event.currentTarget.closest('fieldset'); event.currentTarget.closest('tr').remove(); if (set) set.dataset.auto = 'false'; } })));
}

function listEditor(field) {
  const body = make('tbody', {}, listRow(field));
  return make('fieldset', { dataset: { list: field.name } }, make('legend', { textContent: field.label }),
    make('table', {}, make('thead', {}, make('tr', {}, ...field.fields.map((sub) => make('th', { textContent: sub.label })), make('th'))), body),
    make('button', { type: 'button', textContent: `+ ${t('addRow')}`, onclick: () => body.append(listRow(field)) }));
}

function renderForm() {
  const template = currentTemplate();
  clearInvalid();
  const form = $('#notice-form');
  if (!template) return form.replaceChildren();
  form.replaceChildren(...template.fields.map((field) => {
    if (field.type === 'list') return listEditor(field);
    if (field.type === 'object') {
      return make('fieldset', { dataset: { object: field.name } }, make('legend', { textContent: field.label }),
        ...field.fields.map((sub) => make('label', {}, make('span', { textContent: sub.label }), fieldInput(sub, defaultOf(sub)))));
    }
    let value = remembered.get(field.name) ?? defaultOf(field);
    const operatorField = isOperatorField(field);
    if (operatorField && !remembered.has(field.name)) value = operator() ?? '';
    const input = fieldInput(field, value);
    if (operatorField) input.dataset.operator = 'true';
    return make('label', { className: field.required ? 'required' : '' }, make('span', { textContent: field.label }), input);
  }));
  autoFillMaterials();
  refreshControls();
}

/** The top-level input of a field (never one inside a list row or a group). */
const topInput = (name) => $(`#notice-form > label > [name="${CSS.escape(name)}"]`);
const materialsList = () => $('#notice-form > fieldset[data-list="materials"]');

function materialRows() {
  return caseItems.filter(({ attachment }) => !['notice', 'recording'].includes(attachment.kind))
    .map(({ attachment }) => ({ name: attachment.materialName, copies: 1, pages: attachment.pages ?? '' }));
}

/** The materials list of the form from this case's attachments: one row each (name, pages, count 1). */
function fillMaterials() {
  const set = materialsList();
  const field = currentTemplate()?.fields.find((item) => item.name === 'materials' && item.type === 'list');
  if (!set || !field) return 0;
  const rows = materialRows();
  if (!rows.length) return 0;
  const known = new Set(field.fields.map((sub) => sub.name));
  set.querySelector('tbody').replaceChildren(...rows.map((row) => listRow(field, Object.fromEntries(Object.entries(row).filter(([key]) => known.has(key))))));
  set.dataset.auto = 'true';
  return rows.length;
}

/** Fills the materials list by itself while it is empty, or still as it filled it (not edited since). */
function autoFillMaterials() {
  const set = materialsList();
  if (!set) return;
  const empty = [...set.querySelectorAll('tbody input, tbody select')].every((input) => !input.value);
  if (empty || set.dataset.auto === 'true') fillMaterials();
}

$('#notice-form').addEventListener('input', (event) => {
  const input = event.target;
  markField(input, null);
  const set = input.closest('fieldset[data-list]');
  if (set) set.dataset.auto = 'false';
  if (input.dataset.operator) input.dataset.typed = 'true';
});

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
  if (!currentTemplate()) throw consoleProblem('no-template');
  const data = { ...collect($('#notice-form')), caseNumber: requireCase() };
  for (const label of $('#notice-form').querySelectorAll(':scope > label > [name]')) {
    const value = valueOf(label);
    if (value !== undefined && value !== false) remembered.set(label.name, value); else remembered.delete(label.name);
  }
  return data;
}

// Invalid fields: marked where they are, with the reason beside them.

function clearInvalid() {
  for (const input of $('#notice-form').querySelectorAll('.invalid')) markField(input, null);
}

/** The input a field path names: `matterName`, `materials[0].name`, `intake.received`. */
function inputForPath(path) {
  const match = /^([A-Za-z0-9_]+)(?:\[(\d+)\])?(?:\.([A-Za-z0-9_]+))?$/.exec(path ?? '');
  if (!match) return null;
  const [, name, index, sub] = match;
  const form = $('#notice-form');
  const list = form.querySelector(`:scope > fieldset[data-list="${CSS.escape(name)}"]`);
  if (list) {
    let rows = [...list.querySelectorAll('tbody tr')];
    const row = index !== undefined ? rows[Number(index)] : rows[0];
    if (!row && index !== undefined) return null;
    if (!rows.length) {
      list.querySelector(':scope > button').click();
      rows = [...list.querySelectorAll('tbody tr')];
    }
    const target = row ?? rows[0];
    return (sub ? target?.querySelector(`[name="${CSS.escape(sub)}"]`) : target?.querySelector('input, select')) ?? null;
  }
  const group = form.querySelector(`:scope > fieldset[data-object="${CSS.escape(name)}"]`);
  if (group) return sub ? group.querySelector(`[name="${CSS.escape(sub)}"]`) : group.querySelector('input, select');
  return topInput(name);
}

/** The invalid fields a problem names: its `invalidParams`, or read from its detail (`path: reason; …`). */
function invalidParamsOf(problem) {
  if (Array.isArray(problem.invalidParams)) return problem.invalidParams;
  const listed = /is not valid:\s*(.*)$/s.exec(problem.detail ?? '');
  if (!listed) return [];
  return listed[1].split(/;\s*/).map((part) => {
    const [name, ...rest] = part.split(': ');
    const reason = rest.join(': ');
    return { name: name.trim(), reason, kind: /^required/.test(reason) ? 'required' : /^not a field/.test(reason) ? 'unknown' : 'invalid' };
  });
}

function reasonWords(param) {
  if (param.kind === 'required' || /^required/.test(param.reason ?? '')) return t('fieldRequired');
  if (param.kind === 'unknown') return t('fieldUnknown');
  const reason = inLanguage(param.reason ?? '');
  return language === 'zh' && !/[\u4e00-\u9fff]/.test(reason) ? `${t('fieldInvalid')}（${reason}）` : reason || t('fieldInvalid');
}

function markInvalid(problem) {
  clearInvalid();
  let first = null;
  for (const param of invalidParamsOf(problem)) {
    const input = inputForPath(param.name);
    if (!input) continue;
    markField(input, reasonWords(param));
    first ??= input;
  }
  first?.scrollIntoView({ block: 'nearest' });
  first?.focus({ preventScroll: true });
}

/** Runs a print-step action: problems go to the step's status, invalid fields are marked (and cleared on a success). */
async function printAction(button, action, { clearsMarks = false } = {}) {
  return act(button, $('#print-status'), async () => {
    try {
      const result = await action();
      if (clearsMarks) clearInvalid();
      return result;
    } catch (error) {
      const problem = problemOf(error);
      if (problem.code === 'notice-data-invalid') markInvalid(problem);
      throw error;
    }
  });
}

async function loadPrinting() {
  templates = await tongban.notices();
  renderTemplates();
  // The form of almost every intake first.
  if (templates.some((template) => template.id === 'receipt-notice')) $('#notice-template').value = 'receipt-notice';
  await loadPrinters();
  renderForm();
}

function renderTemplates() {
  const chosen = $('#notice-template').value;
  $('#notice-template').replaceChildren(...templates.map((template) => make('option', { value: template.id, textContent: templateTitle(template.id) })));
  if (templates.some((template) => template.id === chosen)) $('#notice-template').value = chosen;
}

/** The printer list with each printer's problem in words; the chosen printer is kept. */
async function loadPrinters() {
  const chosen = $('#printer-select').value;
  try {
    printerList = await tongban.printers();
  } catch (error) {
    say($('#print-status'), error);
    printerList = [];
  }
  renderPrinters();
  if (printerList.some((printer) => printer.name === chosen)) $('#printer-select').value = chosen;
  renderDevices();
}

function renderPrinters() {
  const chosen = $('#printer-select').value;
  const ordered = [...printerList].sort((a, b) => Number(b.roles.includes('notices')) - Number(a.roles.includes('notices')));
  $('#printer-select').replaceChildren(...ordered.map((printer) => make('option', { value: printer.name,
    textContent: `${inLanguage(printer.name)}${printer.simulated ? ` · ${t('simulated')}` : ''}${printer.problem ? ` — ${clerkWords(printer.problem)[0]}` : ''}` })));
  if (!ordered.length) $('#printer-select').append(make('option', { value: '', textContent: t('noPrinter') }));
  if (ordered.some((printer) => printer.name === chosen)) $('#printer-select').value = chosen;
}

const mediaName = (media) => (/a4/i.test(media ?? '') ? 'A4' : /a5/i.test(media ?? '') ? 'A5' : /letter/i.test(media ?? '') ? 'Letter' : media ?? '');

function renderJobs() {
  $('#print-jobs').replaceChildren(...[...jobs.values()].reverse().map((job) => {
    const ended = ['completed', 'canceled', 'failed'].includes(job.state);
    const problem = job.problem ? paintProblem(make('div'), problemOf(job.problem)) : null;
    return make('li', { dataset: { job: job.id, state: job.state, case: job.caseNumber ?? '' } },
      make('span', { className: `state ${job.state === 'completed' ? 'available' : job.problem || job.state === 'failed' ? 'error' : 'busy'}`,
        textContent: pick(printStateNames[job.state], job.state) }),
      ` ${templateTitle(job.document)} · ${chinaTime(job.createdAt)}${job.pages ? ` · ${job.pages} ${t('pagesUnit')}` : ''}${job.media ? ` · ${mediaName(job.media)}` : ''} `,
      ended ? null : make('button', { type: 'button', className: 'cancel', textContent: t('cancel'),
        onclick: (event) => act(event.currentTarget, $('#print-status'), async () => { jobs.set(job.id, await tongban.cancelPrint(job.id)); renderJobs(); }) }),
      problem);
  }));
  $('#step-print').classList.toggle('done', [...jobs.values()].some((job) => job.state === 'completed'));
}

$('#notice-template').addEventListener('change', () => {
  // What was typed in this form is kept for the next one of the same case.
  for (const input of $('#notice-form').querySelectorAll(':scope > label > [name]')) {
    const value = valueOf(input);
    if (value !== undefined && value !== false) remembered.set(input.name, value);
  }
  clearMessage($('#print-status'));
  renderForm();
});

$('#notice-fill').addEventListener('click', (event) => printAction(event.currentTarget, async () => {
  if (!lastRead) throw consoleProblem('no-card-read');
  if (!lastRead.revealed) {
    const reason = await reasonDialog();
    if (!reason) throw CALLED_OFF;
    await reveal(reason);
  }
  const record = lastRead.record;
  const name = record.name ?? record.nameEnglish;
  // Only the applicant's own fields at the top of the form: never the rows of a list (材料名称 is also `name`).
  const fromCard = { applicantName: name, name, idNumber: record.idNumber, address: record.address, passNumber: record.passNumber,
    nationality: record.nationality, birthDate: record.birthDate, sex: record.sex ? pick(sexNames[record.sex], record.sex) : undefined };
  for (const [field, value] of Object.entries(fromCard)) {
    const input = topInput(field);
    if (input && value) {
      input.value = value;
      markField(input, null);
    }
  }
  sayOk($('#print-status'), () => t('filledFromCard'));
}));

$('#notice-materials').addEventListener('click', (event) => printAction(event.currentTarget, async () => {
  requireCase();
  const count = fillMaterials();
  if (!count) throw consoleProblem('no-materials');
  sayOk($('#print-status'), () => fill(t('filledMaterials'), { count }));
}));

$('#notice-preview').addEventListener('click', (event) => printAction(event.currentTarget, async () => {
  const template = $('#notice-template').value;
  const { blob } = await tongban.previewNotice(template, noticeData(), { format: 'png', dpi: 60 });
  const image = $('#notice-image');
  if (image.src) URL.revokeObjectURL(image.src);
  image.src = URL.createObjectURL(blob);
  image.dataset.title = templateTitle(template);
  image.hidden = false;
  sayOk($('#print-status'), () => t('previewShown'), 'progress');
}, { clearsMarks: true }));
$('#notice-image').addEventListener('click', () => {
  const image = $('#notice-image');
  if (image.src) openViewer(image.dataset.title ?? '', image.src, 'image/png');
});

$('#notice-print').addEventListener('click', (event) => printAction(event.currentTarget, async () => {
  const template = $('#notice-template').value;
  const data = noticeData();
  const job = await tongban.print({ template, data, printer: $('#printer-select').value || undefined, operator: operator() });
  jobs.set(job.id, job);
  renderJobs();
  sayOk($('#print-status'), () => `${t('printSubmitted')}${templateTitle(template)}`);
  refreshCase();
}, { clearsMarks: true }));

tongban.on('print.*', (event) => {
  const job = event.data;
  if (!jobs.has(job.id) && !(job.caseNumber && job.caseNumber === caseNumber())) return;
  jobs.set(job.id, job);
  renderJobs();
});
tongban.on('printer.state', () => loadPrinters());

// ---- video assistance (in the drawer) ----------------------------------------------------------------------------

let assistInfo = null;
let activeCall = null;
let remoteView = null;

async function loadAssist() {
  try {
    assistInfo = await tongban.assists();
  } catch (error) {
    assistInfo = null;
    $('#assist-form').hidden = true;
    if (problemOf(error).code === 'assist-off') sayOk($('#assist-status'), () => t('assistOff'), 'progress');
    else say($('#assist-status'), error);
    return;
  }
  $('#assist-form').hidden = false;
  const missed = Object.entries(assistInfo.missedThisMonth).map(([office, count]) => `${office} ${count}`).join(', ');
  sayOk($('#assist-status'), () => [assistInfo?.online.length ? `${t('onlineFor')}${assistInfo.online.join(', ')}` : '',
    missed ? `${t('missedThisMonth')}${missed}${assistInfo?.escalate.length ? ' ⚠' : ''}` : ''].filter(Boolean).join(' · '), 'progress');
}

async function showCall(call) {
  activeCall = call.state === 'ringing' || call.state === 'connected' ? call : null;
  const ringing = call.state === 'ringing' && call.role === 'answerer';
  $('#assist-ring').hidden = !ringing;
  if (ringing) toggleDrawer(true); // a call rings: the drawer opens to show it
  $('#assist-hangup').hidden = !activeCall;
  $('#assist-ring-text').textContent = ringing ? `${t('incoming')}: ${call.caseNumber} · ${call.callerCounter}${call.material ? ` · ${call.material}` : ''}` : '';
  const status = $('#assist-status');
  if (call.state === 'ringing' && call.role === 'caller') sayOk(status, () => `${t('callingOffice')} ${call.office}…`, 'progress');
  if (call.state === 'connected') sayOk(status, () => `${t('inCall')} ${call.role === 'caller' ? call.answerCounter ?? call.office : call.callerCounter}`, 'progress');
  if (call.state === 'connected' && call.remoteFeed && !remoteView && assistInfo) {
    $('#assist-remote').hidden = false;
    remoteView = await showRemoteFeed(assistInfo.janusUrl, call.room, call.remoteFeed, $('#assist-remote')).catch((error) => {
      say(status, { code: 'janus-unreachable', status: 0, title: 'Janus', detail: String(error?.message ?? error) });
      return null;
    });
  }
  if (!activeCall) {
    remoteView?.stop();
    remoteView = null;
    $('#assist-remote').hidden = true;
    if (call.problem) say(status, call.problem);
    else sayOk(status, () => (call.state === 'missed' ? t('missedCall') : call.state === 'declined' ? t('declinedCall') : t('callEnded')), 'progress');
    loadAssist();
  }
}

tongban.on('assist.*', (event) => { showCall(event.data); });
$('#assist-form').addEventListener('submit', (event) => {
  event.preventDefault();
  act($('#assist-call'), $('#assist-status'), async () => {
    const office = $('#assist-office').value.trim();
    if (!office) {
      $('#assist-office').focus();
      throw consoleProblem('invalid-call');
    }
    await showCall(await tongban.callOffice({ office, caseNumber: requireCase(), material: $('#assist-material').value.trim() || undefined }));
  });
});
$('#assist-accept').addEventListener('click', (event) => act(event.currentTarget, $('#assist-status'), async () => {
  if (activeCall) await showCall(await tongban.acceptCall(activeCall.id));
}));
$('#assist-decline').addEventListener('click', (event) => act(event.currentTarget, $('#assist-status'), async () => {
  if (activeCall) await showCall(await tongban.declineCall(activeCall.id));
}));
$('#assist-hangup').addEventListener('click', (event) => act(event.currentTarget, $('#assist-status'), async () => {
  if (activeCall) await showCall(await tongban.hangUp(activeCall.id));
}));

// ---- controls that cannot act are disabled ------------------------------------------------------------------------

function setEnabled(selector, enabled) {
  const button = $(selector);
  if (!button || button.classList.contains('working')) return;
  button.disabled = !enabled;
}

function refreshControls() {
  const all = [...devices.values()];
  const open = batchOpen();
  const scanning = open && scan.state === 'scanning';
  setEnabled('#scan-start', all.some((device) => device.class === 'scanner') && !scanning);
  setEnabled('#scan-more', open && !scanning);
  setEnabled('#scan-finish', open && !scanning && scan.pages.length > 0);
  setEnabled('#scan-discard', open);
  const camera = Boolean($('#camera-select').value);
  setEnabled('#capture', camera);
  setEnabled('#camera-toggle', camera);
  setEnabled('#reveal', Boolean(lastRead) && !lastRead.revealed);
  setEnabled('#mask', Boolean(lastRead?.revealed));
  setEnabled('#notice-fill', Boolean(lastRead) && Boolean(currentTemplate()));
  setEnabled('#notice-materials', Boolean(materialsList()));
  setEnabled('#notice-preview', Boolean(currentTemplate()));
  setEnabled('#notice-print', Boolean(currentTemplate()) && printerList.length > 0);
}

// ---- a new case: nothing of the previous applicant stays ----------------------------------------------------------

/** Everything of the case on screen goes: the applicant, the batch view, captures, form values, messages, jobs. */
function clearApplicant({ keepBatch = false } = {}) {
  lastRead = null;
  renderRecord();
  $('#step-identity').classList.remove('done');
  $('#reveal-reason').value = '';
  markField($('#reveal-reason'), null);
  sayOk($('#idcard-status'), () => t('placeCard'), 'progress');
  dialogDone?.('no');
  reasonDone?.(null);
  if (!keepBatch) {
    scan = null;
    runPages.clear();
  }
  captureModes.clear();
  caseItems = [];
  liveState.clear();
  progressOf.clear();
  remembered.clear();
  jobs.clear();
  const image = $('#notice-image');
  if (image.src) URL.revokeObjectURL(image.src);
  image.removeAttribute('src');
  delete image.dataset.title;
  image.hidden = true;
  closeViewer();
  hideUndo();
  for (const target of [...messageOf.keys()]) {
    if (target.id !== 'signin-message' && target.id !== 'assist-status' && target.isConnected) clearMessage(target);
  }
  sayOk($('#idcard-status'), () => t('placeCard'), 'progress');
  for (const element of document.querySelectorAll('[data-i18n-value]')) element.value = t(element.dataset.i18nValue);
  $('#assist-material').value = '';
  $('#assist-ring-text').textContent = '';
  $('#reason-input').value = '';
  for (const step of document.querySelectorAll('.step')) step.classList.remove('done');
  renderScan();
  renderJobs();
  renderForm();
  renderCase();
}

function commitCase() {
  currentCase = caseNumber();
  if (currentCase) sessionStorage.setItem('tongban.case-number', currentCase); else sessionStorage.removeItem('tongban.case-number');
}

async function newCase() {
  if (batchOpen()) {
    const scanning = scan.state === 'scanning';
    const choice = await confirmDialog({ text: fill(t('newCaseText'), { case: scan.caseNumber, pages: scan.pages.length, material: scan.materialName }),
      yes: scanning || !scan.pages.length ? t('keepLater') : t('finishIt'), other: t('discardIt'), later: scanning || !scan.pages.length ? undefined : t('keepLater') });
    if (choice === 'no') throw CALLED_OFF;
    if (choice === 'yes' && !scanning && scan.pages.length) await finishBatch({ ask: false });
    else if (choice === 'other') await discardBatch();
    else otherBatches = [...otherBatches.filter((batch) => batch.id !== scan.id), scan]; // kept for later
  }
  $('#case-number').value = '';
  commitCase();
  clearApplicant();
  loadOpenBatches().catch(() => {});
  $('#case-number').focus();
}
$('#new-case').addEventListener('click', (event) => act(event.currentTarget, $('#notice'), newCase));

// The case number is typed once per case and survives a reload of the page; another number is another case: what
// was shown of the previous applicant goes (an open batch stays, showing its own case number).
$('#case-number').value = sessionStorage.getItem('tongban.case-number') ?? '';
currentCase = $('#case-number').value.trim();
$('#case-number').addEventListener('change', () => {
  const previous = currentCase;
  commitCase();
  if (previous && previous !== currentCase) clearApplicant({ keepBatch: true });
  if (previous !== currentCase && entered) loadOpenBatches({ pickUp: true }).catch((error) => say($('#scan-status'), error));
  renderScan();
  refreshCase();
});
$('#operator').value = sessionStorage.getItem('tongban.operator') ?? '';
$('#operator').addEventListener('change', () => {
  sessionStorage.setItem('tongban.operator', $('#operator').value.trim());
  // The form's 收件人/经办人 follows the header unless the clerk typed one there.
  for (const input of $('#notice-form').querySelectorAll('[data-operator]')) {
    if (!input.dataset.typed) input.value = operator() ?? '';
  }
});

// ---- events log, keyboard, language, start -------------------------------------------------------------------

tongban.on('*', (event) => {
  const list = $('#events');
  list.prepend(make('li', { textContent: `${chinaTime(event.time, { seconds: true })} ${event.type}` }));
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
      const id = scan.id;
      const answer = await tongban.scan(id).catch(() => null);
      if (scan?.id === id) scan = answer;
      renderScan();
    }
    refreshCase();
  } catch (error) {
    say($('#notice'), error);
  }
}

function applyLanguage() {
  document.documentElement.lang = language === 'zh' ? 'zh-CN' : 'en';
  for (const element of document.querySelectorAll('[data-i18n]')) {
    if (!messageOf.has(element)) element.textContent = t(element.dataset.i18n);
  }
  for (const element of document.querySelectorAll('[data-i18n-placeholder]')) element.placeholder = t(element.dataset.i18nPlaceholder);
  for (const element of document.querySelectorAll('[data-i18n-value]')) {
    // A default the clerk has not changed follows the language; a typed value stays.
    if (texts[element.dataset.i18nValue].includes(element.value)) element.value = t(element.dataset.i18nValue);
  }
  for (const option of document.querySelectorAll('#sim-card option')) option.textContent = pick(cardNames[option.dataset.card]);
  showReasonTexts();
  $('#paper').textContent = t('paper');
  if (counterId) $('#counter').textContent = `${t('counter')} ${counterId}`;
  $('#language').textContent = language === 'zh' ? 'English' : '中文';
  $('#signin-language').textContent = $('#language').textContent;
  for (const target of messageOf.keys()) drawMessage(target);
  renderSignInMessage();
  renderDevices();
  renderRecord();
  renderScan();
  renderTemplates();
  renderPrinters();
  renderJobs();
  renderCase();
  showConnection(tongban.connectionState);
}

/**
 * Runs a shortcut's button as a click would, only when it can act; otherwise `why()` may say why (Alt+S while the
 * scanner scans), or nothing happens.
 */
const press = (selector, why) => () => {
  const button = $(selector);
  if (button && !button.disabled && !button.closest('[hidden]')) button.click();
  else why?.();
};

const shortcuts = {
  n: press('#new-case'),
  k: () => $('#case-number').focus(),
  s: press('#scan-start', () => {
    if (batchOpen() && scan.state === 'scanning') say($('#scan-status'), consoleProblem('scan-batch-scanning'));
    else if (![...devices.values()].some((device) => device.class === 'scanner')) say($('#scan-status'), consoleProblem('no-scanner'));
  }),
  f: press('#scan-finish'),
  c: press('#capture'),
  p: press('#notice-print'),
  v: () => (lastRead && !lastRead.revealed ? $('#reveal-reason').focus() : null),
  l: () => {
    language = language === 'zh' ? 'en' : 'zh';
    localStorage.setItem('tongban.language', language);
    applyLanguage();
  },
};
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape') {
    if (!$('#confirm').hidden) dialogDone?.('no');
    else if (!$('#reason-dialog').hidden) reasonDone?.(null);
    else if (!$('#viewer').hidden) closeViewer();
    else if (!$('#drawer').hidden) toggleDrawer(false);
    else return;
    event.preventDefault();
    return;
  }
  const action = event.altKey && !event.ctrlKey && !event.metaKey ? shortcuts[event.key.toLowerCase()] ?? shortcuts[event.code?.replace(/^Key/, '').toLowerCase()] : null;
  if (!action) return;
  event.preventDefault();
  // Signed out, only the language switches: the panels behind the sign-in do nothing; nor while a dialog asks.
  if (!$('#signin').hidden && action !== shortcuts.l) return;
  if (modalOpen() && action !== shortcuts.l) return;
  action();
});
$('#language').addEventListener('click', shortcuts.l);
$('#signin-language').addEventListener('click', shortcuts.l);

let counterId = '';

async function start() {
  applyLanguage();
  sayOk($('#idcard-status'), () => t('placeCard'), 'progress');
  try {
    const health = await tongban.getHealth();
    counterId = health.counterId;
    $('#counter').textContent = `${t('counter')} ${counterId}`;
    $('#signin-demo').hidden = health.demo !== true;
    clerk = await tongban.session();
  } catch (error) {
    say($('#notice'), error);
    return;
  }
  if (clerk) await enter(); else showSignIn();
}

start();
