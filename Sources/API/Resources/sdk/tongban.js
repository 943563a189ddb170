// tongban.js — the browser SDK for Tongban, the counter PC's device service.
//
// A plain ES module without dependencies: a case system imports it straight from the service,
//   import { Tongban } from 'http://127.0.0.1:8808/sdk/tongban.js';
//   const tongban = await Tongban.connect({ assertion: () => myBackend.tongbanAssertion() });
//   tongban.on('idcard.read', (event) => fillForm(event.data.record));
// Its page's origin must be listed in the service's api.allowedOrigins, and everything that changes state or
// shows personal data needs a credential: a case system's page passes `assertion` (a short-lived ES256 JWT its
// own backend signs), the console signs its clerk in (`signIn`: the session key it gets is sent as
// `Authorization: Bearer tbs_…`, `?session=` where no header can be set), scripts pass the API `token`.
// No credential rides on a cookie: cookies are not scoped by port, so another program on 127.0.0.1 could get them.
// Types: /sdk/tongban.d.ts.

/** Where the service listens unless told otherwise. */
export const DEFAULT_BASE_URL = 'http://127.0.0.1:8808';

/** Problem codes that mean "no (valid) credential": the console shows its sign-in on these. */
export const CREDENTIAL_CODES = Object.freeze(['credential-required', 'not-signed-in', 'credential-invalid']);

/**
 * Where a clerk's session key is kept in `sessionStorage` (option `session: 'sessionStorage'`): per tab and per
 * origin — port included, unlike a cookie — so it survives a reload of the page and nothing else gets it.
 */
export const SESSION_STORAGE_KEY = 'tongban.sessionKey';

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Every failure the SDK reports: the service's problem details (code, message, remedy) or an unreachable service. */
export class TongbanError extends Error {
  constructor(problem) {
    super(problem.detail ? `${problem.title}: ${problem.detail}` : problem.title);
    this.name = 'TongbanError';
    /** Stable machine-readable code, e.g. `scanner-jammed`, `credential-required`, `service-unreachable`. */
    this.code = problem.code;
    /** HTTP status (0 when the service could not be reached). */
    this.status = problem.status ?? 0;
    this.title = problem.title;
    this.detail = problem.detail ?? '';
    /** What the clerk or administrator should do about it. */
    this.remedy = problem.remedy ?? '';
    /** The device concerned, if any. */
    this.device = problem.device;
    /** Seconds to wait before trying again (`Retry-After`), when the service said so (e.g. `sign-in-locked`). */
    this.retryAfter = problem.retryAfter;
    /**
     * The request's fields that were not valid (`notice-data-invalid`): `[{name, kind, reason}]`, `name` a path
     * such as `matterName` or `materials[0].name`, `kind` required, unknown or invalid. Empty otherwise.
     */
    this.invalidParams = Array.isArray(problem.invalidParams) ? problem.invalidParams : [];
    /**
     * What made a capture doubtful (`capture-needs-retake`, `document-out-of-frame`): `blur`, `glare`,
     * `low-resolution`, `out-of-frame`. Nothing was stored: capture again, or again with `insist: true` to keep it.
     */
    this.warnings = Array.isArray(problem.warnings) ? problem.warnings : [];
  }

  /**
   * True when the call failed for want of a valid credential (401 `credential-required`, `not-signed-in`,
   * `credential-invalid`: none, or a session key that is no longer valid): sign in again.
   */
  get needsCredential() {
    return this.status === 401 && CREDENTIAL_CODES.includes(this.code);
  }

  /** Reads an error response: the problem document when there is one, otherwise the status line. */
  static async fromResponse(response, what) {
    return new TongbanError(await readProblem(response, what));
  }
}

/**
 * The problem an error response carries. A JSON body with a `code` is taken as the problem whatever its declared
 * type; anything else becomes `http-<status>`. `status` comes from the response when the body leaves it out.
 */
async function readProblem(response, what) {
  let problem = null;
  try {
    const text = await response.text();
    const parsed = text ? JSON.parse(text) : null;
    if (parsed && typeof parsed === 'object' && typeof parsed.code === 'string') problem = parsed;
  } catch {
    problem = null;
  }
  const retryAfter = Number.parseInt(response.headers.get('Retry-After') ?? '', 10);
  if (!problem) {
    problem = {
      code: `http-${response.status}`, title: `${response.status} ${response.statusText}`.trim(),
      detail: what, remedy: 'Check the request against /v1/openapi.yaml.',
    };
  }
  return {
    ...problem,
    status: typeof problem.status === 'number' ? problem.status : response.status,
    title: problem.title ?? problem.code,
    retryAfter: Number.isFinite(retryAfter) ? retryAfter : problem.retryAfter,
  };
}

function unreachable(baseUrl, cause) {
  return new TongbanError({
    code: 'service-unreachable', status: 0, title: '无法连接通办服务 Tongban unreachable',
    detail: `${baseUrl}: ${cause?.message ?? cause}`,
    remedy: '确认本机通办服务已启动，且本页面的来源已列入 api.allowedOrigins。Check that Tongban runs on this PC '
      + '(systemctl status tongban) and that this page\'s origin is in api.allowedOrigins (tongban doctor).',
  });
}

/** The page's `assertion` function failed or gave no token: the case system's backend did not sign one. */
function assertionUnavailable(cause) {
  return new TongbanError({
    code: 'assertion-unavailable', status: 0, title: '无法取得办件系统凭据 No case-system assertion',
    detail: `the page's assertion function ${cause ? `failed: ${cause?.message ?? cause}` : 'returned no token'}`,
    remedy: '请重新登录办件系统后再试。Sign in to the case system again; its backend signs the assertion Tongban needs.',
  });
}

/** A fresh Idempotency-Key: a random UUID (also where `crypto.randomUUID` is missing: pages not in a secure context). */
export function newIdempotencyKey() {
  if (typeof crypto !== 'undefined' && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The SDK's own events, which `'*'` does not include: the stream's state and refused credentials. */
const LOCAL_EVENTS = new Set(['connection', 'credential']);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether a request body can be sent a second time (a stream is used up by the first attempt). */
const resendable = (body) => !(typeof ReadableStream !== 'undefined' && body instanceof ReadableStream);

const segment = (value) => encodeURIComponent(String(value));

/**
 * `base` with `query` appended, each value percent-encoded (a space as %20, never `+`: URLSearchParams would write a
 * typed reason "核对 身份" as "核对+身份"). Undefined and null values are left out.
 */
function withQuery(base, query) {
  const parts = Object.entries(query ?? {}).filter(([, value]) => value !== undefined && value !== null)
    .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(String(value))}`);
  return parts.length ? `${base}${base.includes('?') ? '&' : '?'}${parts.join('&')}` : base;
}

/** The page's `sessionStorage`, or null where there is none or it may not be used (a sandboxed frame, Node). */
function pageSessionStorage() {
  try {
    return typeof sessionStorage === 'undefined' ? null : sessionStorage;
  } catch {
    return null; // reading the property itself throws where storage is denied
  }
}

/** Runs a storage operation; storage that is full or denied only means the key is not kept across reloads. */
function tryStorage(operation) {
  try {
    return operation();
  } catch {
    return null;
  }
}

/** A connection to the counter's Tongban: typed calls for the whole API and one event stream. */
export class Tongban {
  /**
   * @param {{baseUrl?: string, token?: string, assertion?: (options: {renew: boolean}) => Promise<string> | string,
   *   session?: 'sessionStorage' | 'memory', sessionKey?: string,
   *   reconnectDelayMs?: number, maxReconnectDelayMs?: number, retryDelayMs?: number}} options
   */
  constructor(options = {}) {
    this.baseUrl = (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    this.token = options.token ?? null;
    /** The case system's assertion source: called before every request and every (re)connect of the stream. */
    this.assertion = options.assertion ?? null;
    const keeping = options.session ?? 'sessionStorage';
    if (keeping !== 'sessionStorage' && keeping !== 'memory') {
      throw new TypeError(`Tongban: option session must be 'sessionStorage' or 'memory', not ${JSON.stringify(keeping)}`);
    }
    /** Where the clerk's session key is kept besides this instance: the page's sessionStorage, or nowhere. */
    this._storage = keeping === 'sessionStorage' ? pageSessionStorage() : null;
    /** The clerk's session key (`tbs_…`): given, or left in this tab by an earlier sign-in (a reload). */
    this._sessionKey = options.sessionKey
      ?? (this._storage ? tryStorage(() => this._storage.getItem(SESSION_STORAGE_KEY)) : null) ?? null;
    this.reconnectDelayMs = options.reconnectDelayMs ?? 500;
    this.maxReconnectDelayMs = options.maxReconnectDelayMs ?? 10_000;
    /** Pause before a state-changing call that met a network error is sent once more (same Idempotency-Key). */
    this.retryDelayMs = options.retryDelayMs ?? 500;
    /** Sequence of the newest event received; the stream resumes after it when it reconnects. */
    this.lastSequence = null;
    /** `connecting`, `open`, `reconnecting` or `closed`. */
    this.connectionState = 'closed';
    /** When the connected run of the service started (from its hello); a change means it restarted. */
    this.instance = undefined;
    this._listeners = new Map();
    this._socket = null;
    this._wanted = false;
    this._delay = this.reconnectDelayMs;
    this._timer = null;
    this._everOpen = false;
    this._generation = 0;
  }

  /** Checks the service answers (`GET /v1/health`), opens the event stream and resolves with the connection. */
  static async connect(options = {}) {
    const tongban = new Tongban(options);
    tongban.health = await tongban.getHealth();
    if (options.events !== false) await tongban.openEvents();
    return tongban;
  }

  // ---- credentials ---------------------------------------------------------------------------------------------

  /** The clerk's session key this instance holds (`tbs_…`), or null: set by `signIn`, gone after `signOut`. */
  get sessionKey() {
    return this._sessionKey;
  }

  /** The session key when it is the credential to send: a page uses one of token, assertion and session key. */
  _sessionCredential() {
    return !this.token && !this.assertion ? this._sessionKey : null;
  }

  _keepSessionKey(key) {
    this._sessionKey = key;
    if (this._storage) tryStorage(() => this._storage.setItem(SESSION_STORAGE_KEY, key));
  }

  /** Forgets `key` (the one held when left out) — not a newer one a sign-in put in its place meanwhile. */
  _forgetSessionKey(key = this._sessionKey) {
    if (!key || this._sessionKey !== key) return;
    this._sessionKey = null;
    if (this._storage) {
      tryStorage(() => {
        if (this._storage.getItem(SESSION_STORAGE_KEY) === key) this._storage.removeItem(SESSION_STORAGE_KEY);
      });
    }
  }

  // ---- HTTP ----------------------------------------------------------------------------------------------------

  /** The page's assertion, from its `assertion` function (`renew` after the service refused the previous one). */
  async _assertion(renew = false) {
    let value;
    try {
      value = await this.assertion({ renew });
    } catch (error) {
      throw error instanceof TongbanError ? error : assertionUnavailable(error);
    }
    if (typeof value !== 'string' || !value) throw assertionUnavailable(null);
    return value;
  }

  /**
   * One call of the API. A state-changing call (POST, PUT, PATCH, DELETE) carries a fresh `Idempotency-Key` (or
   * `idempotencyKey`), kept for the SDK's own retries of it: once after a network error, once with a renewed
   * assertion after a 401, and — while the service is still serving the first attempt (409
   * `idempotency-key-in-use`) — until that one has answered. `idempotent: false` sends no key and does not retry.
   * The credential goes as `Authorization: Bearer …`: the token, else the page's assertion, else the clerk's session
   * key (`session: false` leaves the key out). A 401 for want of a valid credential forgets the session key it
   * carried. No cookie is a credential.
   */
  async request(method, path, { json, body, contentType, query, raw = false, idempotencyKey, idempotent = true,
    credentialEvent = true, session = true } = {}) {
    method = method.toUpperCase();
    const url = withQuery(new URL(this.baseUrl + path).toString(), query);
    const changing = STATE_CHANGING.has(method) && idempotent;
    const headers = {};
    if (changing) headers['Idempotency-Key'] = idempotencyKey ?? newIdempotencyKey();
    if (json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(json);
    } else if (contentType) {
      headers['Content-Type'] = contentType;
    }
    const canResend = resendable(body);
    let networkRetried = false;
    let renewed = false;
    let waitingSince = null;
    let sentKey = null;
    for (;;) {
      sentKey = null;
      delete headers.Authorization;
      if (this.token) {
        headers.Authorization = `Bearer ${this.token}`;
      } else if (this.assertion) {
        headers.Authorization = `Bearer ${await this._assertion(renewed)}`;
      } else if (session && this._sessionKey) {
        sentKey = this._sessionKey;
        headers.Authorization = `Bearer ${sentKey}`;
      }
      let response;
      try {
        response = await fetch(url, { method, headers, body, credentials: 'same-origin' });
      } catch (error) {
        // No answer at all. A state-changing call may have been done all the same: its retry carries the same
        // key, so the service answers the first result instead of doing it twice.
        if (changing && canResend && !networkRetried) {
          networkRetried = true;
          await sleep(this.retryDelayMs);
          continue;
        }
        throw unreachable(this.baseUrl, error);
      }
      if (response.ok) {
        if (raw) return response;
        if (response.status === 204 || !(response.headers.get('Content-Type') ?? '').includes('json')) return null;
        return response.json();
      }
      const error = new TongbanError(await readProblem(response, `${method} ${path}`));
      // Our own earlier attempt is still being served (its answer was lost): wait for it, then get its result.
      if (error.code === 'idempotency-key-in-use' && networkRetried && canResend) {
        waitingSince ??= Date.now();
        if (Date.now() - waitingSince < 120_000) {
          await sleep(1000);
          continue;
        }
      }
      // A cached assertion may have expired since: ask the page for a new one, once.
      if (error.status === 401 && this.assertion && !this.token && !renewed && canResend) {
        renewed = true;
        continue;
      }
      // The session key it carried is dead (signed out, expired, the service restarted): it is not sent again.
      if (error.needsCredential && sentKey) this._forgetSessionKey(sentKey);
      if (error.needsCredential && credentialEvent) {
        this._dispatch({ type: 'credential', data: { code: error.code, status: error.status, method, path, error } });
      }
      throw error;
    }
  }

  /**
   * The absolute URL of `path` with `query`, for what the browser loads itself (`<img src>`, `<video src>`,
   * `<a href>`), which cannot carry a header: the clerk's session key goes along as `session=tbs_…` when it is the
   * credential. Make it anew after signing in again: a URL with a dead key is refused.
   */
  url(path, query = {}) {
    const key = this._sessionCredential();
    return withQuery(new URL(this.baseUrl + path).toString(), key ? { ...query, session: key } : query);
  }

  // ---- the console's clerk session ------------------------------------------------------------------------------

  /**
   * Signs a clerk in to the console. The session key the service answers is kept on this instance (`sessionKey`)
   * and, with `session: 'sessionStorage'` (the default), in the tab's sessionStorage, where a new instance after a
   * reload finds it; from now on every call sends it. Resolves with `{clerk, name, expiresAt}`; a wrong clerk or
   * PIN rejects with `sign-in-failed`, too many with `sign-in-locked` (`retryAfter` seconds).
   */
  async signIn(clerk, pin) {
    // No Idempotency-Key: a replayed answer would hand out the same key twice, and signing in again is harmless.
    // No session key either: a dead one left from before would have the sign-in refused as `credential-invalid`.
    const answer = await this.request('POST', '/v1/session',
      { json: { clerk, pin }, idempotent: false, credentialEvent: false, session: false });
    const { sessionKey, ...signedIn } = answer ?? {};
    if (typeof sessionKey === 'string' && sessionKey) this._keepSessionKey(sessionKey);
    return signedIn;
  }
  /**
   * Signs the clerk out: `DELETE /v1/session` with the key, which is then forgotten (here and in sessionStorage)
   * even when that call fails — the failure is still thrown (the service may not know yet: the key lives on there
   * until it expires or the service restarts). Resolves with null at once when no session key is held.
   */
  async signOut() {
    const key = this._sessionKey;
    if (!key) return null;
    try {
      return await this.request('DELETE', '/v1/session', { idempotent: false, credentialEvent: false });
    } finally {
      this._forgetSessionKey(key);
    }
  }
  /**
   * The signed-in clerk `{clerk, name, expiresAt}`, or null when nobody is signed in (a session key that is no
   * longer valid is forgotten then).
   */
  async session() {
    try {
      return await this.request('GET', '/v1/session', { credentialEvent: false });
    } catch (error) {
      if (error.needsCredential) return null;
      throw error;
    }
  }

  // ---- service and devices -------------------------------------------------------------------------------------

  getHealth() { return this.request('GET', '/v1/health'); }
  devices({ refresh = false } = {}) { return this.request('GET', '/v1/devices', { query: refresh ? { refresh: 'true' } : {} }); }
  device(id) { return this.request('GET', `/v1/devices/${segment(id)}`); }

  // ---- ID card -------------------------------------------------------------------------------------------------

  /** Reads the card on the reader now (waits up to `timeoutMs`); `reveal` needs a `reason`, which is audited. */
  readCard({ device, timeoutMs, reveal, reason } = {}) {
    return this.request('POST', '/v1/idcard/read', { json: { device, timeoutMs, reveal, reason } });
  }
  /** A stored identity record, masked unless `reveal` with a `reason` (audited). */
  identityRecord(id, { reveal = false, reason } = {}) {
    return this.request('GET', `/v1/idcard/records/${segment(id)}`, { query: reveal ? { reveal: 'true', reason } : {} });
  }
  /** Demo only: place (`card`: resident, hkMacaoTaiwan, foreigner2017, foreigner2023) or lift the simulated card. */
  simulateCard(action, card) { return this.request('POST', '/v1/sim/idcard', { json: { action, card } }); }

  // ---- scanning ------------------------------------------------------------------------------------------------

  startScan(request) { return this.request('POST', '/v1/scans', { json: request }); }
  scans({ state } = {}) { return this.request('GET', '/v1/scans', { query: { state } }); }
  scan(id) { return this.request('GET', `/v1/scans/${segment(id)}`); }
  /** Scans more pages into a batch: appended, inserted at `position`, or replacing page `replace`. */
  scanMore(id, options = {}) { return this.request('POST', `/v1/scans/${segment(id)}/pages`, { json: options }); }
  reorderPages(id, pageIds) { return this.request('PUT', `/v1/scans/${segment(id)}/order`, { json: { pageIds } }); }
  rotatePage(id, pageId, rotation) {
    return this.request('PATCH', `/v1/scans/${segment(id)}/pages/${segment(pageId)}`, { json: { rotation } });
  }
  deletePage(id, pageId) { return this.request('DELETE', `/v1/scans/${segment(id)}/pages/${segment(pageId)}`); }
  /** Cancels a batch that is scanning (whole pages kept) or discards one that is not. */
  cancelScan(id) { return this.request('DELETE', `/v1/scans/${segment(id)}`); }
  /** Makes the batch one PDF/A attachment of its case and queues its delivery. */
  finishScan(id, options = {}) { return this.request('POST', `/v1/scans/${segment(id)}/finish`, { json: options }); }
  pageThumbnailUrl(id, pageId) { return this.url(`/v1/scans/${segment(id)}/pages/${segment(pageId)}/thumbnail`); }
  pageImageUrl(id, pageId) { return this.url(`/v1/scans/${segment(id)}/pages/${segment(pageId)}/image`); }

  // ---- cameras -------------------------------------------------------------------------------------------------

  cameras() { return this.request('GET', '/v1/cameras'); }
  camera(id) { return this.request('GET', `/v1/cameras/${segment(id)}`); }
  /** A URL an `<img>` shows as the live preview (multipart JPEG). */
  cameraPreviewUrl(id, { width, height, fps } = {}) {
    return this.url(`/v1/cameras/${segment(id)}/preview`, { width, height, fps });
  }
  setCameraControl(id, name, value) {
    return this.request('PUT', `/v1/cameras/${segment(id)}/controls/${segment(name)}`, { json: { value } });
  }
  /** A still made into an attachment: `mode` document, photo, idcard-front or idcard-back. */
  capture(id, request) { return this.request('POST', `/v1/cameras/${segment(id)}/capture`, { json: request }); }
  /** Both captured card sides at true size on one A4 page with the restricting watermark. */
  makeIDCardCopy(request) { return this.request('POST', '/v1/idcard-copies', { json: request }); }

  // ---- printing ------------------------------------------------------------------------------------------------

  printers() { return this.request('GET', '/v1/printers'); }
  notices() { return this.request('GET', '/v1/notices'); }
  /** Renders a form without printing it; resolves with the PDF or PNG page as a Blob and the page count. */
  async previewNotice(template, data, { format = 'png', page, dpi } = {}) {
    const response = await this.request('POST', `/v1/notices/${segment(template)}/preview`,
      { json: data, query: { format, page, dpi }, raw: true });
    return { blob: await response.blob(), pageCount: Number(response.headers.get('X-Page-Count') ?? '1') };
  }
  /** Prints a form (`template` + `data`) or a receipt; resolves once CUPS accepted the job. */
  print(request) { return this.request('POST', '/v1/prints', { json: request }); }
  /** Prints a PDF as it is. */
  printPdf(pdf, options = {}) {
    return this.request('POST', '/v1/prints', { body: pdf, contentType: 'application/pdf', query: options });
  }
  printJobs({ state } = {}) { return this.request('GET', '/v1/prints', { query: { state } }); }
  printJob(id) { return this.request('GET', `/v1/prints/${segment(id)}`); }
  cancelPrint(id) { return this.request('DELETE', `/v1/prints/${segment(id)}`); }

  // ---- video assistance ----------------------------------------------------------------------------------------

  /** Calls (newest first), the offices this counter answers for online, missed calls this month, the Janus URL. */
  assists() { return this.request('GET', '/v1/assists'); }
  /** Calls the competent office's counter about a case; resolves once it rings (or missed when nobody is online). */
  callOffice({ office, caseNumber, material, withDocumentCamera }) {
    return this.request('POST', '/v1/assists', { json: { office, caseNumber, material, withDocumentCamera } });
  }
  acceptCall(id) { return this.request('POST', `/v1/assists/${segment(id)}/accept`); }
  declineCall(id) { return this.request('POST', `/v1/assists/${segment(id)}/decline`); }
  /** Hangs up (or withdraws a call that still rings); the recording is kept. */
  hangUp(id) { return this.request('DELETE', `/v1/assists/${segment(id)}`); }

  // ---- attachments and delivery --------------------------------------------------------------------------------

  /** A case's attachments; with `text`, only those whose recognised text contains it (white space ignored). */
  attachments({ caseNumber, text } = {}) { return this.request('GET', '/v1/attachments', { query: { case: caseNumber, text } }); }
  /** The text recognised on an attachment (pages apart by a form feed); rejects with 404 `no-text` when none was. */
  async attachmentText(id) {
    const response = await this.request('GET', `/v1/attachments/${segment(id)}/text`, { raw: true });
    return response.text();
  }
  attachment(id) { return this.request('GET', `/v1/attachments/${segment(id)}`); }
  attachmentContentUrl(id) { return this.url(`/v1/attachments/${segment(id)}/content`); }
  /** A small JPEG of the attachment (≤ 320 px; a PDF's first page picture); 404 `no-thumbnail` when it has none. */
  attachmentThumbnailUrl(id) { return this.url(`/v1/attachments/${segment(id)}/thumbnail`); }
  /**
   * Deletes a wrong capture before it is delivered: its delivery is withdrawn and the deletion audited with
   * `reason`; it stays restorable (`restoreAttachment`) for at least ten minutes. Rejects with 409
   * `attachment-delivered` once the case system has it. Resolves with the attachment (its `deletedAt` set).
   */
  deleteAttachment(id, { reason }) {
    return this.request('DELETE', `/v1/attachments/${segment(id)}`, { query: { reason } });
  }
  /** Takes a deletion back: the attachment is listed and delivered again. */
  restoreAttachment(id) { return this.request('POST', `/v1/attachments/${segment(id)}/restore`); }
  /** Stores a file (Blob) as an attachment of a case and queues its delivery. */
  uploadAttachment(file, { caseNumber, materialName, kind = 'other', fileName, pages, device, operator }) {
    return this.request('POST', '/v1/attachments', {
      body: file, contentType: file.type || 'application/octet-stream',
      query: { case: caseNumber, material: materialName, kind, fileName: fileName ?? file.name ?? 'attachment.bin', pages, device, operator },
    });
  }
  outbox() { return this.request('GET', '/v1/outbox'); }
  retryDelivery(id) { return this.request('POST', `/v1/outbox/${segment(id)}/retry`); }
  /** Withdraws an attachment that has not been delivered (captured by mistake). */
  withdrawDelivery(id) { return this.request('DELETE', `/v1/outbox/${segment(id)}`); }

  // ---- events --------------------------------------------------------------------------------------------------

  /**
   * Calls `handler(event)` for every event whose type is `pattern`, starts with `pattern` without its `*`
   * (`'scan.*'`), or for all (`'*'`). `'connection'` reports the stream's state: `{state, restarted, resumed}` —
   * `resumed` when missed events were replayed after a drop, `restarted` when the service restarted in between
   * (reload what the page shows). `'credential'` reports a call refused for want of a valid credential
   * (`{code, status, method, path, error}`: `credential-required`, `not-signed-in` or `credential-invalid`; a
   * session key it carried is forgotten by then) — show the sign-in.
   * Returns the unsubscribe function.
   */
  on(pattern, handler) {
    if (!this._listeners.has(pattern)) this._listeners.set(pattern, new Set());
    this._listeners.get(pattern).add(handler);
    return () => this._listeners.get(pattern)?.delete(handler);
  }

  /** Resolves with the first event of `pattern` that `predicate` accepts; rejects after `timeoutMs`. */
  waitFor(pattern, predicate = () => true, { timeoutMs = 60_000 } = {}) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new TongbanError({ code: 'event-timeout', status: 0, title: '等待超时 Timed out',
          detail: `no ${pattern} event within ${timeoutMs} ms`, remedy: 'Check the device and try again.' }));
      }, timeoutMs);
      const off = this.on(pattern, (event) => {
        if (!predicate(event)) return;
        clearTimeout(timer);
        off();
        resolve(event);
      });
    });
  }

  /** Opens the event stream; resolves once the service said hello. It reconnects by itself until `close()`. */
  openEvents() {
    if (this._socket && this.connectionState === 'open') return Promise.resolve(this);
    this._wanted = true;
    this._generation += 1;
    clearTimeout(this._timer);
    return new Promise((resolve, reject) => this._open(resolve, reject));
  }

  /** Closes the event stream and stops reconnecting. */
  close() {
    this._wanted = false;
    this._generation += 1;
    clearTimeout(this._timer);
    this._socket?.close();
    this._socket = null;
    this._setState('closed');
  }

  async _open(resolve, reject) {
    const generation = this._generation;
    const url = new URL(this.baseUrl.replace(/^http/, 'ws') + '/v1/events');
    if (this.lastSequence !== null) url.searchParams.set('since', String(this.lastSequence));
    this._setState(this.lastSequence === null ? 'connecting' : 'reconnecting');
    // Browsers cannot put headers on a WebSocket: the credential goes in the query (a fresh assertion per connect,
    // the session key held at this connect).
    const sessionKey = this._sessionCredential();
    if (sessionKey) {
      url.searchParams.set('session', sessionKey);
    } else if (this.token) {
      url.searchParams.set('token', this.token);
    } else if (this.assertion) {
      let assertion;
      try {
        assertion = await this._assertion();
      } catch (error) {
        if (generation !== this._generation) {
          reject?.(error);
        } else if (reject) {
          this._wanted = false;
          this._setState('closed');
          reject(error);
        } else {
          this._retryLater();
        }
        return;
      }
      if (generation !== this._generation) { // closed (or opened anew) meanwhile
        reject?.(unreachable(this.baseUrl, new Error('the event stream was closed before it opened')));
        return;
      }
      url.searchParams.set('assertion', assertion);
    }
    let socket;
    try {
      socket = new WebSocket(url);
    } catch (error) {
      reject?.(unreachable(this.baseUrl, error));
      return;
    }
    this._socket = socket;
    let greeted = false;
    socket.onmessage = (message) => {
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      if (event.type === 'hello') {
        greeted = true;
        this._delay = this.reconnectDelayMs;
        // A new instance means the service restarted: its sequence numbers began again, so everything it sends
        // now is new (the replay after `since` included), and what the page holds may be stale.
        const restarted = this.instance !== undefined && event.instance !== this.instance;
        this.instance = event.instance;
        if (this.lastSequence === null) this.lastSequence = event.sequence;
        else if (restarted) this.lastSequence = 0;
        this.counterId = event.counterId;
        this._setState('open', { restarted, resumed: !restarted && this._everOpen === true });
        this._everOpen = true;
        resolve?.(this);
        return;
      }
      if (typeof event.sequence === 'number') {
        if (this.lastSequence !== null && event.sequence <= this.lastSequence) return; // replayed twice
        this.lastSequence = event.sequence;
      }
      this._dispatch(event);
    };
    socket.onclose = () => {
      if (this._socket !== socket) return;
      this._socket = null;
      if (!greeted && reject) {
        // Refused upgrade (origin not allowed) or nothing listening: the browser does not say which.
        this._wanted = false;
        this._setState('closed');
        reject(unreachable(this.baseUrl, new Error('the event stream was refused or could not be opened')));
        return;
      }
      if (!this._wanted) return;
      this._retryLater();
    };
  }

  _retryLater() {
    this._setState('reconnecting');
    clearTimeout(this._timer);
    this._timer = setTimeout(() => this._open(), this._delay);
    this._delay = Math.min(this._delay * 2, this.maxReconnectDelayMs);
  }

  _setState(state, details = {}) {
    if (this.connectionState === state) return;
    this.connectionState = state;
    this._dispatch({ type: 'connection', data: { state, ...details } });
  }

  _dispatch(event) {
    for (const [pattern, handlers] of this._listeners) {
      const matches = pattern === '*' ? !LOCAL_EVENTS.has(event.type)
        : pattern.endsWith('*') ? event.type.startsWith(pattern.slice(0, -1)) : pattern === event.type;
      if (!matches) continue;
      for (const handler of [...handlers]) {
        try {
          handler(event);
        } catch (error) {
          console.error(`tongban: a ${event.type} handler threw`, error);
        }
      }
    }
  }
}
