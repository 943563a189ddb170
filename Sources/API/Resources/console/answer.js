// Answers an office's video-assistance calls in this browser (see assist.js).
import { BrowserAnswerer, roomNumber } from '/console/assist.js';

const $ = (selector) => document.querySelector(selector);
const query = new URLSearchParams(location.search);
$('#office').value = query.get('office') ?? '';
$('#counter').value = query.get('counter') ?? 'browser';
let answerer = null;

function status(text, state) {
  $('#status').textContent = text;
  $('#status').dataset.state = state;
}

async function janusServer() {
  if (query.get('janus')) return query.get('janus');
  const response = await fetch('/v1/assists');
  if (!response.ok) throw new Error('this Tongban has no video server configured (assist.janusUrl); open the page with ?janus=URL');
  return (await response.json()).janusUrl;
}

$('#online').addEventListener('submit', async (event) => {
  event.preventDefault();
  try {
    const office = $('#office').value.trim();
    answerer = new BrowserAnswerer({
      server: await janusServer(), room: roomNumber(`office:${office}`), office, counter: $('#counter').value.trim(),
      remoteVideo: $('#remote'), localVideo: $('#local'),
      on: (kind, data) => {
        if (kind === 'online') status(`在线，等待呼叫 online for ${data.office}, waiting for calls`, 'online');
        if (kind === 'ringing') {
          $('#ring-text').textContent = `来电 Call: 办件 ${data.caseNumber ?? ''} · 窗口 ${data.counter}${data.material ? ` · ${data.material}` : ''}`;
          $('#ring').hidden = false;
          status('来电 ringing', 'ringing');
        }
        if (kind === 'connected') {
          $('#ring').hidden = true;
          $('#hangup').hidden = false;
          status('通话中 connected', 'connected');
        }
        if (kind === 'ended') {
          $('#ring').hidden = true;
          $('#hangup').hidden = true;
          status(`通话结束 ended (${data.endedBy}); 在线 online`, 'ended');
        }
        if (kind === 'error') status(`出错 error: ${data.message}`, 'error');
      },
    });
    window.answerer = answerer;
    await answerer.goOnline();
  } catch (error) {
    status(`出错 error: ${error.message}`, 'error');
  }
});
$('#accept').addEventListener('click', () => answerer.accept());
$('#decline').addEventListener('click', () => answerer.decline());
$('#hangup').addEventListener('click', () => answerer.hangUp());
