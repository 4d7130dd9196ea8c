(function () {
  'use strict';
  var SVG = 'http://www.w3.org/2000/svg';
  var data = JSON.parse(document.getElementById('clip-data').textContent);
  var video = document.getElementById('video');
  var message = document.getElementById('message');

  function el(name, attrs, parent) {
    var e = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(e);
    return e;
  }
  function text(id, s) { document.getElementById(id).textContent = s; }
  function say(s) { message.textContent = s; message.hidden = false; }

  // The video: the presigned URL in the link's fragment (never sent to a server), accepted only
  // for this clip's own object beside the page; without one, the object beside the page.
  function videoUrl() {
    var m = /(?:^#|&)v=([^&]+)/.exec(location.hash);
    if (!m) return data.video;
    try {
      var u = new URL(decodeURIComponent(m[1]), location.href);
      var name = u.pathname.split('/').pop();
      if (u.origin === location.origin && name === data.video) return u.href;
    } catch (e) { /* refused below */ }
    return null;
  }

  text('title', data.title + (data.peak_g != null ? ' \u00b7 ' + data.peak_g.toFixed(2) + ' g' : ''));
  text('when', data.when);
  text('where', data.place ? 'At ' + data.place.lat.toFixed(5) + ', ' + data.place.lon.toFixed(5) : 'Place unknown (no GPS fix)');
  if (data.expires) text('expires', 'This link works until ' + data.expires + ' UTC.');

  var src = videoUrl();
  if (src) {
    video.src = src;
  } else {
    say('This link names a video that is not this clip\u2019s: it is not played.');
  }
  video.addEventListener('error', function () {
    say('The video could not be loaded: the link has expired or was changed. Ask for a new link.');
    document.body.setAttribute('data-video-error', '1');
  });

  // Speed and g-force on one time axis, with a cursor at the video's current time.
  var W = 600, H = 220, L = 40, R = 40, T = 12, B = 26;
  var chart = document.getElementById('chart');
  var duration = Math.max(data.duration_ms, 1);
  var x = function (t) { return L + (W - L - R) * Math.min(Math.max(t / duration, 0), 1); };
  var maxSpeed = Math.max(10, Math.max.apply(null, data.speed.map(function (p) { return p[1] * 3.6; }).concat([0]))) * 1.1;
  var maxG = Math.max(0.5, data.peak_g || 0, Math.max.apply(null, data.g.map(function (p) { return p[1]; }).concat([0]))) * 1.1;
  var ys = function (v) { return H - B - (H - B - T) * v / maxSpeed; };
  var yg = function (v) { return H - B - (H - B - T) * v / maxG; };
  el('line', { x1: L, x2: W - R, y1: H - B, y2: H - B, stroke: '#999' }, chart);
  for (var s = 0; s <= duration / 1000; s += 10) {
    el('line', { x1: x(s * 1000), x2: x(s * 1000), y1: T, y2: H - B, stroke: '#eee' }, chart);
    el('text', { x: x(s * 1000), y: H - 8, 'text-anchor': 'middle', 'class': 'axis' }, chart).textContent = s + ' s';
  }
  el('text', { x: 4, y: T + 10, 'class': 'axis' }, chart).textContent = Math.round(maxSpeed) + ' km/h';
  el('text', { x: W - 4, y: T + 10, 'text-anchor': 'end', 'class': 'axis' }, chart).textContent = maxG.toFixed(1) + ' g';
  function line(points, y, color, width) {
    if (!points.length) return;
    el('polyline', { points: points.map(function (p) { return x(p[0]).toFixed(1) + ',' + y(p[1]).toFixed(1); }).join(' '), fill: 'none', stroke: color, 'stroke-width': width }, chart);
  }
  line(data.speed.map(function (p) { return [p[0], p[1] * 3.6]; }), ys, '#1f77b4', 2.5);
  line(data.g, yg, '#9467bd', 1.5);
  if (data.incident_ms != null) {
    el('line', { x1: x(data.incident_ms), x2: x(data.incident_ms), y1: T, y2: H - B, stroke: '#d62728', 'stroke-width': 2 }, chart);
  }
  if (!data.speed.length && !data.g.length) {
    el('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', 'class': 'axis' }, chart).textContent = 'No sensor data for this clip';
  }
  var cursor = el('line', { id: 'cursor', x1: x(0), x2: x(0), y1: T, y2: H - B, stroke: '#111', 'stroke-width': 2 }, chart);

  // The track, in Web Mercator, north up; map tiles only when the sharer turned them on.
  var track = document.getElementById('track');
  var TW = 600, TH = 400, PAD = 30;
  var merc = function (lat, lon) {
    var r = lat * Math.PI / 180;
    return [(lon + 180) / 360, (1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2];
  };
  var pts = data.track.map(function (p) { return merc(p[1], p[2]); });
  var marker = null, project = null;
  if (pts.length) {
    var xs = pts.map(function (p) { return p[0]; }), yv = pts.map(function (p) { return p[1]; });
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs);
    var y0 = Math.min.apply(null, yv), y1 = Math.max.apply(null, yv);
    var scale = Math.min((TW - 2 * PAD) / Math.max(x1 - x0, 1e-9), (TH - 2 * PAD) / Math.max(y1 - y0, 1e-9));
    scale = Math.min(scale, 256 * Math.pow(2, 18));
    var zoom = null;
    if (data.tiles) {
      zoom = Math.max(0, Math.min(18, Math.floor(Math.log(scale / 256) / Math.LN2)));
      scale = 256 * Math.pow(2, zoom);
    }
    var cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
    project = function (p) { return [TW / 2 + (p[0] - cx) * scale, TH / 2 + (p[1] - cy) * scale]; };
    if (zoom != null) {
      var n = Math.pow(2, zoom);
      var tx0 = Math.floor((cx - TW / 2 / scale) * n), tx1 = Math.floor((cx + TW / 2 / scale) * n);
      var ty0 = Math.floor((cy - TH / 2 / scale) * n), ty1 = Math.floor((cy + TH / 2 / scale) * n);
      for (var tx = tx0; tx <= tx1; tx++) {
        for (var ty = ty0; ty <= ty1; ty++) {
          if (ty < 0 || ty >= n) continue;
          var at = project([tx / n, ty / n]);
          var url = data.tiles.replace('{z}', zoom).replace('{x}', ((tx % n) + n) % n).replace('{y}', ty);
          el('image', { href: url, x: at[0], y: at[1], width: 256, height: 256 }, track);
        }
      }
    }
    el('polyline', { points: pts.map(function (p) { var q = project(p); return q[0].toFixed(1) + ',' + q[1].toFixed(1); }).join(' '), fill: 'none', stroke: '#1f77b4', 'stroke-width': 4, 'stroke-linejoin': 'round' }, track);
    var a = project(pts[0]), b = project(pts[pts.length - 1]);
    el('circle', { cx: a[0], cy: a[1], r: 7, fill: '#2ca02c' }, track);
    el('rect', { x: b[0] - 6, y: b[1] - 6, width: 12, height: 12, fill: '#111' }, track);
    if (data.place) {
      var c = project(merc(data.place.lat, data.place.lon));
      el('path', { d: 'M' + c[0] + ',' + (c[1] - 11) + 'l10,18h-20z', fill: '#d62728' }, track);
    }
    marker = el('circle', { id: 'marker', cx: a[0], cy: a[1], r: 9, fill: '#fff', stroke: '#111', 'stroke-width': 3 }, track);
    text('track-note', 'Green: start of the clip. Black: end. Red: the incident. White: the car now.');
  } else {
    el('text', { x: TW / 2, y: TH / 2, 'text-anchor': 'middle', 'class': 'axis' }, track).textContent = 'No GPS track for this clip';
  }

  // Where the car was at t ms: interpolated between the track's fixes.
  function positionAt(t) {
    var tr = data.track, i = 1;
    if (t <= tr[0][0]) return merc(tr[0][1], tr[0][2]);
    while (i < tr.length && tr[i][0] < t) i++;
    if (i >= tr.length) return merc(tr[tr.length - 1][1], tr[tr.length - 1][2]);
    var k = (t - tr[i - 1][0]) / Math.max(tr[i][0] - tr[i - 1][0], 1);
    return merc(tr[i - 1][1] + (tr[i][1] - tr[i - 1][1]) * k, tr[i - 1][2] + (tr[i][2] - tr[i - 1][2]) * k);
  }

  function follow() {
    var t = video.currentTime * 1000;
    var cxv = x(t).toFixed(1);
    cursor.setAttribute('x1', cxv);
    cursor.setAttribute('x2', cxv);
    if (marker) {
      var q = project(positionAt(t));
      marker.setAttribute('cx', q[0].toFixed(1));
      marker.setAttribute('cy', q[1].toFixed(1));
    }
  }
  function tick() { follow(); if (!video.paused && !video.ended) requestAnimationFrame(tick); }
  video.addEventListener('timeupdate', follow);
  video.addEventListener('seeked', follow);
  video.addEventListener('play', function () { requestAnimationFrame(tick); });
})();
