// Type declarations for tongban.js, written by hand against /v1/openapi.yaml.
// Use: copy next to your code, or `/// <reference path="tongban.d.ts" />`.

export declare const DEFAULT_BASE_URL: string;

/**
 * Problem codes that mean the call lacked a valid credential (`credential-required`, `not-signed-in`,
 * `credential-invalid`): sign in again.
 */
export declare const CREDENTIAL_CODES: readonly string[];

/**
 * The `sessionStorage` item where the clerk's session key is kept (`'tongban.sessionKey'`) with the option
 * `session: 'sessionStorage'`: per tab and per origin, port included (unlike a cookie), so it survives a reload.
 */
export declare const SESSION_STORAGE_KEY: 'tongban.sessionKey';

/** A fresh random Idempotency-Key (a UUID), as the SDK sends with every state-changing call. */
export declare function newIdempotencyKey(): string;

/** RFC 9457 problem details as the service sends them. */
export interface Problem {
  type?: string;
  code: string;
  status: number;
  title: string;
  detail: string;
  remedy?: string;
  device?: string;
  /** The request's fields that were not valid (`notice-data-invalid`). */
  invalidParams?: InvalidParam[];
  /** What made a capture doubtful (`capture-needs-retake`, `document-out-of-frame`). */
  warnings?: string[];
}

/** One field of a request that was not valid. */
export interface InvalidParam {
  /** The field's path: `matterName`, `materials[0].name`. */
  name: string;
  /** `required` (missing or empty), `unknown` (not a field of the form) or `invalid` (wrong type or value). */
  kind: 'required' | 'unknown' | 'invalid';
  /** What is wrong, in words. */
  reason: string;
}

/**
 * Every failure: the service's problem (code, message, remedy) — read also from a cross-origin answer — or one the
 * SDK makes itself: `service-unreachable` (no answer at all: not running, or this page's origin is not allowed),
 * `assertion-unavailable` (the page's `assertion` function failed), `event-timeout`.
 */
export declare class TongbanError extends Error {
  constructor(problem: Problem & { retryAfter?: number });
  readonly name: 'TongbanError';
  /**
   * Stable machine-readable code, e.g. `credential-required`, `not-signed-in`, `credential-invalid`, `sign-in-failed`,
   * `sign-in-locked`, `assertion-invalid`, `idempotency-key-reused`, `no-card`, `printer-jam`, `service-unreachable`.
   */
  readonly code: string;
  /** HTTP status; 0 when the service could not be reached. */
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  /** What to do about it, for the clerk or the administrator. */
  readonly remedy: string;
  readonly device?: string;
  /** Seconds to wait before trying again (`Retry-After`), when the service said so (`sign-in-locked`). */
  readonly retryAfter?: number;
  /** The fields to mark in a form (`notice-data-invalid`); empty for other problems. */
  readonly invalidParams: InvalidParam[];
  /**
   * What made a capture doubtful (`capture-needs-retake`, `document-out-of-frame`): `blur`, `glare`, `low-resolution`,
   * `out-of-frame`. Nothing was stored: capture again, or with `insist: true` to keep it all the same.
   */
  readonly warnings: string[];
  /**
   * True for a 401 `credential-required`, `not-signed-in` or `credential-invalid` (a session key that is no longer
   * valid: signed out, expired, the service restarted): the console shows its sign-in on it.
   */
  readonly needsCredential: boolean;
  static fromResponse(response: Response, what: string): Promise<TongbanError>;
}

/**
 * The clerk signed in to the console. (`POST /v1/session` also answers the session key, `sessionKey: 'tbs_…'`;
 * `signIn` keeps it on the instance — `Tongban.sessionKey` — and leaves it out of what it resolves with.)
 */
export interface ClerkSession {
  /** The clerk's id (what is typed to sign in), e.g. `demo`. */
  clerk: string;
  /** The clerk's name, e.g. 演示柜员; the console's default 经办人 (operator). */
  name: string;
  /** ISO 8601; the session ends then. */
  expiresAt: string;
}

export type DeviceClass = 'idcard' | 'scanner' | 'camera' | 'printer';
export type Availability = 'available' | 'busy' | 'unavailable' | 'error';

export interface Device {
  id: string;
  class: DeviceClass;
  model: string;
  transport: 'usb' | 'serial' | 'sane' | 'cups' | 'v4l2' | 'simulator';
  state: { availability: Availability; message?: string; remedy?: string };
  details: Record<string, string>;
}

export interface DeviceSnapshot {
  devices: Device[];
  problems: { source: string; message: string; remedy: string }[];
  updatedAt?: string;
}

export interface Health {
  status: 'ok';
  version: string;
  counterId: string;
  hall: string;
  uptimeSeconds: number;
  devices: Partial<Record<Availability, number>>;
  /** True when the service runs with `--demo` (the console's demo clerk: `demo`, PIN 000000). */
  demo?: boolean;
}

export type CardType = 'resident' | 'hkMacaoTaiwan' | 'foreigner2017' | 'foreigner2023';

export interface IdentityRecord {
  cardType: CardType;
  name?: string;
  nameEnglish?: string;
  sex?: 'male' | 'female' | 'unknown' | 'unstated';
  ethnicity?: string;
  ethnicityCode?: string;
  birthDate?: string;
  address?: string;
  additionalAddress?: string;
  idNumber?: string;
  issuingAuthority?: string;
  validFrom?: string;
  /** `YYYY-MM-DD` or `long-term`. */
  validUntil?: string;
  passNumber?: string;
  issueCount?: string;
  nationality?: string;
  cardVersion?: string;
  renewalCount?: string;
  previousNumberLink?: string;
  numberValid: boolean;
  warnings: string[];
  photo?: { format: 'wlt' | 'jpeg'; decoded: boolean; jpeg?: string; note?: string };
  masked?: boolean;
}

export interface IdentityRead {
  device: string;
  recordId: string;
  onDemand: boolean;
  record: IdentityRecord;
}

export interface ScanCleanup {
  deskew?: boolean;
  cropBorder?: boolean;
  detectBlank?: boolean;
  bitonal?: boolean;
  jpegQuality?: number;
  minimumSkewDegrees?: number;
  blankInkFraction?: number;
}

export interface ScanRequest {
  caseNumber: string;
  materialName: string;
  device?: string;
  source?: string;
  duplex?: boolean;
  dpi?: number;
  mode?: 'color' | 'gray' | 'lineart';
  paper?: 'A4' | 'A5' | 'B5' | 'letter' | 'legal';
  paperWidthMm?: number;
  paperHeightMm?: number;
  operator?: string;
  cleanup?: ScanCleanup;
  saneOptions?: Record<string, string>;
  maxPages?: number;
  /** Recognise the pages' text (PDF text layer, search); default from the service's scanning.ocr. */
  ocr?: boolean;
  /** `pdf` (PDF/A-2b, default) or `ofd` (GB/T 33190-2016). */
  format?: 'pdf' | 'ofd';
}

export interface ScanPage {
  id: string;
  position: number;
  sequence: number;
  encoding: 'jpeg' | 'g4';
  width: number;
  height: number;
  dpi: number;
  size: number;
  sha256: string;
  blank: boolean;
  skewDegrees?: number;
  straightened?: boolean;
  rotation: 0 | 90 | 180 | 270;
  thumbnailUrl: string;
  imageUrl: string;
  /** Lines of text recognised (absent when recognition was not asked for). */
  textLines?: number;
  barcodes?: { type: string; text: string }[];
  /** A case number in a barcode on the page that is not the batch's: another applicant's paper. */
  otherCaseNumber?: string;
  /** Set on a separator sheet: the next material's name ("" when none is printed); the batch is split there. */
  separatorFor?: string;
}

export type ScanState = 'scanning' | 'ready' | 'failed' | 'interrupted' | 'finished' | 'discarded';

export interface Scan {
  id: string;
  device: string;
  caseNumber: string;
  materialName: string;
  state: ScanState;
  problem?: Problem;
  pages: ScanPage[];
  pageCount: number;
  blankPages: number;
  settings?: Record<string, unknown>;
  /** The first attachment the batch was finished into. */
  attachmentId?: string;
  /** Every attachment it was finished into: one per material when separator sheets split it. */
  attachmentIds: string[];
  createdAt: string;
  updatedAt: string;
}

export type AttachmentKind = 'scan' | 'photo' | 'idcard' | 'notice' | 'recording' | 'other';

export interface Attachment {
  attachmentId: string;
  caseNumber: string;
  materialName: string;
  kind: AttachmentKind;
  contentType: string;
  sha256: string;
  size: number;
  pages?: number;
  device?: string;
  counterId: string;
  operator?: string;
  capturedAt: string;
  retentionClass?: string;
  fileName: string;
  /** Set once the clerk deleted it (`deleteAttachment`): withdrawn from delivery, restorable until purged. */
  deletedAt?: string;
  /** QR codes and barcodes found on its pages (the case number on a printed form). */
  barcodes?: { type: string; text: string; page?: number }[];
}

export interface OutboxEntry {
  attachmentId: string;
  caseNumber: string;
  state: 'pending' | 'delivered' | 'failed' | 'cancelled';
  attempts: number;
  uploadURL?: string;
  /** Bytes the case core confirmed. */
  offset: number;
  size: number;
  nextAttemptAt?: string;
  lastError?: string;
  createdAt: string;
  deliveredAt?: string;
}

export interface Outbox {
  /** The tus endpoint or the local archive folder. */
  sink: string;
  undelivered: number;
  failed: number;
  oldestUndeliveredAt?: string;
  entries: OutboxEntry[];
}

export type CaptureMode = 'document' | 'photo' | 'idcard-front' | 'idcard-back';

export interface CaptureRequest {
  mode: CaptureMode;
  caseNumber: string;
  materialName?: string;
  format?: 'jpeg' | 'pdf' | 'ofd';
  enhance?: boolean;
  autoCapture?: boolean;
  stillForMs?: number;
  timeoutMs?: number;
  operator?: string;
  /**
   * Keep it although it is doubtful (out of view, blurred, glare, too few pixels). Without it such a capture is
   * refused with `capture-needs-retake` or `document-out-of-frame` (the error's `warnings` say why) and nothing is
   * stored.
   */
  insist?: boolean;
  /** Recognise a document's text into the PDF's text layer and the search text. */
  ocr?: boolean;
}

/** What a document or card capture found out (document and card modes). */
export interface CaptureAssessment {
  decision: 'page' | 'card';
  /** The flat document's width ÷ height as captured. */
  aspect: number;
  aspectMethod: 'fieldOfView' | 'vanishingPoints' | 'sides';
  /** A4, A5, B5, Letter, 16K or ID-1, when it is close to one. */
  standardSize?: string;
  /** Its size on the desk, when the camera's calibration (cameras.viewWidthMillimetres) is known. */
  sizeMillimetres?: { width: number; height: number };
  outOfFrame: boolean;
  roundedCorners?: number;
  sharpness?: number;
  dotsPerInch?: number;
  focalLength?: number;
  /** Kept although doubtful (`insist`): what was doubtful, in words. */
  warnings: { code: string; message: string }[];
}

export interface CaptureResult {
  attachment: Attachment;
  mode: CaptureMode;
  /** The camera picture's size. */
  pictureWidth: number;
  pictureHeight: number;
  /** The attachment image's size. */
  width: number;
  height: number;
  /** Where the page or card was found in the picture (document and card modes). */
  corners?: { x: number; y: number }[];
  /** Card or page, true proportions and size, what was doubtful (document and card modes). */
  assessment?: CaptureAssessment;
}

export interface CameraMode {
  width: number;
  height: number;
  framesPerSecond: number;
  [key: string]: unknown;
}

export interface Camera {
  /** The device id (`v4l2:/dev/video0`, `sim:camera`); the SDK encodes it in paths. */
  id: string;
  model: string;
  state: Device['state'];
  /** What it streams now, if anyone watches. */
  streaming?: CameraMode;
  viewers: number;
  /** Formats, sizes, rates and controls (`camera(id)` only). */
  capabilities?: Record<string, unknown>;
}

export interface IDCardCopyRequest {
  caseNumber: string;
  /** Attachment id of an idcard-front capture. */
  front: string;
  /** Attachment id of an idcard-back capture. */
  back: string;
  /** The restricting line, e.g. 仅供办理××业务使用，他用无效. */
  watermark: string;
  materialName?: string;
}

export type PrintState = 'submitting' | 'queued' | 'printing' | 'blocked' | 'completed' | 'canceled' | 'failed';

export interface PrintJob {
  id: string;
  printer: string;
  document: string;
  caseNumber?: string;
  copies: number;
  sides?: string;
  media?: string;
  pages?: number;
  cupsJobId?: number;
  state: PrintState;
  ippJobState?: number;
  reasons: string[];
  printerMessage?: string;
  problem?: Problem;
  attachmentId?: string;
  cancelRequested: boolean;
  operator?: string;
  createdAt: string;
  updatedAt: string;
}

export interface Printer {
  id: string;
  name: string;
  roles: ('notices' | 'receipts')[];
  isDefault: boolean;
  makeAndModel?: string;
  location?: string;
  state: 'idle' | 'printing' | 'stopped' | 'unknown';
  reasons: string[];
  message?: string;
  accepting: boolean;
  problem?: Problem;
  warnings: string[];
  capabilities?: { copies?: number[]; sides?: string[]; media?: string[]; printQuality?: string[]; documentFormats?: string[] };
  /** True for a simulator queue (`printers.simulated`, the demo's): nothing it prints reaches paper. */
  simulated?: boolean;
}

export interface NoticeField {
  name: string;
  label: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date' | 'choice' | 'list' | 'object';
  required: boolean;
  /** What the form prints when the field is left empty: show it for the clerk to keep or change. */
  default?: string;
  options?: string[];
  fields?: NoticeField[];
}

export interface NoticeTemplate {
  id: string;
  title: string;
  englishTitle?: string;
  source?: string;
  orientation: 'portrait' | 'landscape';
  fields: NoticeField[];
}

export interface ReceiptRequest {
  hall: string;
  counter: string;
  caseNumber: string;
  matter: string;
  /** Printed masked (张*) unless printFullName. */
  applicant: string;
  printFullName?: boolean;
  materials: string[];
  acceptedAt: string;
  promisedBy?: string;
  enquiries?: string;
}

export interface PrintOptions {
  printer?: string;
  copies?: number;
  sides?: 'one-sided' | 'two-sided-long-edge' | 'two-sided-short-edge';
  media?: string;
  quality?: 3 | 4 | 5;
  operator?: string;
}

export type PrintRequest = PrintOptions & ({ template: string; data: Record<string, unknown> } | { receipt: ReceiptRequest });

export type AssistState = 'ringing' | 'connected' | 'ended' | 'missed' | 'declined' | 'failed';

export interface AssistCall {
  id: string;
  role: 'caller' | 'answerer';
  office: string;
  caseNumber: string;
  material?: string;
  withDocumentCamera: boolean;
  callerCounter: string;
  answerCounter?: string;
  state: AssistState;
  startedAt: string;
  connectedAt?: string;
  endedAt?: string;
  /** local, remote, timeout, offline, answered-elsewhere, janus, shutdown. */
  endedBy?: string;
  problem?: Problem;
  /** The recording (kind `recording`) once the call ended. */
  attachmentId?: string;
  /** The VideoRoom and the other side's feed, to show the other side in a page. */
  room?: string;
  remoteFeed?: string;
}

export interface AssistOverview {
  calls: AssistCall[];
  online: string[];
  missedThisMonth: Record<string, number>;
  /** Offices over the monthly missed-call limit. */
  escalate: string[];
  janusUrl: string;
}

/** One message of the event stream. `data` depends on `type` (see /v1/openapi.yaml). */
export interface TongbanEvent<Data = any> {
  sequence: number;
  time: string;
  type: string;
  data: Data;
}

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface TongbanOptions {
  /** Default `http://127.0.0.1:8808`. */
  baseUrl?: string;
  /** The API token, for software that is not a page of an allowed origin. Never put it in a web page. */
  token?: string;
  /**
   * For a case system's page: resolves with a short-lived assertion (an ES256 JWT) that the case system's own
   * backend signed for its signed-in operator (`iss` = the page's origin, `aud` = `tongban`, at most 300 s). Called
   * before every request (sent as `Authorization: Bearer …`) and every (re)connect of the event stream (sent as
   * `?assertion=…`); it may cache. `renew` is true when the service refused the previous one: return a new one.
   */
  assertion?: (options: { renew: boolean }) => Promise<string> | string;
  /**
   * Where the clerk's session key from `signIn` is kept besides the instance. `'sessionStorage'` (the default; the
   * console's choice): in the page's sessionStorage under `SESSION_STORAGE_KEY` — this tab and this origin only —
   * where a new instance finds it, so a reloaded page stays signed in (call `session()` to check). `'memory'`: on
   * this instance only (also what `'sessionStorage'` comes to where there is no usable sessionStorage).
   * The key is sent as `Authorization: Bearer tbs_…` on every call, as `?session=` on the event stream and in
   * `url()`; never as a cookie. A page uses one credential: `token`, else `assertion`, else the session key.
   */
  session?: 'sessionStorage' | 'memory';
  /** A session key to start with (`tbs_…`), instead of the one sessionStorage may hold. */
  sessionKey?: string;
  reconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
  /** Pause before a state-changing call that got no answer is sent once more with the same Idempotency-Key (500 ms). */
  retryDelayMs?: number;
}

export interface RequestOptions {
  json?: unknown;
  body?: BodyInit;
  contentType?: string;
  query?: Record<string, unknown>;
  /** Resolve with the `Response` itself. */
  raw?: boolean;
  /** The Idempotency-Key of a state-changing call; a fresh UUID when left out. */
  idempotencyKey?: string;
  /** false: no Idempotency-Key and no retry (default true). */
  idempotent?: boolean;
  /** false: a 401 for want of a credential is not reported as a `'credential'` event (default true). */
  credentialEvent?: boolean;
  /** false: the clerk's session key is not sent with this call (default true). */
  session?: boolean;
}

export declare class Tongban {
  constructor(options?: TongbanOptions);
  /** Checks the service, opens the event stream (unless `events: false`) and resolves with the connection. */
  static connect(options?: TongbanOptions & { events?: boolean }): Promise<Tongban>;

  readonly baseUrl: string;
  /** The health answer from `connect`. */
  health?: Health;
  counterId?: string;
  /** When the connected run of the service started; it changes when the service restarts. */
  instance?: string;
  /** Newest event received; the stream resumes after it on reconnect. */
  lastSequence: number | null;
  connectionState: ConnectionState;
  /**
   * The clerk's session key this instance holds (`tbs_…`), or null: set by `signIn` (or picked up from
   * sessionStorage, or the `sessionKey` option), gone after `signOut` and after a 401 `credential-required`,
   * `not-signed-in` or `credential-invalid` to a call that carried it.
   */
  readonly sessionKey: string | null;

  /**
   * One call. A state-changing call (POST, PUT, PATCH, DELETE) carries an `Idempotency-Key`, the same on the SDK's
   * own retries: once after a network error (waiting while the service still serves the first attempt), once with
   * a renewed assertion after a 401. The credential is sent as `Authorization: Bearer …`: the token, else the
   * assertion, else the clerk's session key; a 401 for want of a valid credential forgets the session key it carried.
   */
  request(method: string, path: string, options?: RequestOptions): Promise<any>;
  /**
   * The absolute URL of `path` with `query`, for what the browser loads itself (`<img src>`, `<video src>`,
   * `<a href>`): with the clerk's session key as `session=tbs_…` when it is the credential. Make it anew after a new
   * sign-in (a URL with a dead key is refused). `pageThumbnailUrl`, `pageImageUrl`, `cameraPreviewUrl` and
   * `attachmentContentUrl` are made with it.
   */
  url(path: string, query?: Record<string, unknown>): string;

  /**
   * Signs a clerk in to the console: the session key answered is kept (`sessionKey`; with `session:
   * 'sessionStorage'` also in sessionStorage) and sent with every call from now on. The sign-in itself is sent
   * without a session key. Rejects with `sign-in-failed` (wrong clerk or PIN) or `sign-in-locked` (`retryAfter`).
   */
  signIn(clerk: string, pin: string): Promise<ClerkSession>;
  /**
   * Signs the clerk out (`DELETE /v1/session` with the key); the key is forgotten, here and in sessionStorage, even
   * when that call fails (the failure is still thrown). Resolves with null at once when no session key is held.
   */
  signOut(): Promise<null>;
  /**
   * The signed-in clerk, or null when nobody is signed in (401 `not-signed-in`, `credential-required`, or
   * `credential-invalid`, when the key held is forgotten). After a reload, call it first: a live key in
   * sessionStorage means the clerk is still signed in.
   */
  session(): Promise<ClerkSession | null>;

  getHealth(): Promise<Health>;
  devices(options?: { refresh?: boolean }): Promise<DeviceSnapshot>;
  device(id: string): Promise<Device>;

  readCard(options?: { device?: string; timeoutMs?: number; reveal?: boolean; reason?: string }): Promise<IdentityRead>;
  identityRecord(id: string, options?: { reveal?: boolean; reason?: string }): Promise<IdentityRecord>;
  simulateCard(action: 'place' | 'lift', card?: CardType): Promise<null>;

  startScan(request: ScanRequest): Promise<Scan>;
  scans(options?: { state?: string }): Promise<Scan[]>;
  scan(id: string): Promise<Scan>;
  scanMore(id: string, options?: { position?: number; replace?: string; source?: string; maxPages?: number }): Promise<Scan>;
  reorderPages(id: string, pageIds: string[]): Promise<Scan>;
  rotatePage(id: string, pageId: string, rotation: 0 | 90 | 180 | 270): Promise<Scan>;
  deletePage(id: string, pageId: string): Promise<Scan>;
  cancelScan(id: string): Promise<null>;
  /**
   * Makes the batch its attachment(s): the first one's manifest, with `attachments` listing every one (several when
   * separator sheets split the batch into materials).
   */
  finishScan(id: string, options?: { includeBlank?: boolean; operator?: string }): Promise<Attachment & { attachments: Attachment[] }>;
  pageThumbnailUrl(id: string, pageId: string): string;
  pageImageUrl(id: string, pageId: string): string;

  cameras(): Promise<{ cameras: Camera[] }>;
  camera(id: string): Promise<Camera>;
  cameraPreviewUrl(id: string, options?: { width?: number; height?: number; fps?: number }): string;
  setCameraControl(id: string, name: string, value: number): Promise<{ name: string; value: number }>;
  capture(id: string, request: CaptureRequest): Promise<CaptureResult>;
  makeIDCardCopy(request: IDCardCopyRequest): Promise<Attachment>;

  printers(): Promise<Printer[]>;
  notices(): Promise<NoticeTemplate[]>;
  previewNotice(template: string, data: Record<string, unknown>, options?: { format?: 'png' | 'pdf'; page?: number; dpi?: number }):
    Promise<{ blob: Blob; pageCount: number }>;
  print(request: PrintRequest): Promise<PrintJob>;
  printPdf(pdf: Blob, options?: PrintOptions & { caseNumber?: string; title?: string }): Promise<PrintJob>;
  printJobs(options?: { state?: string }): Promise<PrintJob[]>;
  printJob(id: string): Promise<PrintJob>;
  cancelPrint(id: string): Promise<PrintJob>;

  assists(): Promise<AssistOverview>;
  callOffice(request: { office: string; caseNumber: string; material?: string; withDocumentCamera?: boolean }): Promise<AssistCall>;
  acceptCall(id: string): Promise<AssistCall>;
  declineCall(id: string): Promise<AssistCall>;
  hangUp(id: string): Promise<AssistCall>;

  /** A case's attachments; with `text` (needs `caseNumber`), only those whose recognised text contains it. */
  attachments(options?: { caseNumber?: string; text?: string }): Promise<{ attachment: Attachment; delivery?: OutboxEntry }[]>;
  /** The text recognised on an attachment (pages apart by a form feed); rejects with 404 `no-text` when none was. */
  attachmentText(id: string): Promise<string>;
  attachment(id: string): Promise<Attachment>;
  attachmentContentUrl(id: string): string;
  /** A small JPEG of the attachment (≤ 320 px; a PDF's first page picture); 404 `no-thumbnail` when it has none. */
  attachmentThumbnailUrl(id: string): string;
  /**
   * Deletes a wrong capture before it is delivered (withdrawn from delivery, audited with `reason`); restorable for
   * at least ten minutes. Rejects with 409 `attachment-delivered` once the case system has it.
   */
  deleteAttachment(id: string, options: { reason: string }): Promise<Attachment>;
  /** Takes a deletion back: listed and delivered again. */
  restoreAttachment(id: string): Promise<Attachment>;
  uploadAttachment(file: Blob, options: {
    caseNumber: string; materialName: string; kind?: AttachmentKind; fileName?: string; pages?: number; device?: string; operator?: string;
  }): Promise<Attachment>;
  outbox(): Promise<Outbox>;
  retryDelivery(id: string): Promise<null>;
  withdrawDelivery(id: string): Promise<null>;

  /** `pattern`: an event type, a prefix ending in `*` (`'scan.*'`), `'*'` for all, or `'connection'`. */
  /**
   * `'connection'`: the stream's state. On `open`, `resumed` says missed events were replayed after a drop and
   * `restarted` that the service restarted in between (its state may differ: reload what the page shows).
   */
  on(pattern: 'connection', handler: (event: { type: 'connection'; data: { state: ConnectionState; restarted?: boolean; resumed?: boolean } }) => void): () => void;
  /**
   * A call was refused for want of a valid credential (`credential-required`, `not-signed-in`, `credential-invalid`;
   * a session key it carried is forgotten by then): show the sign-in. Not in `'*'`.
   */
  on(pattern: 'credential', handler: (event: { type: 'credential'; data: { code: string; status: number; method: string; path: string; error: TongbanError } }) => void): () => void;
  on(pattern: string, handler: (event: TongbanEvent) => void): () => void;
  waitFor(pattern: string, predicate?: (event: TongbanEvent) => boolean, options?: { timeoutMs?: number }): Promise<TongbanEvent>;
  openEvents(): Promise<Tongban>;
  close(): void;
}
