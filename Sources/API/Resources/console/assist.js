// Video assistance in the browser, on Janus's own JavaScript client (janus.js, served by Tongban at /vendor/).
// - showRemoteFeed: the console shows the other side of a call Tongban holds (subscribes to its feed).
// - BrowserAnswerer: a clerk without Tongban answers an office's calls in this browser, speaking the same room
//   protocol as Tongban's answering counters (a JSON `display`: role, counter, call).

let loading = null;

/** The standing room of a name (`office:…`): the same FNV-1a number Tongban computes (VideoRoom.roomNumber). */
export function roomNumber(name) {
  let hash = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(name)) {
    hash ^= BigInt(byte);
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return Number(hash % 9000000000n + 1000000000n);
}

/** Loads adapter.js and janus.js once and initialises Janus. */
export function loadJanus() {
  loading ??= (async () => {
    for (const name of ['adapter.js', 'janus.js']) {
      await new Promise((resolve, reject) => {
        const script = document.createElement('script');
        script.src = `/vendor/${name}`;
        script.onload = resolve;
        script.onerror = () => reject(new Error(`/vendor/${name} is missing: install libjs-janus-gateway and libjs-webrtc-adapter`));
        document.head.append(script);
      });
    }
    await new Promise((resolve) => window.Janus.init({ debug: false, dependencies: window.Janus.useDefaultDependencies(), callback: resolve }));
    return window.Janus;
  })();
  return loading;
}

function connect(Janus, server) {
  return new Promise((resolve, reject) => {
    const janus = new Janus({ server, success: () => resolve(janus), error: (error) => reject(new Error(`Janus at ${server}: ${error}`)) });
  });
}

function attach(janus, callbacks) {
  return new Promise((resolve, reject) => {
    janus.attach({ plugin: 'janus.plugin.videoroom', ...callbacks, success: resolve, error: (error) => reject(new Error(String(error))) });
  });
}

/** The `<video>` showing a further video track of the other side (see `play`), if there is one. */
const furtherView = (video, track) => [...(video.parentElement?.querySelectorAll('video[data-track]') ?? [])]
  .find((view) => view.dataset.track === track.id) ?? null;

/**
 * Plays a remote track: audio and the first video share `video`; every further video (the document camera the
 * other side shows) gets a `<video class="further-video">` of its own after it, removed when its track goes.
 */
function play(video, track, on) {
  const stream = video.srcObject instanceof MediaStream ? video.srcObject : new MediaStream();
  const view = furtherView(video, track);
  if (view && !on) {
    view.remove();
    return;
  }
  if (view || (on && track.kind === 'video' && stream.getVideoTracks().some((other) => other !== track))) {
    showFurther(video, view, track);
    return;
  }
  if (on) {
    if (!stream.getTracks().includes(track)) stream.addTrack(track);
  } else if (stream.getTracks().includes(track)) {
    stream.removeTrack(track);
  }
  if (video.srcObject !== stream) video.srcObject = stream;
  video.play?.().catch(() => {});
}

/** Shows `track` in its further video (`view`, or a new one after the last further video of `video`). */
function showFurther(video, view, track) {
  if (!view) {
    view = Object.assign(document.createElement('video'), { autoplay: true, playsInline: true, muted: true, className: 'further-video' });
    view.dataset.track = track.id;
    ([...video.parentElement.querySelectorAll('video.further-video')].pop() ?? video).after(view);
  }
  view.srcObject = new MediaStream([track]);
  view.play?.().catch(() => {});
}

/** Empties `video` and removes the further videos shown next to it. */
export function clearRemoteViews(video) {
  if (!video) return;
  video.srcObject = null;
  for (const view of video.parentElement?.querySelectorAll('video.further-video') ?? []) view.remove();
}

/** Subscribes `video` to `feed` in `room`; resolves with { stop(), peerConnection() }. */
export async function showRemoteFeed(server, room, feed, video) {
  const Janus = await loadJanus();
  const janus = await connect(Janus, server);
  let handle = null;
  handle = await attach(janus, {
    onmessage: (message, jsep) => {
      if (jsep) {
        handle.createAnswer({ jsep, tracks: [{ type: 'data' }], success: (answer) =>
          handle.send({ message: { request: 'start', room: Number(room) }, jsep: answer }) });
      }
    },
    onremotetrack: (track, mid, on) => play(video, track, on),
  });
  handle.send({ message: { request: 'join', room: Number(room), ptype: 'subscriber', streams: [{ feed: Number(feed) || feed }] } });
  return { stop: () => { janus.destroy(); clearRemoteViews(video); }, peerConnection: () => handle.webrtcStuff?.pc };
}

const displayOf = (participant) => {
  try {
    const display = JSON.parse(participant?.display ?? '');
    return display?.tongban === 1 ? display : null;
  } catch {
    return null;
  }
};

/**
 * A browser that answers an office's calls: online in the office's room like a counter, rings on a caller,
 * accepts (publishes this browser's camera and microphone, shows the caller), declines, hangs up.
 * `on(event, data)` gets `online`, `ringing`, `connected`, `ended`, `error`.
 */
export class BrowserAnswerer {
  constructor({ server, room, office, counter, remoteVideo, localVideo, on }) {
    Object.assign(this, { server, room: Number(room), office, counter, remoteVideo, localVideo, on });
    this.call = null;
  }

  async goOnline() {
    const Janus = await loadJanus();
    this.janus = await connect(Janus, this.server);
    this.handle = await attach(this.janus, {
      onmessage: (message, jsep) => this.message(message, jsep),
      onlocaltrack: (track, on) => { if (this.localVideo && track.kind === 'video') play(this.localVideo, track, on); },
    });
    // The office's room exists once a counter went online or called; the first one creates it (as Tongban does).
    await new Promise((resolve) => this.handle.send({
      message: { request: 'create', room: this.room, description: `office ${this.office}`, publishers: 4, videocodec: 'vp8',
        audiocodec: 'opus', bitrate: 2000000, fir_freq: 5, notify_joining: true },
      success: resolve, error: resolve,
    }));
    this.handle.send({ message: { request: 'join', room: this.room, ptype: 'publisher',
      display: JSON.stringify({ tongban: 1, role: 'answerer', counter: this.counter, office: this.office }) } });
  }

  message(message, jsep) {
    if (jsep) this.handle.handleRemoteJsep({ jsep });
    if (message.videoroom === 'joined') {
      this.on('online', { office: this.office });
      // A caller already waiting (joined before this page) or whose joining event did not arrive is found by asking.
      this.poll();
      this.poller = setInterval(() => this.poll(), 2000);
    }
    if (message.error) this.on('error', { message: message.error });
    if (message.joining) this.ring(message.joining);
    for (const publisher of message.publishers ?? []) {
      const display = displayOf(publisher);
      if (display?.role === 'caller' && display.call === this.call?.id && this.call.state === 'connected') this.subscribe(publisher.id);
    }
    const gone = message.leaving ?? message.unpublished;
    if (gone && this.call && (gone === this.call.participant || gone === this.call.feed)) this.finish('remote');
  }

  ring(participant) {
    const caller = displayOf(participant);
    if (caller?.role !== 'caller' || this.call || caller.call === this.lastCall) return;
    this.call = { ...caller, id: caller.call, participant: participant.id, state: 'ringing', ringingAt: performance.now() };
    this.on('ringing', this.call);
  }

  poll() {
    this.handle.send({ message: { request: 'listparticipants', room: this.room }, success: (result) => {
      const participants = result?.participants ?? [];
      for (const participant of participants) this.ring(participant);
      // A ringing caller that is no longer in the room gave up.
      if (this.call?.state === 'ringing' && !participants.some((p) => p.id === this.call.participant)) this.finish('remote');
    } });
  }

  accept() {
    const call = this.call;
    call.state = 'connected';
    call.acceptedAt = performance.now();
    this.handle.createOffer({
      tracks: [{ type: 'audio', capture: true, recv: false }, { type: 'video', capture: true, recv: false }],
      success: (jsep) => this.handle.send({ message: { request: 'publish', audio: true, video: true,
        display: JSON.stringify({ tongban: 1, role: 'answerer', counter: this.counter, call: call.id }) }, jsep }),
      error: (error) => this.on('error', { message: `camera or microphone: ${error}` }),
    });
    this.on('connected', call);
  }

  async subscribe(feed) {
    if (this.subscriber) return;
    this.call.feed = feed;
    this.subscriber = await attach(this.janus, {
      onmessage: (message, jsep) => {
        if (jsep) {
          this.subscriber.createAnswer({ jsep, tracks: [{ type: 'data' }], success: (answer) =>
            this.subscriber.send({ message: { request: 'start', room: this.room }, jsep: answer }) });
        }
      },
      onremotetrack: (track, mid, on) => play(this.remoteVideo, track, on),
    });
    this.subscriber.send({ message: { request: 'join', room: this.room, ptype: 'subscriber', streams: [{ feed }] } });
  }

  /** The peer connection receiving the caller (for statistics). */
  receiving() { return this.subscriber?.webrtcStuff?.pc ?? null; }

  decline() {
    // Without the room's secret a browser cannot kick the caller (counters do): it names the declined call in its
    // display, which the calling counter sees and ends the call on.
    if (this.call?.state === 'ringing') {
      this.handle.send({ message: { request: 'configure', display: JSON.stringify({
        tongban: 1, role: 'answerer', counter: this.counter, office: this.office, declined: this.call.id }) } });
    }
    this.finish('declined');
  }

  hangUp() {
    if (this.call?.state === 'connected') this.handle.send({ message: { request: 'unpublish' } });
    this.finish('local');
  }

  finish(endedBy) {
    if (!this.call) return;
    this.lastCall = this.call.id;
    const call = { ...this.call, state: endedBy === 'declined' ? 'declined' : 'ended', endedBy };
    this.subscriber?.detach();
    this.subscriber = null;
    clearRemoteViews(this.remoteVideo);
    this.call = null;
    this.on('ended', call);
  }
}
