// The watch page: plays the stream and reports, while the page is visible, that someone is watching.
(function () {
  "use strict";
  var body = document.body;
  var token = body.dataset.token;
  var heartbeatUrl = body.dataset.heartbeatUrl;
  var intervalMs = Number(body.dataset.intervalMs);
  var timer = null;

  function showOffer(offer) {
    var box = document.getElementById("offer");
    var link = document.getElementById("offer-link");
    if (!box || offer === undefined) return;
    box.hidden = !offer;
    if (offer) {
      document.getElementById("offer-text").textContent = offer.text;
      link.hidden = !offer.url;
    }
  }

  function beat() {
    fetch(heartbeatUrl, {
      method: "POST", body: token, headers: {"Content-Type": "text/plain"},
      credentials: "omit", cache: "no-store", keepalive: true
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (answer) {
      if (answer) showOffer(answer.offer);
    }).catch(function () { /* offline for a moment: the next heartbeat tries again */ });
  }

  // The last heartbeat when the page is hidden or closed: a beacon survives the page going away.
  function finalBeat() {
    var sent = navigator.sendBeacon && navigator.sendBeacon(heartbeatUrl, new Blob([token], {type: "text/plain"}));
    if (!sent) beat();
  }

  function start() {
    if (timer === null) timer = setInterval(beat, intervalMs);
  }

  function stop() {
    if (timer === null) return;  // already stopped: one final heartbeat per visible stretch
    clearInterval(timer);
    timer = null;
    finalBeat();
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") start(); else stop();
  });
  window.addEventListener("pagehide", stop);
  if (document.visibilityState === "visible") start();

  var video = document.getElementById("player");
  if (body.dataset.kind === "hls" && video) {
    var src = body.dataset.src;
    if (window.Hls && window.Hls.isSupported()) {
      var hls = new window.Hls();
      hls.loadSource(src);
      hls.attachMedia(video);
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = src;  // Safari on iPhone plays HLS by itself
    }
  }
})();
